"""The builder on real containers: RUN, COPY/ADD, the cache, stages, mounts, failures."""
import io
import os
import subprocess
import sys
import tarfile

import pytest

from dockyard.engine import Engine
from dockyard.engine.errors import BuildError, DockerfileError, InvalidArgument


@pytest.fixture
def engine(data_root):
    engine = Engine(data_root=data_root)
    engine.images.bootstrap("busybox")
    return engine


@pytest.fixture
def ctx(tmp_path):
    root = tmp_path / "ctx"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("print('app')\n")
    (root / "src" / "junk.pyc").write_bytes(b"\0\1")
    (root / "hello.txt").write_text("hello\n")
    return root


def run(engine, image, cmd):
    # No bridge: these tests are about images, not networks.
    return engine.containers.run(image, ["sh", "-c", cmd], remove=True,
                                 network="none").decode()


def leftovers(engine):
    """What a build must not leave behind: bundles, temp trees, mounts."""
    found = []
    for sub in ("containers", "buildcache/tmp"):
        d = engine.root / sub
        if d.is_dir():
            found += [f"{sub}/{n}" for n in os.listdir(d)]
    with open("/proc/self/mountinfo") as f:
        found += [line for line in f if str(engine.root) in line]
    snaps = engine.root / "snapshots"
    found += [n for n in os.listdir(snaps) if n.startswith((".tmp-", ".trash-"))]
    return found


SIX = """FROM busybox
RUN echo built > /built && echo to-stdout && echo to-stderr >&2
COPY src/ /app/
ENV GREETING=hi
WORKDIR /app
CMD ["sh"]
"""


def test_build_run_copy_metadata_and_history(engine, ctx):
    events = []
    image = engine.images.build(SIX, context=ctx, tag="app:1", on_event=events.append)
    assert engine.images.get("app:1").id == image.id
    out = run(engine, "app:1", "cat /built /app/app.py; pwd; echo $GREETING")
    assert out == "built\nprint('app')\n/app\nhi\n"
    config = image.config["config"]
    assert config["Cmd"] == ["sh"] and config["WorkingDir"] == "/app"
    assert "GREETING=hi" in config["Env"]
    created_by = [h["created_by"] for h in image.config["history"]][-5:]
    assert created_by == [
        "RUN /bin/sh -c echo built > /built && echo to-stdout && echo to-stderr >&2 # buildkit",
        "COPY src/ /app/ # buildkit", "ENV GREETING=hi", "WORKDIR /app", 'CMD ["sh"]']
    assert [h.get("empty_layer", False) for h in image.config["history"][-5:]] == \
        [False, False, True, True, True]
    assert len(image.layers) == 3
    kinds = [e["type"] for e in events]
    assert kinds.count("step-start") == 6 and kinds[-1] == "build-done"
    outputs = {(e["stream"], e["line"]) for e in events if e["type"] == "output"}
    assert outputs == {("stdout", "to-stdout\n"), ("stderr", "to-stderr\n")}
    done = [e for e in events if e["type"] == "step-done"]
    assert done[1]["digest"].startswith("sha256:") and done[1]["size"] > 0
    assert done[3]["digest"] is None
    assert leftovers(engine) == []


def test_cache_hits_reruns_and_no_cache(engine, ctx):
    first = engine.images.build(SIX, context=ctx, tag="app:1")
    events = []
    again = engine.images.build(SIX, context=ctx, tag="app:1", on_event=events.append)
    assert again.id == first.id                                 # same config, same id
    assert sum(e["type"] == "cache-hit" for e in events) == 5
    assert not (engine.root / "containers").exists() or not os.listdir(engine.root / "containers")
    # Touching a file keeps the cache (content decides); changing it reruns COPY and later.
    os.utime(ctx / "src" / "app.py", (1, 1))
    events.clear()
    engine.images.build(SIX, context=ctx, on_event=events.append)
    assert sum(e["type"] == "cache-hit" for e in events) == 5
    (ctx / "src" / "app.py").write_text("print('v2')\n")
    events.clear()
    changed = engine.images.build(SIX, context=ctx, on_event=events.append)
    hits = [e["step"] for e in events if e["type"] == "cache-hit"]
    assert hits == [2]                                           # RUN still cached
    assert run(engine, changed.id, "cat /app/app.py") == "print('v2')\n"
    events.clear()
    engine.images.build(SIX, context=ctx, nocache=True, on_event=events.append)
    assert not any(e["type"] == "cache-hit" for e in events)


def test_cache_is_shared_across_processes(engine, ctx):
    engine.images.build(SIX, context=ctx)
    code = ("import sys; from dockyard.engine import Engine; e = Engine(sys.argv[1]); ev = []; "
            "e.images.build(open(sys.argv[2]).read(), context=sys.argv[3], on_event=ev.append); "
            "print(sum(x['type'] == 'cache-hit' for x in ev))")
    (ctx.parent / "Dockerfile.six").write_text(SIX)
    out = subprocess.run([sys.executable, "-c", code, str(engine.root),
                          str(ctx.parent / "Dockerfile.six"), str(ctx)],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "5"


def test_failed_run_leaves_nothing(engine, ctx):
    snapshots = set(os.listdir(engine.root / "snapshots"))
    images = {i.id for i in engine.images.list()}
    events = []
    with pytest.raises(BuildError) as info:
        engine.images.build("FROM busybox\nRUN echo some output; echo oops >&2; exit 3\n",
                            context=ctx, tag="bad:1", on_event=events.append)
    err = info.value
    assert err.exit_code == 3
    assert "RUN echo some output" in err.instruction
    assert "oops" in err.log and "exit code: 3" in str(err)
    assert events[-1]["type"] == "build-failed" and events[-1]["step"] == 2
    assert set(os.listdir(engine.root / "snapshots")) == snapshots
    assert {i.id for i in engine.images.list()} == images
    assert leftovers(engine) == []
    with pytest.raises(BuildError, match="did not start"):
        engine.images.build('FROM busybox\nRUN ["/nonexistent"]\n', context=ctx)
    assert leftovers(engine) == []


def test_reproducible_with_source_date_epoch(engine, ctx):
    df = "FROM busybox\nRUN echo x > /x\nCOPY . /ctx/\nENV A=1\n"
    a = engine.images.build(df, context=ctx, nocache=True, source_date_epoch=1700000000)
    os.utime(ctx / "hello.txt", None)                   # newer than the epoch: clamped
    b = engine.images.build(df, context=ctx, nocache=True, source_date_epoch=1700000000)
    assert a.id == b.id
    assert a.created.startswith("2023-11-14T22:13:20")
    # COPY alone is reproducible without an epoch: sorted entries, source mtimes.
    c = engine.images.build("FROM busybox\nCOPY src /src\n", context=ctx, nocache=True)
    d = engine.images.build("FROM busybox\nCOPY src /src\n", context=ctx, nocache=True)
    assert c.layers[-1].digest == d.layers[-1].digest


def test_multistage_target_and_skipped_stages(engine, ctx):
    df = """ARG BASE=busybox
FROM $BASE AS build
ARG MSG=default
RUN echo "$MSG" > /msg
FROM scratch AS broken
RUN exit 1
FROM busybox AS final
COPY --from=build /msg /from-build
COPY --from=busybox /etc/passwd /passwd-copy
FROM final AS test
RUN test -s /from-build
"""
    image = engine.images.build(df, context=ctx, target="final", buildargs={"MSG": "hello"})
    assert run(engine, image.id, "cat /from-build; head -1 /passwd-copy") == \
        "hello\nroot:x:0:0:root:/root:/bin/sh\n"
    with pytest.raises(DockerfileError, match="nosuch"):
        engine.images.build(df, context=ctx, target="nosuch")
    events = []
    last = engine.images.build(df, context=ctx, on_event=events.append)   # skips `broken` too
    assert len(last.layers) == len(image.layers) + 1
    assert "RUN exit 1" not in [e.get("instruction") for e in events]
    assert max(e["total"] for e in events if e["type"] == "step-start") == 8


def test_arg_scoping_and_run_environment(engine, ctx):
    df = """ARG V=global
FROM busybox
RUN echo "unset:[$V]" > /a
ARG V
RUN echo "redeclared:[$V]" > /b
ARG W=w-default
ENV E=env-$W
RUN echo "$W $E" > /c
"""
    image = engine.images.build(df, context=ctx)
    assert run(engine, image.id, "cat /a /b /c") == \
        "unset:[]\nredeclared:[global]\nw-default env-w-default\n"
    image = engine.images.build(df, context=ctx, buildargs={"V": "cli", "W": "w2"})
    assert run(engine, image.id, "cat /b /c") == "redeclared:[cli]\nw2 env-w2\n"
    history = [h["created_by"] for h in image.config["history"]]
    assert any(h.startswith("RUN |2 V=cli W=w2 /bin/sh -c") for h in history)


def test_run_mounts_cache_bind_tmpfs_secret(engine, ctx, tmp_path):
    df = """FROM busybox
RUN --mount=type=cache,target=/cache echo x >> /cache/log && wc -l < /cache/log > /count
RUN --mount=type=bind,source=src,target=/mnt cat /mnt/app.py > /seen && ! touch /mnt/new 2>/dev/null
RUN --mount=type=tmpfs,target=/scratch echo t > /scratch/t && grep -q /scratch /proc/mounts
RUN --mount=type=secret,id=token cat /run/secrets/token > /secret-copy
"""
    secret = tmp_path / "token"
    secret.write_text("s3cret")
    image = engine.images.build(df, context=ctx, secrets={"token": str(secret)})
    assert run(engine, image.id, "cat /count /seen /secret-copy; ls /scratch | wc -l") == \
        "1\nprint('app')\ns3cret0\n"
    image = engine.images.build(df, context=ctx, secrets={"token": str(secret)}, nocache=True)
    assert run(engine, image.id, "cat /count") == "2\n"            # the cache dir persisted
    assert not list((ctx / "src").glob("new"))
    with pytest.raises(BuildError, match="secret missing not found"):
        engine.images.build("FROM busybox\nRUN --mount=type=secret,id=missing,required "
                            "true\n", context=ctx)


def test_run_network_modes(engine, ctx):
    image = engine.images.build("FROM busybox\nRUN --network=none ls /sys/class/net > /none\n"
                                "RUN ls /sys/class/net > /default\n", context=ctx)
    assert run(engine, image.id, "cat /none") == "lo\n"
    # the host's own links: containers (of other tests too) add and drop veths meanwhile
    steady = {n for n in os.listdir("/sys/class/net") if not n.startswith(("dy", "veth"))}
    assert steady <= set(run(engine, image.id, "cat /default").split())


def test_onbuild_scratch_heredocs_chown_chmod(engine, ctx):
    engine.images.build("FROM busybox\nONBUILD RUN echo triggered > /onbuild\n", tag="base:ob")
    child = engine.images.build("FROM base:ob\nRUN cat /onbuild\n", context=ctx)
    assert run(engine, child.id, "cat /onbuild") == "triggered\n"
    assert not child.config["config"].get("OnBuild")
    df = """FROM busybox
COPY --chown=nobody:nogroup --chmod=600 hello.txt /owned
COPY <<EOF /heredoc.txt
made by $USER_NAME
EOF
ARG USER_NAME=tester
COPY <<EOF /heredoc2.txt
made by $USER_NAME
EOF
RUN <<EOF
echo from heredoc > /ran
EOF
"""
    image = engine.images.build(df, context=ctx)
    assert run(engine, image.id, "stat -c '%u:%g %a' /owned; cat /heredoc.txt /heredoc2.txt "
                                 "/ran") == "65534:65534 600\nmade by \nmade by tester\n" \
                                            "from heredoc\n"
    scratch = engine.images.build("FROM scratch\nCOPY hello.txt /\n", context=ctx)
    assert len(scratch.layers) == 1


def test_dockerignore_and_unsafe_sources(engine, ctx):
    (ctx / ".dockerignore").write_text("**/*.pyc\nsecret*\n!secret-ok\n")
    (ctx / "secret-a").write_text("no")
    (ctx / "secret-ok").write_text("yes")
    image = engine.images.build("FROM busybox\nCOPY . /ctx/\n", context=ctx)
    assert run(engine, image.id, "cd /ctx && ls -A src; ls secret*") == "app.py\nsecret-ok\n"
    with pytest.raises(BuildError, match="excluded by .dockerignore"):
        engine.images.build("FROM busybox\nCOPY secret-a /\n", context=ctx)
    with pytest.raises(BuildError, match="outside the build context"):
        engine.images.build("FROM busybox\nCOPY ../x /\n", context=ctx)
    os.symlink("/etc", ctx / "escape")
    with pytest.raises(BuildError, match="outside the build context"):
        engine.images.build("FROM busybox\nCOPY escape/passwd /\n", context=ctx)
    excluded = engine.images.build("FROM busybox\nCOPY --exclude=*.py src /src\n", context=ctx)
    assert run(engine, excluded.id, "ls -A /src | wc -l") == "0\n"
    assert leftovers(engine) == []


def test_add_tar_extraction_and_offline_url(engine, ctx):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = b"inside the tar\n"
        info = tarfile.TarInfo("pkg/file.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (ctx / "bundle.tar.gz").write_bytes(buf.getvalue())
    image = engine.images.build("FROM busybox\nADD bundle.tar.gz /opt/\n", context=ctx)
    assert run(engine, image.id, "cat /opt/pkg/file.txt") == "inside the tar\n"
    with pytest.raises(BuildError, match="can't download"):
        engine.images.build("FROM busybox\nADD http://192.0.2.1:9/x.tar /x\n", context=ctx)
    with pytest.raises(BuildError, match="checksum"):
        engine.images.build("FROM busybox\nADD --checksum=sha256:00 hello.txt /\n", context=ctx)


def test_bad_input(engine, ctx):
    with pytest.raises(DockerfileError):
        engine.images.build("FROM busybox\nCOPY onlyone\n", context=ctx)
    with pytest.raises(BuildError, match="nosuchimage"):
        engine.images.build("FROM nosuchimage\n", context=ctx)
    with pytest.raises(InvalidArgument):
        engine.images.build("FROM busybox\n", context=ctx, tag="Bad Tag")
    assert leftovers(engine) == []


def test_commit_with_changes(engine):
    container = engine.containers.create("busybox", ["sh", "-c", "echo changed > /changed"],
                                         network="none")
    container.start()
    container.wait()
    image = container.commit("committed", "v1", message="snapshot", author="me",
                             changes=['CMD ["cat", "/changed"]', "ENV FROM_COMMIT=1"])
    container.remove()
    assert engine.images.get("committed:v1").id == image.id
    assert engine.containers.run("committed:v1", remove=True, network="none") == b"changed\n"
    assert "FROM_COMMIT=1" in image.config["config"]["Env"]
    assert image.config["history"][-1]["comment"] == "snapshot"
    assert image.config["author"] == "me"


def test_cli_build_plain_progress_and_quiet(engine, ctx, data_root):
    (ctx / "Dockerfile").write_text(SIX)
    cli = [sys.executable, "-m", "dockyard.engine.cli", "--data-root", str(data_root), "build"]
    first = subprocess.run(cli + ["-t", "cli:1", str(ctx)], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert "#1 [1/6] FROM busybox" in first.stderr
    assert "to-stdout" in first.stderr and "DONE" in first.stderr
    assert "naming to docker.io/library/cli:1 done" in first.stderr
    again = subprocess.run(cli + ["-q", "-t", "cli:1", str(ctx)], capture_output=True, text=True)
    assert again.returncode == 0 and again.stderr == ""
    assert again.stdout.strip() == engine.images.get("cli:1").id
    failed = subprocess.run(cli + ["-f", "-", str(ctx)], input="FROM busybox\nRUN exit 7\n",
                            capture_output=True, text=True)
    assert failed.returncode != 0 and "exit code: 7" in failed.stderr


def test_add_from_a_url_caches_by_content_and_leaves_no_download_behind(engine, ctx, tmp_path):
    import functools
    import http.server
    import threading
    served = tmp_path / "served"
    served.mkdir()
    (served / "data.txt").write_text("first\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/data.txt"
    try:
        dockerfile = f"FROM busybox\nADD {url} /data.txt\n"
        first = engine.images.build(dockerfile, context=str(ctx))
        assert run(engine, first.id, "cat /data.txt") == "first\n"
        assert engine.images.build(dockerfile, context=str(ctx)).id == first.id   # cached
        (served / "data.txt").write_text("second\n")     # new content: a new layer
        second = engine.images.build(dockerfile, context=str(ctx))
        assert second.id != first.id and run(engine, second.id, "cat /data.txt") == "second\n"
    finally:
        server.shutdown()
        server.server_close()
    tmp = engine.root / "buildcache" / "tmp"
    assert not tmp.exists() or os.listdir(tmp) == []


def test_copy_from_another_image_links_files_it_keeps_as_they_are(engine, ctx):
    """Both sides are immutable snapshots: a file whose owner, mode and times the COPY keeps
    is hard-linked; --chmod makes a copy of its own. A context file is always copied."""
    image = engine.images.build("FROM busybox\nCOPY --from=busybox /bin/busybox /bb\n"
                                "COPY --from=busybox --chmod=700 /bin/busybox /bb700\n"
                                "COPY hello.txt /hello.txt\n", context=ctx)
    base, linked, changed, copied = (layer.snapshot for layer in image.layers)
    assert os.stat(linked / "bb").st_ino == os.stat(base / "bin" / "busybox").st_ino
    assert os.stat(changed / "bb700").st_ino != os.stat(base / "bin" / "busybox").st_ino
    assert os.stat(changed / "bb700").st_mode & 0o777 == 0o700
    assert os.stat(copied / "hello.txt").st_ino != os.stat(ctx / "hello.txt").st_ino
    assert run(engine, image.id, "cmp /bb /bin/busybox && cmp /bb700 /bb && echo same") == "same\n"
