"""kill -9 at 20 points of each of build, pull, load, commit and rm: the next engine use and
`system check` find a consistent store, nothing half-written is visible, and nothing leaks
(mounts, veths, netns files, cgroups, processes, temp files, names, ports).

Each operation runs in a child process that SIGKILLs itself just before its N-th
mutation: a rename, unlink, mkdir, rmtree, write-open, fsync, process start, kill or netlink
call. A dry run counts an operation's mutations; the kills are spread evenly over them, so
every stage of the operation is hit, without waiting on random delays.
"""
import json
import os
import signal
import subprocess
import sys

import pytest

from dockyard.engine import Engine
from dockyard.engine.check import check

POINTS = 20
# A zygote imports the engine once; each run forks a child off it that counts the engine's
# mutations and SIGKILLs itself before the N-th one (a fork costs ~5 ms, a new Python ~300).
ZYGOTE = r"""
import builtins, io, json, os, shutil, signal, subprocess, sys
from dockyard.engine import Engine
from dockyard.engine.network.links import Links

def run(at, root, op, arg, report):
    count = 0
    def point():
        nonlocal count
        count += 1
        if count == at:
            os.kill(os.getpid(), signal.SIGKILL)
    def wrap(owner, name, when=lambda *a, **k: True):
        original = getattr(owner, name)
        def wrapper(*a, **k):
            if when(*a, **k):
                point()
            return original(*a, **k)
        setattr(owner, name, wrapper)
    engine = Engine(root)
    engine.containers                    # the engine's own recovery runs before the faults
    for name in ("rename", "replace", "unlink", "rmdir", "mkdir", "symlink", "link", "fsync",
                 "kill"):
        wrap(os, name)
    wrap(shutil, "rmtree")
    wrap(builtins, "open", lambda file, mode="r", *a, **k: any(c in mode for c in "wax+"))
    io.open = builtins.open
    wrap(subprocess.Popen, "__init__")
    wrap(Links, "_call")
    if op == "pull":
        engine.images.pull(arg)
    elif op == "load":
        engine.images.load(arg)
    elif op == "build":
        engine.images.build(open(arg + "/Dockerfile").read(), context=arg, nocache=True,
                            tag="faulty:1")
    elif op == "commit":
        engine.containers.get(arg).commit("committed", "1")
    elif op == "rm":
        engine.containers.get(arg).remove(force=True, v=True)
    os.write(report, str(count).encode())

for line in sys.stdin:
    job = json.loads(line)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            run(job["at"], job["root"], job["op"], job["arg"], write)
        except BaseException as exc:
            sys.stderr.write(f"{type(exc).__name__}: {exc}\n")
            os._exit(1)
        os._exit(0)
    os.close(write)
    count = os.read(read, 100).decode()
    os.close(read)
    _, status = os.waitpid(pid, 0)
    print(json.dumps({"status": status, "count": int(count or 0)}), flush=True)
"""


@pytest.fixture(scope="module")
def zygote():
    proc = subprocess.Popen([sys.executable, "-c", ZYGOTE], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    yield proc
    proc.stdin.close()
    proc.wait(30)


def drive(zygote, root, op, arg, at: int = 0) -> int:
    """Run `op` in a child killed before its `at`-th mutation; the mutation count of a full run."""
    zygote.stdin.write(json.dumps({"at": at, "root": str(root), "op": op, "arg": arg}) + "\n")
    zygote.stdin.flush()
    done = json.loads(zygote.stdout.readline())
    if at:
        assert done["status"] in (signal.SIGKILL, 0), done
        return 0
    assert done["status"] == 0, done
    return done["count"]


def kill_points(total: int) -> list[int]:
    """POINTS mutation numbers spread evenly over 1..total."""
    assert total >= POINTS, f"only {total} mutations: too few kill points"
    return sorted({1 + round(i * (total - 1) / (POINTS - 1)) for i in range(POINTS)})


def recovered(root, ids=()) -> Engine:
    """The next engine use on `root`: it must leave a store and kernel state with no problem
    for `system check`, and nothing of a container (of `ids`) that isn't there any more."""
    engine = Engine(root)
    engine.containers.list(all=True)            # first use: recovery
    report = check(engine)
    assert report.ok, [f"{f.area}: {f.text}" for f in report.findings]
    for image in engine.images.list():          # nothing half-written is visible
        assert all(layer.snapshot.is_dir() for layer in image.layers), image
    leftovers = [p.name for pattern in ("blobs/sha256/.tmp-*", "snapshots/.tmp-*", ".load-*",
                                        "snapshots/.trash-*", "containers/*.removing-*",
                                        "containers/build-*", "intents/*")
                 for p in engine.root.glob(pattern)]
    assert leftovers == []
    running = [c for c in engine.containers.list()]
    with open("/proc/self/mountinfo") as f:
        mounts = [line for line in f if str(engine.root) in line]
    assert len(mounts) == len(running) * 1, mounts      # a running container's netns file only
    alive = {c.id for c in engine.containers.list(all=True)}
    for cid in set(ids) - alive:
        assert not (engine.root / "netns" / cid).exists()
        assert not [c for c in os.listdir("/sys/fs/cgroup")
                    if os.path.exists(f"/sys/fs/cgroup/{c}/dockyard/{cid}")]
    if not running:
        assert subprocess.run(["pgrep", "-f", str(engine.root)], capture_output=True).stdout == b""
    return engine


@pytest.fixture
def engine(tmp_path):
    engine = Engine(tmp_path / "root")
    engine.images.bootstrap("busybox")
    yield engine
    for container in engine.containers.list(all=True):
        container.remove(force=True)
    engine.networks.teardown()


def test_kill_during_build(engine, tmp_path, zygote):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo built > /built && sleep 0.1\n"
                                    "COPY Dockerfile /Dockerfile\n")
    for at in kill_points(drive(zygote, engine.root, "build", str(ctx))):
        drive(zygote, engine.root, "build", str(ctx), at)
        recovered(engine.root)
    image = recovered(engine.root).images.build((ctx / "Dockerfile").read_text(), context=ctx,
                                                tag="faulty:1")
    assert engine.containers.run(image.id, ["cat", "/built"], remove=True,
                                 network="none") == b"built\n"


def test_kill_during_commit(engine, zygote):
    c = engine.containers.run("busybox", ["true"], detach=True, network="none")
    c.wait()
    upper = c.bundle / "upper"
    for at in kill_points(drive(zygote, engine.root, "commit", c.id)):
        (upper / "n").write_text(f"{at}\n")           # new content: a new layer every time
        drive(zygote, engine.root, "commit", c.id, at)
        recovered(engine.root).containers.get(c.id).commit("committed", "1")   # the next one
    assert engine.containers.run("committed:1", ["cat", "/n"], remove=True,
                                 network="none") == f"{at}\n".encode()


def test_kill_during_rm(engine, zygote):
    def container():
        c = engine.containers.create("busybox", ["sleep", "60"], ports=["80"], volumes=["/data"])
        c.start()
        return c
    for at in kill_points(drive(zygote, engine.root, "rm", container().id)):
        c = container()
        drive(zygote, engine.root, "rm", c.id, at)
        after = recovered(engine.root, [c.id])
        if c.id in {x.id for x in after.containers.list(all=True)}:
            after.containers.get(c.id).remove(force=True, v=True)    # the next operation
        assert recovered(engine.root, [c.id]).volumes.list() == []
        assert after.networks.ports(c.id) == []


@pytest.fixture
def tiny(engine, tmp_path):
    """A one-layer image of two files (busybox and sh): quick to load and pull many times."""
    import shutil
    import tarfile
    tree = tmp_path / "tiny"
    (tree / "bin").mkdir(parents=True)
    shutil.copy(shutil.which("busybox"), tree / "bin" / "busybox")
    (tree / "bin" / "sh").symlink_to("busybox")
    with tarfile.open(tmp_path / "tiny-rootfs.tar", "w") as tar:
        tar.add(tree, arcname=".")
    engine.images.import_image(str(tmp_path / "tiny-rootfs.tar"), "tiny:1")
    return "tiny:1"


def test_kill_during_load(engine, tmp_path, zygote, tiny):
    archive = tmp_path / "tiny.tar"
    engine.images.save([tiny], str(archive))
    roots = iter(tmp_path / f"load{n}" for n in range(POINTS + 1))
    for n, at in enumerate(kill_points(drive(zygote, next(roots), "load", str(archive)))):
        root = next(roots)
        drive(zygote, root, "load", str(archive), at)
        after = recovered(root)
        if n % 5 == 4:
            after.images.load(str(archive))                          # the next operation
    assert after.containers.run(tiny, ["sh", "-c", "echo ok"], remove=True,
                                network="none") == b"ok\n"


def test_kill_during_pull(engine, tmp_path, zygote, tiny):
    from test_registry import Registry
    registry = Registry(tmp_path / "registry")
    try:
        ref = f"{registry.address}/faults/tiny:1"
        engine.images.tag(tiny, ref)
        engine.images.push(ref)
        roots = iter(tmp_path / f"pull{n}" for n in range(POINTS + 1))
        for n, at in enumerate(kill_points(drive(zygote, next(roots), "pull", ref))):
            root = next(roots)
            drive(zygote, root, "pull", ref, at)
            after = recovered(root)
            if n % 5 == 4:
                after.images.pull(ref)                               # the next operation
        assert after.containers.run(ref, ["sh", "-c", "echo ok"], remove=True,
                                    network="none") == b"ok\n"
    finally:
        registry.stop()
