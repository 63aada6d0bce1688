"""Docker's run/create options checked with Docker's words before anything is made, the cgroup
plan of the newer limits, --since/--until times, and `build -` telling a tar from a Dockerfile."""
import io
import os
import tarfile

import pytest

from dockyard.engine.cli import main
from dockyard.engine.cli.build import is_archive
from dockyard.engine.cli.runflags import run_options
from dockyard.engine.errors import InvalidArgument
from dockyard.engine.runtime import bundle, cgroups, convert, resources
from dockyard.engine.cli.timestamps import parse_ns, parse_timestamp, rfc3339_ns


@pytest.mark.parametrize("argv, field, value", [
    (["run", "--add-host", "db:10.0.0.5", "busybox"], "extra_hosts", ("db:10.0.0.5",)),
    (["run", "--dns", "1.1.1.1", "--dns-search", "x.test", "busybox"], "dns", ("1.1.1.1",)),
    (["run", "--dns-opt", "ndots:2", "busybox"], "dns_opt", ("ndots:2",)),
    (["run", "--expose", "80", "busybox"], "expose", ("80",)),
    (["run", "--shm-size", "8m", "busybox"], "shm_size", "8m"),
    (["run", "--platform", "linux/arm64", "busybox"], "platform", "linux/arm64"),
    (["run", "--log-driver", "none", "busybox"], "log_driver", "none"),
    (["run", "--sysctl", "net.core.somaxconn=1024", "busybox"], "sysctls",
     {"net.core.somaxconn": "1024"}),
    (["run", "--group-add", "audio", "busybox"], "group_add", ("audio",)),
    (["run", "--oom-kill-disable", "busybox"], "oom_kill_disable", True),
    (["run", "-c", "512", "busybox"], "cpu_shares", 512),
    (["run", "--cpuset-cpus", "0", "busybox"], "cpuset_cpus", "0"),
    (["run", "--memory-reservation", "32m", "busybox"], "memory_reservation", "32m"),
    (["create", "--stop-timeout", "3", "busybox"], "stop_timeout", 3),
    (["container", "run", "--pids-limit", "-1", "busybox"], "pids_limit", -1),
])
def test_run_flags(argv, field, value):
    assert getattr(run_options(main.parse(argv)), field) == value


def test_label_file_then_labels(tmp_path):
    (tmp_path / "l").write_text("# comment\na=1\nb=2\n")
    args = main.parse(["run", "--label-file", str(tmp_path / "l"), "-l", "b=3", "busybox"])
    assert run_options(args).labels == {"a": "1", "b": "3"}


@pytest.mark.parametrize("call, message", [
    (lambda: convert.parse_signal("BOGUS"), "Invalid signal: BOGUS"),
    (lambda: convert.parse_extra_hosts(["x"]), 'bad format for add-host: "x"'),
    (lambda: convert.parse_extra_hosts(["x:1.2.3"]), 'invalid IP address in add-host: "1.2.3"'),
    (lambda: convert.parse_dns(["nope"]), "nope is not an ip address"),
    (lambda: convert.parse_sysctls({"kernel.pid_max": "9"}, None), "is not allowed"),
    (lambda: convert.parse_sysctls({"net.a": "1"}, "host"), "not allowed in host network"),
    (lambda: resources.parse_cpuset("a-b"), "Invalid value a-b for cpuset cpus"),
    (lambda: resources.parse_cpuset("0-99999"), "Requested CPUs are not available"),
    (lambda: convert.parse_expose(["70000"]), "Invalid range format for --expose: 70000"),
])
def test_bad_options_are_refused_in_dockers_words(call, message):
    with pytest.raises(InvalidArgument, match=message):
        call()


def test_good_options_convert():
    assert convert.parse_signal("term") == convert.parse_signal("15") == "SIGTERM"
    assert convert.parse_extra_hosts(["db:10.0.0.5", "v6=::1", "gw:host-gateway"]) == \
        (("db", "10.0.0.5"), ("v6", "::1"), ("gw", "host-gateway"))
    assert convert.parse_expose(["8000-8001/udp"]) == {"8000/udp": {}, "8001/udp": {}}
    assert resources.parse_cpu_shares(1) == 2 and resources.parse_cpu_shares(0) == 0


def test_resolv_conf_options_replace_the_hosts(tmp_path):
    host = tmp_path / "resolv.conf"
    host.write_text("nameserver 10.9.9.9\nsearch corp.test\noptions rotate\n")
    assert bundle.resolv_conf(str(host), dns=("1.1.1.1",), options=("ndots:2",)).splitlines() == \
        ["search corp.test", "nameserver 1.1.1.1", "options ndots:2"]


def test_cgroup_plan_of_shares_cpuset_reservation_and_oom_v1(tmp_path):
    for ctrl in ("memory", "pids", "cpu", "cpuacct", "freezer", "cpuset"):
        (tmp_path / ctrl).mkdir()
    (tmp_path / "cpuset" / "cpuset.cpus").write_text("0-3\n")
    (tmp_path / "cpuset" / "cpuset.mems").write_text("0\n")
    pairs = cgroups.plan("id1", memory=64 << 20, cpu_shares=512, cpuset_cpus="1",
                         memory_reservation=32 << 20, oom_kill_disable=True, root=str(tmp_path))
    sets = [v.replace(str(tmp_path), "") for k, v in pairs if k == "cg_set"]
    assert sets[1:] == ["/memory/dockyard/id1/memory.soft_limit_in_bytes\n33554432",
                        "/memory/dockyard/id1/memory.oom_control\n1",
                        "/cpu/dockyard/id1/cpu.shares\n512",
                        "/cpuset/dockyard/cpuset.cpus\n0-3", "/cpuset/dockyard/cpuset.mems\n0",
                        "/cpuset/dockyard/id1/cpuset.mems\n0", "/cpuset/dockyard/id1/cpuset.cpus\n1"]
    joined = {v.replace(str(tmp_path), "") for k, v in pairs if k == "cg_join"}
    assert {"/freezer/dockyard/id1/cgroup.procs", "/cpuset/dockyard/id1/cgroup.procs"} <= joined


def test_cgroup_plan_v2_weight_cpuset_and_low(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("cpu cpuset memory pids\n")
    pairs = cgroups.plan("id2", cpu_shares=1024, cpuset_cpus="0", memory_reservation=1 << 20,
                         root=str(tmp_path))
    got = [v.replace(str(tmp_path), "") for k, v in pairs if k == "cg_set"]
    assert got == ["/cgroup.subtree_control\n+memory +cpu +cpuset",
                   "/dockyard/cgroup.subtree_control\n+memory +cpu +cpuset",
                   "/dockyard/id2/memory.low\n1048576", "/dockyard/id2/cpu.weight\n39",
                   "/dockyard/id2/cpuset.cpus\n0"]


def test_timestamps_as_docker_reads_them():
    assert parse_timestamp("10m", now=1000.0) == 400.0
    assert parse_timestamp("1h30m", now=10000.0) == 4600.0
    assert parse_timestamp("1714564800.5") == 1714564800.5
    assert parse_timestamp("2024-05-01T12:00:00Z") == 1714564800.0
    assert parse_timestamp("2024-05-01T14:00:00+02:00") == 1714564800.0
    stamp = "2024-05-01T12:00:00.123456789Z"          # a log entry's own time, exactly
    assert parse_ns(stamp) == 1714564800123456789 and rfc3339_ns(parse_ns(stamp)) == stamp
    with pytest.raises(InvalidArgument, match='"--until"'):
        parse_timestamp("soon", flag="--until")


def _tar(mode: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = 11
        tar.addfile(info, io.BytesIO(b"FROM scratch"[:11]))
    return buf.getvalue()


@pytest.mark.parametrize("data, archive", [
    (_tar("w"), True), (_tar("w:gz"), True), (_tar("w:bz2"), True), (_tar("w:xz"), True),
    (b"FROM busybox\nRUN true\n", False), (b"", False), (os.urandom(16).replace(b"\x1f", b""), False),
])
def test_build_stdin_is_a_tar_or_a_dockerfile(data, archive):
    assert is_archive(data) is archive


GROUPS = {
    "container": {"attach", "commit", "cp", "create", "diff", "exec", "export", "inspect", "kill",
                  "logs", "ls", "pause", "port", "prune", "rename", "restart", "rm", "run",
                  "start", "stats", "stop", "top", "unpause", "update", "wait"},
    "image": {"build", "history", "import", "inspect", "load", "ls", "prune", "pull", "push",
              "rm", "save", "tag"},
    "network": {"connect", "create", "disconnect", "inspect", "ls", "prune", "rm"},
    "volume": {"create", "inspect", "ls", "prune", "rm"},
    "system": {"df", "events", "info", "prune"},
}


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_management_groups_have_every_docker_verb(group):
    parser = main.build_parser(command=group)
    sub = parser._subparsers._group_actions[0].choices[group]
    verbs = set(sub._subparsers._group_actions[0].choices)
    assert GROUPS[group] <= verbs
