"""RUN: a command in a real container of this engine; its writable layer becomes the new layer.

    layer = run_step(engine, layers, argv, env=[...], cwd="/", user="", mounts=[...],
                     network="default", epoch=None, on_output=print)

The container is the engine's runtime's (engine.runtime), its spec made by the one path every
container's is (runtime/convert.to_spec): an overlay of the parent layers, the image's
environment, working directory and user, hostname buildkitsandbox. Its bundle lives in `<root>/containers/build-*`
only while the step runs; afterwards its upper dir is renamed into the layer snapshot and the
bundle is removed, on success and on failure alike, so a failed RUN leaves nothing behind.
The builder owns the container: its monitor kills it when the builder dies (a kill -9 of the
build), and the intent recorded for it lets the next engine use remove the bundle.
"""
from __future__ import annotations

import os
import secrets
import shutil

from .. import intents
from ..errors import BuildError, StartError
from ..options import RunOptions
from ..recovery import BUILD_PREFIX
from ..runtime import convert

OUTPUT_TAIL = 20          # lines of output a BuildError shows
STREAM_AFTER_S = 0.2      # a step still running after this streams its output live
HOSTNAME = "buildkitsandbox"


def netns_for(network: str) -> str:
    """The runtime's netns for `RUN --network=...`.

    default is the host's network namespace, like BuildKit's OCI worker without CNI: there is
    no bridge to put a build container on, and this way `pip install`, `apt-get` and a server
    on the host's loopback are reachable from RUN, as the issue asks.
    """
    if network in ("default", "host", ""):
        return "host"
    if network == "none":
        return ""
    raise BuildError(f"RUN --network={network}: unsupported (use default, none or host)")


def run_step(engine, layers, argv: list[str], *, env: list[str], cwd: str, user: str,
             mounts: list, network: str, epoch: int | None, on_output=None,
             instruction: str = ""):
    """Run `argv` on top of `layers` (bottom first); the new Layer, or BuildError."""
    cid = secrets.token_hex(32)
    with intents.held(engine.root, BUILD_PREFIX + cid[:24], "build-run"):
        return _run(engine, cid, layers, argv, env=env, cwd=cwd, user=user, mounts=mounts,
                    network=network, epoch=epoch, on_output=on_output, instruction=instruction)


def _run(engine, cid, layers, argv, *, env, cwd, user, mounts, network, epoch, on_output,
         instruction):
    store, process = engine.store, engine.runtime
    bundle = engine.root / "containers" / f"{BUILD_PREFIX}{cid[:24]}"
    bundle.parent.mkdir(parents=True, exist_ok=True)
    # The step's environment is the whole of it (ENV, ARGs, PATH): no image config below it,
    # and no HOSTNAME variable, as BuildKit's RUN has none.
    options = RunOptions("", command=tuple(argv), entrypoint=(), environment=tuple(env),
                         working_dir=cwd or "/", user=user or "", hostname=HOSTNAME)
    spec = convert.to_spec(None, options, id=cid, bundle=str(bundle),
                           snapshots_root=str(store.snapshots_root),
                           lowerdirs=[f"l/{layer.link}" for layer in reversed(layers)],
                           netns=netns_for(network), mounts=mounts, owner=os.getpid(),
                           run_env=False)
    process.create(spec)
    try:
        state = process.start(str(bundle))
        if state.error:
            raise StartError(state.error, state.exit_code or 125)
        lines = _collect(process, str(bundle), on_output)
        state = process.wait(str(bundle))
        if state.exit_code:
            tail = "".join(lines[-OUTPUT_TAIL:])
            why = " (out of memory)" if state.oom_killed else ""
            raise BuildError(f"process \"{' '.join(argv)}\" did not complete successfully: "
                             f"exit code: {state.exit_code}{why}"
                             + (f"\n{tail.rstrip()}" if tail.strip() else ""),
                             instruction, state.exit_code, tail)
        return store.add_layer_from_upper(bundle / "upper", layers[-1] if layers else None,
                                          epoch=epoch, move=True)
    except StartError as exc:
        raise BuildError(f"process \"{' '.join(argv)}\" did not start: {exc}", instruction,
                         exc.exit_status, str(exc)) from None
    finally:
        try:
            if process.state(str(bundle)).status == "running":
                process.kill(str(bundle))
                process.wait(str(bundle), 10)
            process.remove(str(bundle))
        except Exception:                     # noqa: BLE001 - cleanup must not hide the error
            shutil.rmtree(bundle, ignore_errors=True)


def _collect(process, bundle: str, on_output) -> list[str]:
    """The step's output lines; streamed to on_output(stream, line) as they come."""
    # A quick step is read once it has finished: following the log polls, which would cost
    # a short RUN more than the command itself.
    state = process.wait(bundle, STREAM_AFTER_S)
    follow = state.status == "running"
    lines = []
    for entry in process.logs(bundle, follow=follow):
        line = entry.data.decode(errors="replace")
        lines.append(line)
        if on_output is not None:
            on_output(entry.stream, line)
    return lines


def cache_mount(engine, cache, mount: dict):
    """`--mount=type=cache`: a directory kept across builds per id (default: the target)."""
    from ..runtime.spec import Mount
    directory = cache.mount_dir(mount.get("id") or mount["target"])
    if not directory.is_dir():
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, mount.get("mode") or 0o755)
        os.chown(directory, mount.get("uid") or 0, mount.get("gid") or 0)
    return Mount("bind", str(directory), mount["target"], readonly=bool(mount.get("readonly")))
