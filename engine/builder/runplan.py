"""RUN planning: environment, user, mounts, cache inputs (the argv is the Run instruction's).

    action, inputs = plan_run(session, state, instruction, trail)
    layer, created_by = action()        # runs the container (runcontainer.run_step)

`--mount`: cache (persistent per id under buildcache/mounts/), bind (from the context or a
stage/image; read-only unless rw, and rw writes are thrown away, as BuildKit), tmpfs, secret
(from build(secrets={id: path})). A bind mount of the context adds its content digest to the
step's cache key, so a changed file reruns the step.
"""
from __future__ import annotations

import os
import posixpath
import shutil

from ..dockerfile.imageconfig import DEFAULT_PATH, env_dict
from ..errors import BuildError
from .stages import proxy_env


def run_env(state) -> list[str]:
    """The container's environment: ENV (PATH by default), then ARGs that ENV doesn't set."""
    env = env_dict(state.config)
    env.setdefault("PATH", DEFAULT_PATH)
    for name, value in state.args.items():
        env.setdefault(name, value)
    return [f"{k}={v}" for k, v in env.items()]


def created_by(argv: list[str], state) -> str:
    """BuildKit's history line: `RUN |2 A=1 B=2 /bin/sh -c make # buildkit`."""
    env = env_dict(state.config)
    args = [f"{k}={v}" for k, v in sorted(state.args.items()) if k not in env]
    prefix = [f"|{len(args)}"] + args if args else []
    return "RUN " + " ".join(prefix + argv) + " # buildkit"


def plan_run(session, state, ins, trail):
    """(action, inputs digest) for an expanded RUN instruction."""
    from .runcontainer import cache_mount, netns_for, run_step
    netns_for(ins.network)                       # refuse a bad --network before any work
    if ins.security not in ("sandbox", ""):
        raise BuildError(f"RUN --security={ins.security} is not supported", ins.original)
    argv = ins.argv(state.config)
    inputs, makers = [], []
    for mount in ins.mounts:
        kind = mount.get("type", "bind")
        if kind == "cache":
            makers.append(lambda m=mount: cache_mount(session.engine, session.cache, m))
        elif kind == "tmpfs":
            data = f"size={mount['size']}" if mount.get("size") else ""
            makers.append(lambda m=mount, d=data: _mount("tmpfs", "tmpfs", m["target"], data=d))
        elif kind == "secret":
            maker = _secret(session, mount, ins)
            if maker is not None:
                makers.append(maker)
        elif kind == "bind":
            maker, digest = _bind(session, mount, ins, trail)
            makers.append(maker)
            inputs.append(digest)
        else:
            raise BuildError(f"RUN --mount=type={kind} is not supported", ins.original)
    proxies = proxy_env(session.buildargs)

    def action():
        mounts = [make() for make in makers]
        layer = run_step(session.engine, state.layers, argv, env=run_env(state) + proxies,
                         cwd=state.config.get("WorkingDir") or "/",
                         user=state.config.get("User") or "", mounts=mounts,
                         network=ins.network, epoch=session.epoch,
                         on_output=lambda stream, line: session.emit(
                             {"type": "output", "step": session.step, "stream": stream,
                              "line": line}),
                         instruction=ins.original)
        return layer, created_by(argv, state)
    return action, "\0".join(inputs)


def _mount(*args, **kwargs):
    # The runtime's spec module is imported only when a step really runs: a fully cached
    # build never needs it.
    from ..runtime.spec import Mount
    return Mount(*args, **kwargs)


def _secret(session, mount, ins):
    secret_id = mount.get("id") or posixpath.basename(mount.get("target") or "")
    source = session.secrets.get(secret_id)
    target = mount.get("target") or f"/run/secrets/{secret_id}"
    if source is None:
        if mount.get("required"):
            raise BuildError(f"secret {secret_id} not found: pass it with --secret "
                             f"id={secret_id},src=FILE", ins.original)
        return None
    if not os.path.isfile(source):
        raise BuildError(f"secret {secret_id}: {source} is not a file", ins.original)
    return lambda: _mount("bind", os.path.realpath(source), target, readonly=True)


def _bind(session, mount, ins, trail):
    """A maker for a bind mount and the digest of what it shows."""
    target, source = mount["target"], (mount.get("source") or "/").lstrip("/") or "."
    writable = not mount.get("readonly", True) or mount.get("rw") in (True, "true")
    if mount.get("from"):
        view, key = session.source_of(mount["from"], trail)

        def make():
            out = _materialize(view, "/" + source, session.temp_dir())
            return _mount("bind", out, target, readonly=not writable)
        return make, f"{key}:{source}"
    if session.context is None:
        raise BuildError("RUN --mount=type=bind needs a build context", ins.original)
    [src] = session.context.resolve([source], "RUN --mount")
    digest = session.context.digest([src])

    def make():
        if not writable:
            return _mount("bind", src.path, target, readonly=True)
        out = session.temp_dir()                   # rw: writes land in a throwaway copy
        if src.is_dir:
            shutil.copytree(src.path, out, symlinks=True, dirs_exist_ok=True)
            return _mount("bind", out, target)
        copy_path = os.path.join(out, os.path.basename(src.path))
        shutil.copy2(src.path, copy_path)
        return _mount("bind", copy_path, target)
    return make, digest


def _materialize(view, path: str, out: str) -> str:
    """Copy what `view` shows at `path` into the host directory `out`; the path to mount."""
    host = view.resolve(path)
    if host is None:
        raise BuildError(f"RUN --mount from: {path} not found")
    if not os.path.isdir(host):
        dst = os.path.join(out, os.path.basename(path) or "file")
        shutil.copy2(host, dst)
        return dst
    import stat
    for src, rel, st in view.walk(path):
        dst = os.path.join(out, rel)
        if stat.S_ISDIR(st.st_mode):
            os.makedirs(dst, exist_ok=True)
        elif stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(src), dst)
        elif stat.S_ISREG(st.st_mode):
            shutil.copy2(src, dst)
    return out
