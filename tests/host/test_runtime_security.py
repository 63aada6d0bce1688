"""The container's isolation on the real kernel: nothing dropped, nothing leaked, Docker's limits.

Regression tests for the shim's fixed-size arrays (a long argv cost every other setting),
the overlay options overflow (many layers), fds reaching the container, and exec joining a
recycled pid; then seccomp, the devices cgroup and /sys/fs/cgroup.
"""
import json
import os
import subprocess

import pytest

from dockyard.engine.errors import Conflict
from dockyard.engine.runtime import process
from test_runtime_container import rt  # noqa: F401  (the fixture)

CG = "/sys/fs/cgroup"


def sh(rt, script, *args, **options):
    """`sh -c script sh ARGS...` to the end: (state, output); the container is removed."""
    bundle, _ = rt.run(["sh", "-c", script, "sh", *args], **options)
    state = process.wait(bundle, timeout=60)
    out = rt.output(bundle)
    rt.remove(bundle)
    return state, out


def test_an_image_of_500_layers_runs(engine, tmp_path):
    """lowerdir+ for each layer, nested overlays past overlayfs's 500: the old shim overflowed."""
    image = engine.store.get("busybox")
    layers, tree = list(image.layers), tmp_path / "tree"
    (tree / "layers").mkdir(parents=True)
    for i in range(500):
        for old in (tree / "layers").iterdir():
            old.unlink()
        (tree / "layers" / str(i)).touch()
        (tree / "top").write_text(str(i))
        layers.append(engine.store.add_layer_from_dir(tree, layers[-1]))
    engine.store.create_image({"config": {"Cmd": ["sh"]}}, layers, tags=["layers500:latest"])
    out = engine.containers.run("layers500:latest", ["sh", "-c", "ls /layers | wc -l; cat /top"],
                                remove=True)
    assert out.split() == [b"500", b"499"]


def test_100000_arguments_and_10000_variables_keep_every_setting(rt, tmp_path):
    (tmp_path / "h").mkdir(mode=0o755)
    (tmp_path / "h" / "marker").write_text("bound\n")
    script = ("echo args=$# last=${100000}; id -u; grep CapEff /proc/self/status; "
              "touch /x 2>/dev/null || echo rootfs=ro; cat /sys/fs/cgroup/memory/memory.limit_in_bytes; "
              "cat /h/marker; touch /h/y 2>/dev/null || echo bind=ro; hostname; "
              "env | grep -c '^V[0-9]*=v'; echo $V9999")
    env = {f"V{i}": f"v{i}" for i in range(10000)}
    state, out = sh(rt, script, *(str(i) for i in range(1, 100001)), cap_drop=["ALL"], user="1000",
                    read_only=True, mem_limit="32m", mounts=[f"{tmp_path}/h:/h:ro"], hostname="many",
                    environment=env)
    assert state.exit_code == 0, out
    assert out.splitlines() == ["args=100000 last=100000", "1000", "CapEff:\t0000000000000000",
                                "rootfs=ro", str(32 << 20), "bound", "bind=ro", "many", "10000",
                                "v9999"]


def test_an_argument_list_the_kernel_refuses_is_a_clear_error(rt):
    state, out = sh(rt, "true", *["x" * 30] * 100000)      # 3.9 MB: over the kernel's 2 MB
    assert state.exit_code == 126 and "argument list too long" in state.error, state


def _fds(proc_out: bytes) -> list[str]:
    return proc_out.decode().split()


def test_only_stdio_reaches_run_and_exec(rt):
    listing = "ls /proc/$$/fd; true"    # the shell's fds, listed by ls (not exec'd: `; true`)
    state, out = rt.sh(listing)
    assert out.split() == ["0", "1", "2"], out
    bundle, _ = rt.run(["sleep", "30"])
    for options in ({}, {"stdin": True}, {"tty": True}, {"tty": True, "stdin": True}):
        p = process.exec(bundle, ["sh", "-c", listing], **options)
        out, _ = p.communicate(b"" if options.get("stdin") else None, timeout=10)
        assert _fds(out) == ["0", "1", "2"], (options, out)
    bundle, _ = rt.run(["sh", "-c", "ls /proc/1/fd /proc/2/fd; sleep 30"], init=True)
    out = process.exec(bundle, ["ls", "/proc/1/fd"]).communicate()[0]
    assert _fds(out) == ["0", "1", "2"]


def test_exec_never_joins_a_process_that_is_not_the_containers(rt):
    """A recycled pid in state.json (the container exited, another process got its number)."""
    bundle, state = rt.run(["sleep", "30"])
    stranger = subprocess.Popen(["sleep", "30"])
    try:
        path = os.path.join(bundle, "state.json")
        with open(path) as f:
            record = json.load(f)
        with open(path, "w") as f:
            json.dump({**record, "pid": stranger.pid}, f)
        with pytest.raises(Conflict, match="not running"):
            process.exec(bundle, ["hostname"])
    finally:
        stranger.kill()
        stranger.wait()
        with open(path, "w") as f:
            json.dump(record, f)


def test_seccomp_default_unconfined_custom_and_privileged(rt, tmp_path):
    probe = "grep Seccomp: /proc/self/status; unshare -U true 2>/dev/null && echo userns=yes || echo userns=no"
    assert rt.sh(probe)[1].split() == ["Seccomp:", "2", "userns=no"]
    assert rt.sh(probe, security_opt=["seccomp=unconfined"])[1].split() == ["Seccomp:", "0", "userns=yes"]
    assert rt.sh(probe, privileged=True)[1].split()[:2] == ["Seccomp:", "0"]
    profile = tmp_path / "p.json"
    profile.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}))
    state, out = rt.sh("mkdir /made; echo rc=$?", security_opt=[f"seccomp={profile}"])
    assert "Permission denied" in out and "rc=1" in out
    state, out = rt.sh("grep NoNewPrivs /proc/self/status", security_opt=["no-new-privileges"], user="1000")
    assert out.split() == ["NoNewPrivs:", "1"]       # loaded after the uid change, with nnp


DEVICE_PROBE = ("mknod /blk b 7 0 && echo mknod=ok; head -c1 /blk >/dev/null 2>&1 || echo open-block=denied; "
                "echo > /dev/null && echo null=ok; head -c1 /dev/fuse >/dev/null 2>&1; "
                "mknod /fuse c 10 229; head -c1 /fuse >/dev/null 2>&1 || echo fuse=denied")


def _v1_only_root(tmp_path):
    """A cgroup root with this host's v1 hierarchies and no cgroup2: the devices.allow path."""
    root = tmp_path / "cgroot"
    root.mkdir()
    for ctrl in ("memory", "pids", "cpu", "cpuacct", "devices"):
        os.symlink(f"{CG}/{ctrl}", root / ctrl)
    return {"cgroup_root": str(root), "cgroup_v2": False}


@pytest.mark.parametrize("mode", ["v2", "v1"])
def test_devices_cgroup_denies_block_devices_and_fuse(rt, tmp_path, mode):
    if mode == "v1" and not os.path.isdir(f"{CG}/devices"):
        pytest.skip("no v1 devices controller on this host")
    cgroup = _v1_only_root(tmp_path) if mode == "v1" else None
    bundle, _ = rt.run(["sleep", "30"], cgroup=cgroup)
    out = process.exec(bundle, ["sh", "-c", DEVICE_PROBE]).communicate()[0]
    assert out.split() == [b"mknod=ok", b"open-block=denied", b"null=ok", b"fuse=denied"], out
    if mode == "v1":
        with open(f"{CG}/devices/dockyard/{os.path.basename(bundle)}/devices.list") as f:
            assert f.read().splitlines()[:2] == ["c *:* m", "b *:* m"]
    rt.remove(bundle)
    state, out = rt.sh("ls -l /dev/f; exec 3</dev/f && echo fuse=open; exec 4>/dev/f", cgroup=cgroup,
                       devices=["/dev/fuse:/dev/f:r"])
    assert out.split()[:5] == ["crw-------", "1", "root", "root", "10,"] and "fuse=open" in out
    assert "can't create /dev/f: Operation not permitted" in out       # only "r" was allowed
    state, out = rt.sh(DEVICE_PROBE, privileged=True, cgroup=cgroup)
    assert "open-block=denied" not in out


def test_sys_fs_cgroup_is_the_containers_own_and_read_only(rt):
    script = ("cat /sys/fs/cgroup/pids/pids.max; head -1 /sys/fs/cgroup/pids/cgroup.procs; "
              "(echo 1 > /sys/fs/cgroup/pids/pids.max) 2>/dev/null || echo ro; "
              "grep ' /sys/fs/cgroup ' /proc/self/mountinfo | cut -d' ' -f6")
    state, out = rt.sh(script, pids_limit=77)
    assert out.split() == ["77", "1", "ro", "ro,nosuid,nodev,noexec,relatime"], out
    with open("/proc/self/mountinfo") as f:   # the host's cgroup mounts stay writable
        host = [line.split() for line in f if line.split()[4].startswith(f"{CG}/")]
    assert host and all(fields[5].startswith("rw") for fields in host)


def test_info_says_seccomp_and_the_devices_cgroup_are_on(engine):
    info = engine.info()
    assert info["Features"]["seccomp"] == "yes" and info["Features"]["devices-cgroup"] == "yes"
    assert "name=seccomp,profile=builtin" in info["Security Options"]
