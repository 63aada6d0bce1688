"""The runtime on the real kernel: namespaces, rootfs, identity, privileges, exit codes, logs.

Each test runs busybox containers whose only image layer is the `busybox_rootfs` fixture, reached
through a short `l/BUSYBOX` name under the snapshots root, as the image store lays it out.
"""
import os
import subprocess
import sys
import time
import uuid

import pytest

from dockyard.engine import RunOptions
from dockyard.engine.errors import Conflict, InvalidArgument
from dockyard.engine.runtime import bundle as bundle_mod, convert, process


class Runtime:
    """Runs containers from busybox under one data root and cleans up whatever is left."""

    def __init__(self, data_root, extra_layers=()):
        self.root = str(data_root)
        self.snapshots = f"{self.root}/snapshots"
        self.layers = (*extra_layers, "l/BUSYBOX")
        self.bundles = []

    def spec(self, command, **options):
        cid = uuid.uuid4().hex
        place = dict(lowerdirs=options.pop("layers", self.layers), mounts=options.pop("mounts", ()))
        return convert.to_spec({}, RunOptions.from_kwargs(image="busybox", command=command, **options),
                               id=cid, bundle=f"{self.root}/containers/{cid}",
                               snapshots_root=self.snapshots, **place)

    def create(self, command, cgroup=None, **options):
        spec = self.spec(command, **options)
        process.create(spec, **(cgroup or {}))
        self.bundles.append(spec.bundle)
        return spec.bundle

    def run(self, command, **options):
        """(bundle, state) of a started container."""
        bundle = self.create(command, **options)
        return bundle, process.start(bundle)

    def output(self, bundle):
        return b"".join(e.data for e in process.logs(bundle)).decode()

    def sh(self, script, **options):
        """`sh -c script` to the end: (final state, stdout+stderr text); the container is removed."""
        bundle, _ = self.run(["sh", "-c", script], **options)
        state = process.wait(bundle, timeout=30)
        out = self.output(bundle)
        self.remove(bundle)
        return state, out

    def remove(self, bundle):
        process.stop(bundle, timeout=0)
        process.remove(bundle)
        self.bundles.remove(bundle)

    def close(self):
        for bundle in list(self.bundles):
            if os.path.exists(bundle):
                self.remove(bundle)


@pytest.fixture
def rt(busybox_rootfs, data_root):
    os.makedirs(f"{data_root}/snapshots/l")
    os.symlink(busybox_rootfs, f"{data_root}/snapshots/l/BUSYBOX")
    runtime = Runtime(data_root)
    yield runtime
    runtime.close()
    with open("/proc/self/mountinfo") as f:
        assert str(data_root) not in f.read(), "a container mount leaked to the host"


def test_pid1_namespaces_hostname_and_lo(rt):
    script = ("echo pid=$$; ps -o pid,args; hostname; ls /sys/class/net; "
              "ping -c1 -W1 127.0.0.1 >/dev/null && echo lo=up; grep memory /proc/self/cgroup")
    state, out = rt.sh(script, hostname="box1")
    assert state.exit_code == 0, out
    lines = out.splitlines()          # ps: only PID 1 (sh) and ps itself exist in here
    assert lines[0] == "pid=1" and [line.split()[0] for line in lines[1:3]] == ["PID", "1"]
    assert len(lines) == 8 and lines[4:] == ["box1", "lo", "lo=up", "4:memory:/"], out


def test_namespaces_differ_and_the_overlay_stays_inside(rt):
    bundle, state = rt.run(["sleep", "30"])
    for ns in ("mnt", "uts", "ipc", "net", "pid", "cgroup"):
        assert os.readlink(f"/proc/{state.pid}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}"), ns
    assert os.readlink(f"/proc/{state.monitor}/ns/mnt") == os.readlink("/proc/self/ns/mnt")
    with open("/proc/self/mountinfo") as f:
        assert bundle not in f.read()
    with open(f"/proc/{state.pid}/mountinfo") as f:
        root = next(line for line in f if line.split()[4] == "/")
    assert " - overlay overlay " in root and "lowerdir" in root and "l/BUSYBOX" in root


def test_network_host_and_joining_another_namespace(rt):
    state, out = rt.sh("ls /sys/class/net", network="host")
    # the host's own links: containers (of other tests too) add and drop veths meanwhile
    steady = {n for n in os.listdir("/sys/class/net") if not n.startswith(("dy", "veth"))}
    assert steady <= set(out.split()) and "lo" in out.split()
    bundle, first = rt.run(["sleep", "30"])
    other, second = rt.run(["sleep", "30"], network=f"/proc/{first.pid}/ns/net")
    assert os.readlink(f"/proc/{first.pid}/ns/net") == os.readlink(f"/proc/{second.pid}/ns/net")
    assert os.readlink(f"/proc/{first.pid}/ns/uts") != os.readlink(f"/proc/{second.pid}/ns/uts")


MOUNTS = [  # mount point, fstype, options that must be set
    ("/proc", "proc", "nosuid,nodev,noexec"), ("/dev", "tmpfs", "nosuid"),
    ("/dev/pts", "devpts", "nosuid,noexec"), ("/dev/shm", "tmpfs", "nosuid,nodev,noexec"),
    ("/dev/mqueue", "mqueue", "nosuid,nodev,noexec"), ("/sys", "sysfs", "ro,nosuid,nodev,noexec"),
    ("/proc/sys", "proc", "ro,nosuid,nodev,noexec"), ("/proc/bus", "proc", "ro,nosuid,nodev,noexec"),
    ("/proc/acpi", "tmpfs", "ro"), ("/sys/firmware", "tmpfs", "ro"),
    ("/proc/keys", "tmpfs", ""), ("/proc/timer_list", "tmpfs", "")]


def test_rootfs_mounts_devices_and_masks(rt):
    script = ("cat /proc/self/mountinfo; "
              "stat -c 'mode %n %a %t:%T' /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty; "
              "ls -l /dev/ptmx /dev/fd /dev/stdin | sed 's/.* //'; echo x > /dev/null && echo null=ok; "
              "head -c 4 /dev/urandom | wc -c; echo 1 > /proc/sys/vm/overcommit_memory || echo procsys=ro; "
              "wc -c < /proc/keys; ls /proc/acpi /sys/firmware | wc -l; touch /sys/x || echo sys=ro; "
              "test -c /dev/pts/ptmx && echo pts=ok; ls /")
    state, out = rt.sh(script)
    mounts = {line.split()[4]: line for line in out.splitlines() if " - " in line}
    assert mounts["/"].split(" - ")[1].startswith("overlay overlay")
    for point in ("/etc/hostname", "/etc/hosts", "/etc/resolv.conf"):
        assert point in mounts
    for point, fstype, opts in MOUNTS:
        if point in ("/proc/acpi", "/sys/firmware", "/proc/keys", "/proc/timer_list") and \
                not os.path.exists(point):
            continue    # masked only where this kernel has it
        assert mounts[point].split(" - ")[1].startswith(fstype + " "), mounts[point]
        assert set(opts.split(",")) - {""} <= set(mounts[point].split()[5].split(",")), mounts[point]
    assert "mode=755" in mounts["/dev"] and "ptmxmode=666" in mounts["/dev/pts"]
    assert not any(p.startswith(("/tmp", "/home", "/work")) for p in mounts), "host mounts inside"
    for name, devno in (("null", "1:3"), ("zero", "1:5"), ("full", "1:7"), ("random", "1:8"),
                        ("urandom", "1:9"), ("tty", "5:0")):
        assert f"mode /dev/{name} 666 {devno}" in out
    for line in ("pts/ptmx", "/proc/self/fd", "/proc/self/fd/0", "null=ok", "4", "procsys=ro", "0",
                 "sys=ro", "pts=ok"):
        assert line in out.splitlines(), line


def test_privileged_has_every_capability_and_no_masks(rt):
    state, out = rt.sh("grep CapEff /proc/self/status; grep -c ' /proc/keys ' /proc/self/mountinfo",
                       privileged=True)
    with open("/proc/self/status") as f:     # all we hold: root here lacks CAP_SYS_RESOURCE
        ours = next(line.split()[1] for line in f if line.startswith("CapEff"))
    assert out.split() == ["CapEff:", ours, "0"], out


def test_identity_files(rt):
    state, out = rt.sh("cat /etc/hostname /etc/hosts /etc/resolv.conf", hostname="web")
    assert out == "web\n" + bundle_mod.HOSTS + bundle_mod.resolv_conf()


def test_hosts_file_is_bound_so_in_place_edits_show(rt):
    bundle, state = rt.run(["sleep", "30"])
    with open(f"{bundle}/hosts", "a") as f:     # the network module edits it like this
        f.write("10.0.0.2\tdb\n")
    r = process.exec(bundle, ["grep", "db", "/etc/hosts"])
    assert r.communicate()[0] == b"10.0.0.2\tdb\n"


def test_capabilities_root_user_and_no_new_privs(rt):
    state, out = rt.sh("grep -E '^(Cap|NoNewPrivs)' /proc/self/status")
    assert out.splitlines() == ["CapInh:\t0000000000000000", "CapPrm:\t00000000a80425fb",
                                "CapEff:\t00000000a80425fb", "CapBnd:\t00000000a80425fb",
                                "CapAmb:\t0000000000000000", "NoNewPrivs:\t0"]
    state, out = rt.sh("id; grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status",
                       user="1000:1000", security_opt=["no-new-privileges"])
    assert out.splitlines() == ["uid=1000(user) gid=1000(user) groups=1000(user)",
                                "CapEff:\t0000000000000000", "CapBnd:\t00000000a80425fb",
                                "NoNewPrivs:\t1"]
    state, out = rt.sh("grep CapEff /proc/self/status", cap_add=["NET_ADMIN"], cap_drop=["CAP_CHOWN"])
    assert out.split()[1] == f"{(0xa80425fb | 1 << 12) & ~1:016x}"


def test_users_by_name_and_supplementary_groups(rt):
    cases = {"user": "uid=1000(user) gid=1000(user) groups=50(staff),1000(user) HOME=/home/user",
             "user:nogroup": "uid=1000(user) gid=65534(nogroup) groups=65534(nogroup) HOME=/home/user",
             "1234:50": "uid=1234 gid=50(staff) groups=50(staff) HOME=/",
             "": "uid=0(root) gid=0(root) groups=0(root) HOME=/root"}
    for user, expected in cases.items():
        state, out = rt.sh('echo "$(id) HOME=$HOME"', user=user)
        assert out.strip() == expected, user
    state, out = rt.sh("id", user="nosuch")
    assert (state.exit_code, state.error) == (125, "unable to find user nosuch: no matching entries in passwd file")
    state, out = rt.sh("id", user="user:nosuch")
    assert state.exit_code == 125 and "unable to find group nosuch" in state.error


def test_env_cwd_exit_codes_and_rlimits(rt):
    state, out = rt.sh("pwd; echo $FOO; ulimit -n; ulimit -Hn; exit 3", environment={"FOO": "bar"},
                       working_dir="/srv/app", ulimits={"nofile": (1048576, 1048576)})
    hard = int(subprocess.run(["sh", "-c", "ulimit -Hn"], capture_output=True, text=True).stdout)
    limit = str(min(1048576, hard))
    assert (state.exit_code, out.split()) == (3, ["/srv/app", "bar", limit, limit])
    for args, code, error in ((["nosuch"], 127, 'exec: "nosuch": executable file not found in $PATH'),
                              (["/etc/passwd"], 126, 'exec: "/etc/passwd": permission denied'),
                              (["/nosuch"], 127, "no such file or directory")):
        bundle, state = rt.run(args)
        assert state.exit_code == code and error in state.error, state
        assert process.wait(bundle).exit_code == code


def test_writes_land_in_upper_and_containers_are_isolated(rt, busybox_rootfs):
    first, _ = rt.run(["sh", "-c", "echo one > /etc/motd; rm /bin/cat; sleep 30"])
    second, _ = rt.run(["sh", "-c", "sleep 30"])
    time.sleep(0.2)
    assert open(f"{first}/upper/etc/motd").read() == "one\n"
    assert not os.path.exists(f"{busybox_rootfs}/etc/motd") and os.path.exists(f"{busybox_rootfs}/bin/cat")
    r = process.exec(second, ["sh", "-c", "test -e /etc/motd || echo clean; test -e /bin/cat && echo cat"])
    assert r.communicate()[0].split() == [b"clean", b"cat"]
    assert sorted(os.listdir(f"{first}/upper")) == ["bin", "etc"]   # no mount points in the layer


def test_logs_streams_and_a_partial_last_line(rt):
    bundle, _ = rt.run(["sh", "-c", "echo out; echo err >&2; printf partial"])
    process.wait(bundle)
    assert [(e.stream, e.data) for e in process.logs(bundle)] == [
        ("stdout", b"out\n"), ("stderr", b"err\n"), ("stdout", b"partial")]
    assert [e.data for e in process.logs(bundle, tail=1)] == [b"partial"]
    with open(f"{bundle}/container.log") as f:
        line = f.readline()
    assert line.startswith('{"log":"out\\n","stream":"stdout","time":"20') and line.endswith('Z"}\n')


def test_follow_streams_while_running(rt):
    bundle, _ = rt.run(["sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.1; done"])
    assert [e.data for e in process.logs(bundle, follow=True)] == [b"1\n", b"2\n", b"3\n"]


def test_monitor_survives_the_starting_process_and_stop(rt):
    code = ("import sys; from dockyard.engine.runtime import process; "
            "s = process.start(sys.argv[1]); print(s.monitor)")
    trap = rt.create(["sh", "-c", "trap 'echo got TERM; exit 143' TERM; while :; do sleep 0.05; done"])
    plain = rt.create(["sleep", "30"])
    for bundle in (trap, plain):
        started = subprocess.run([sys.executable, "-c", code, bundle], capture_output=True, text=True,
                                 check=True)
        assert process.state(bundle).status == "running"   # that process has exited by now
        with open(f"/proc/{started.stdout.strip()}/stat") as f:
            assert int(f.read().rsplit(")", 1)[1].split()[1]) != os.getpid()
    t = time.monotonic()
    state = process.stop(trap, timeout=5)     # SIGTERM reaches a PID 1 that handles it
    assert (state.exit_code, rt.output(trap)) == (143, "got TERM\n") and time.monotonic() - t < 2
    t = time.monotonic()
    state = process.stop(plain, timeout=1)    # sleep as PID 1 ignores SIGTERM: SIGKILL after 1 s
    assert state.exit_code == 137 and 1 <= time.monotonic() - t < 3
    assert process.stop(plain).status == "exited"     # stopping a stopped container is fine


def test_wrong_states_are_conflicts(rt):
    bundle, state = rt.run(["sleep", "30"])
    with pytest.raises(Conflict):
        process.remove(bundle)
    with pytest.raises(Conflict):
        process.start(bundle)
    process.kill(bundle, "KILL")
    assert process.wait(bundle).exit_code == 137
    with pytest.raises(Conflict):
        process.kill(bundle, "TERM")
    with pytest.raises(InvalidArgument):
        rt.create(["true"], mounts=["relative:/x"])
