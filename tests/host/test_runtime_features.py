"""The runtime on the real kernel: cgroups, exec, mounts, tty, stdin, --init, clean-up, no fork."""
import os
import shutil
import subprocess
import sys
import time

import pytest

from dockyard.engine.runtime import process, shim
from dockyard.engine.runtime.spec import Mount
from test_runtime_container import rt  # noqa: F401  (the fixture)

CG = "/sys/fs/cgroup"


def test_cgroup_v1_limit_files_and_removal(rt):
    bundle, state = rt.run(["sleep", "30"], mem_limit="32m", pids_limit=20, cpus=0.5)
    cid = os.path.basename(bundle)
    files = {"memory/memory.limit_in_bytes": "33554432", "memory/memory.memsw.limit_in_bytes": "67108864",
             "pids/pids.max": "20", "cpu/cpu.cfs_quota_us": "50000", "cpu/cpu.cfs_period_us": "100000"}
    for rel, value in files.items():
        ctrl, name = rel.split("/")
        with open(f"{CG}/{ctrl}/dockyard/{cid}/{name}") as f:
            assert f.read().strip() == value, rel
    for ctrl in ("memory", "pids", "cpu", "cpuacct"):
        with open(f"{CG}/{ctrl}/dockyard/{cid}/cgroup.procs") as f:
            assert f.read().split() == [str(state.pid)], ctrl
    stats = process.stats(bundle)
    assert stats["memory_limit"] == 32 << 20 and stats["pids"] == 1 and stats["cpu_usage_ns"] > 0
    assert [p["cmd"] for p in process.top(bundle)] == ["sleep 30"]
    process.stop(bundle, timeout=0)
    assert not any(os.path.exists(f"{CG}/{c}/dockyard/{cid}") for c in ("memory", "pids", "cpu", "cpuacct"))


def test_oom_kill_is_137_and_oom_killed(rt):
    state, out = rt.sh("awk 'BEGIN { s = \"x\"; while (1) s = s s }'", mem_limit="32m", memswap_limit="32m")
    assert (state.exit_code, state.oom_killed) == (137, True)
    state, out = rt.sh("true", mem_limit="32m")
    assert (state.exit_code, state.oom_killed) == (0, False)


def test_pids_limit(rt):
    state, out = rt.sh("for i in $(seq 30); do sleep 1 & done; wait", pids_limit=10)
    assert "can't fork" in out, out


@pytest.mark.skipif(not os.path.exists(f"{CG}/unified/cgroup.procs"), reason="no /sys/fs/cgroup/unified")
def test_cgroup_v2_code_path_on_the_unified_hierarchy(rt):
    """On this hybrid host v2 owns no memory/pids/cpu: create, join and remove run for real."""
    root = f"{CG}/unified"
    bundle, state = rt.run(["sleep", "30"], cgroup={"cgroup_root": root, "cgroup_v2": True})
    cid = os.path.basename(bundle)
    with open(f"{root}/dockyard/{cid}/cgroup.procs") as f:
        assert f.read().split() == [str(state.pid)]
    r = process.exec(bundle, ["cat", "/proc/self/cgroup"])
    assert r.communicate()[0].decode().splitlines()[-1] == "0::/"     # the cgroup namespace's root
    process.stop(bundle, timeout=0)
    assert not os.path.exists(f"{root}/dockyard/{cid}")
    process.remove(bundle)
    rt.bundles.remove(bundle)


def test_exec_into_a_running_container(rt):
    bundle, state = rt.run(["sleep", "30"], hostname="box2", mem_limit="64m", environment={"A": "1"})
    r = process.exec(bundle, ["sh", "-c", "echo pid=$$; hostname; grep memory /proc/self/cgroup; "
                                          "grep CapEff /proc/self/status; ps -o pid,args; echo $A$B; pwd"],
                     cwd="/tmp", env=["B=2"])
    out, _ = r.communicate()
    lines = out.decode().splitlines()
    assert r.returncode == 0 and lines[0] != "pid=1", out
    assert lines[1:4] == ["box2", "4:memory:/", "CapEff:\t00000000a80425fb"]
    assert "    1 sleep 30" in lines and lines[-2:] == ["12", "/tmp"]
    r = process.exec(bundle, ["id"], user="user")
    assert r.communicate()[0] == b"uid=1000(user) gid=1000(user) groups=50(staff),1000(user)\n"
    r = process.exec(bundle, ["nosuch"])
    assert r.wait() == 127 and b"executable file not found" in r.stderr.read()
    assert process.exec(bundle, ["sh", "-c", "exit 7"]).wait() == 7
    r = process.exec(bundle, ["cat"], stdin=True)
    assert r.communicate(b"piped")[0] == b"piped"
    r = process.exec(bundle, ["sh", "-c", "tty; echo hi"], tty=True)
    assert r.communicate()[0].replace(b"\r", b"").splitlines() == [b"/dev/pts/0", b"hi"]


def test_bind_and_tmpfs_mounts_with_readonly_enforced(rt, tmp_path):
    rw, ro, outside = tmp_path / "rw", tmp_path / "ro", tmp_path / "outside"
    for d in (rw, ro, outside):
        d.mkdir()
    (ro / "f").write_text("keep")
    (tmp_path / "file").write_text("one file\n")
    # an image layer whose symlinks point out of the root, absolutely and with ..
    evil = f"{rt.snapshots}/evil"
    os.makedirs(evil)
    os.symlink("/../../../../../../" + str(outside).lstrip("/"), f"{evil}/abs")
    os.symlink("../../../../../../../../" + str(outside).lstrip("/"), f"{evil}/rel")
    mounts = [Mount("bind", str(rw), "/data/rw"), Mount("bind", str(ro), "/data/ro", readonly=True),
              Mount("bind", str(tmp_path / "file"), "/etc/one"),
              Mount("tmpfs", "", "/scratch", data="size=1m,mode=1777"),
              Mount("bind", str(rw), "/abs/sub"), Mount("bind", str(rw), "/rel/sub")]
    script = ("echo w > /data/rw/new; echo x > /data/ro/f || echo ro=refused; cat /etc/one; "
              "grep -E ' /(data/ro|scratch) ' /proc/self/mountinfo; head -c 2000000 /dev/zero > /scratch/big "
              "|| echo tmpfs=full; stat -c 'scratch=%a' /scratch; ls -d " + f"{outside}/sub")
    state, out = rt.sh(script, mounts=mounts, layers=("evil", "l/BUSYBOX"))
    assert state.exit_code == 0, (state, out)
    assert (rw / "new").read_text() == "w\n" and (ro / "f").read_text() == "keep"
    assert "Read-only file system" in out and "ro=refused" in out and "one file" in out
    ro_line = next(line for line in out.splitlines() if " /data/ro " in line)
    assert "ro" in ro_line.split()[5].split(",")
    assert "size=1024k" in out and "scratch=1777" in out and "tmpfs=full" in out
    assert os.listdir(outside) == [], "a mount target escaped the rootfs through a symlink"
    # as runc does, the symlinks' targets were made inside the container's root instead
    assert out.splitlines()[-1] == f"{outside}/sub"


def test_readonly_rootfs(rt):
    state, out = rt.sh("touch /x || echo refused; touch /tmp/x || echo tmp=refused", read_only=True)
    assert "refused" in out.split() and "Read-only file system" in out


def test_tty_mode(rt):
    bundle, _ = rt.run(["sh", "-c", "tty; test -t 1 && echo isatty; stty size"], tty=True)
    process.wait(bundle)
    entries = list(process.logs(bundle))
    assert {e.stream for e in entries} == {"stdout"}
    assert b"".join(e.data for e in entries).replace(b"\r", b"").splitlines()[:2] == [b"/dev/pts/0", b"isatty"]


def test_stdin_mode_feeds_the_container_until_the_client_closes(rt):
    bundle, _ = rt.run(["sh", "-c", "sleep 0.3; cat; echo done"], stdin_open=True)
    with open(f"{bundle}/stdin", "wb") as f:     # an attached client
        f.write(b"hello\nworld\n")
    state = process.wait(bundle, timeout=10)
    assert state.exit_code == 0 and rt.output(bundle) == "hello\nworld\ndone\n"


def test_init_reaps_zombies_and_forwards_signals(rt):
    script = "(sleep 0.1 &); exec sleep 30"        # the orphan's parent becomes PID 1
    ps = ["sh", "-c", "sleep 0.5; ps -o stat,comm"]
    bundle, _ = rt.run(["sh", "-c", script])
    assert b"Z " in process.exec(bundle, ps).communicate()[0]      # no init: a zombie stays
    bundle, _ = rt.run(["sh", "-c", script], init=True)
    out = process.exec(bundle, ps).communicate()[0]
    assert b"Z " not in out and out.split()[3] == b"docker-init"   # PID 1 (comm), as Docker's
    out = process.exec(bundle, ["sh", "-c", "cat /proc/1/cmdline /proc/1/environ; readlink /proc/1/exe"]).communicate()[0]
    assert out.startswith(b"/sbin/docker-init\0--\0sh\0") and out.endswith(b"\0/sbin/docker-init\n")
    assert rt.root.encode() not in out and b"dockyard-shim" not in out     # no host path inside
    t = time.monotonic()
    assert process.stop(bundle, timeout=5).exit_code == 143 and time.monotonic() - t < 2
    state, out = rt.sh("exit 3", init=True)
    assert state.exit_code == 3


def _leftovers(root, ids):
    """Mounts, processes and cgroups of these containers still on the host (other users' aside)."""
    with open("/proc/self/mountinfo") as f:
        mounts = [line for line in f if str(root) in line]
    procs = [p for p in os.listdir("/proc") if p.isdigit() and _cmdline(p).find(str(root)) >= 0]
    cgroups = [f"{CG}/{c}/dockyard/{i}" for c in ("memory", "pids", "cpu", "cpuacct") for i in ids
               if os.path.exists(f"{CG}/{c}/dockyard/{i}")]
    return mounts, procs, cgroups


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def test_a_burst_of_50_containers_leaves_nothing_behind(rt):
    bundles = [rt.run(["sh", "-c", "echo $HOSTNAME"], mem_limit="16m", pids_limit=50)[0] for _ in range(50)]
    for bundle in bundles:
        assert process.wait(bundle, timeout=20).exit_code == 0
        rt.remove(bundle)
    assert _leftovers(rt.root, [os.path.basename(b) for b in bundles]) == ([], [], [])
    assert os.listdir(f"{rt.root}/containers") == []


@pytest.mark.skipif(not shutil.which("strace"), reason="apt-get install strace")
def test_the_engine_never_forks(rt, tmp_path):
    shim.shim_path(rt.root)          # built already: the compiler's vfork is not the point here
    bundle = rt.create(["true"])
    log = tmp_path / "strace.log"
    code = ("import sys; from dockyard.engine.runtime import process; b = sys.argv[1]; "
            "process.start(b); process.wait(b); r = process.exec; process.remove(b)")
    subprocess.run(["strace", "-o", str(log), "-e", "trace=fork,vfork,clone,clone3",
                    sys.executable, "-c", code, bundle], check=True)
    calls = [line.split("(")[0] for line in log.read_text().splitlines() if line[:3] not in ("---", "+++")]
    assert calls == ["vfork"], log.read_text()     # without -f: only the engine's own calls
    rt.bundles.remove(bundle)
