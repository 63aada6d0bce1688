"""The one container-spec path (convert.to_spec) and its rules: command, env, capabilities, memory
and CPU, --security-opt, hosts; the shim's spec written from it."""
import os

import pytest

from dockyard.engine import RunOptions
from dockyard.engine.errors import InvalidArgument
from dockyard.engine.runtime import bundle, cgroups, convert, resources
from dockyard.engine.runtime.spec import Mount

IMAGE = {"config": {"Entrypoint": ["/entry"], "Cmd": ["default"], "Env": ["PATH=/bin", "A=1"],
                    "WorkingDir": "/app", "User": "user"}}


@pytest.mark.parametrize("entrypoint, command, expected", [
    (None, None, ["/entry", "default"]),
    (None, ["x", "y"], ["/entry", "x", "y"]),
    ("", None, "error"),                  # "" clears the entrypoint, and Cmd goes with it
    ("", ["ls"], ["ls"]),
    (["/other"], None, ["/other"]),       # an overridden entrypoint drops the image's Cmd
    ("/other", ["a"], ["/other", "a"]),
    (None, "echo hi", ["/entry", "/bin/sh", "-c", "echo hi"]),
])
def test_resolve_command(entrypoint, command, expected):
    if expected == "error":
        with pytest.raises(InvalidArgument, match="no command specified"):
            convert.resolve_command(IMAGE, entrypoint, command)
    else:
        assert convert.resolve_command(IMAGE, entrypoint, command) == expected


def test_resolve_command_without_entrypoint_or_cmd():
    assert convert.resolve_command({"Cmd": ["sh"]}) == ["sh"]
    with pytest.raises(InvalidArgument):
        convert.resolve_command({})


def test_merge_env_replaces_by_name_and_sets_path():
    assert convert.merge_env(["PATH=/bin", "A=1"], {"A": "2", "B": "x=y"}) == ("PATH=/bin", "A=2", "B=x=y")
    assert convert.merge_env([], []) == (convert.DEFAULT_PATH,)
    with pytest.raises(InvalidArgument):
        convert.merge_env([], ["=oops"])


def test_caps():
    assert convert.caps() == 0xA80425FB
    assert convert.caps(add=["NET_ADMIN"]) == 0xA80425FB | 1 << 12
    assert convert.caps(add=["cap_sys_admin"], drop=["CHOWN"]) == (0xA80425FB | 1 << 21) & ~1
    assert convert.caps(drop=["ALL"], add=["KILL"]) == 1 << 5
    assert convert.caps(add=["ALL"]) == convert.ALL_CAPS
    with pytest.raises(InvalidArgument, match="unknown capability"):
        convert.caps(add=["NOPE"])


@pytest.mark.parametrize("text, size", [("64m", 64 << 20), ("1g", 1 << 30), ("1.5G", 3 << 29),
                                        ("100000000", 100000000), ("64mb", 64 << 20), (8 << 20, 8 << 20)])
def test_parse_memory(text, size):
    assert resources.parse_memory(text) == size


@pytest.mark.parametrize("text, message", [("abc", "invalid size"), ("-5m", "invalid size"),
                                           ("4m", "Minimum memory limit allowed is 6MB")])
def test_parse_memory_refuses(text, message):
    with pytest.raises(InvalidArgument, match=message):
        resources.parse_memory(text)


def test_parse_cpus():
    assert resources.parse_cpus("0.5") == 0.5
    for bad in ("0", "-1", str(os.cpu_count() + 1), "x", "nan"):
        with pytest.raises(InvalidArgument):
            resources.parse_cpus(bad)


def spec(image=IMAGE, run_env=True, **options):
    """to_spec of docker-py style options, placed as the engine places a container."""
    place = {k: options.pop(k) for k in ("hostname_given", "netns", "mounts", "gateway")
             if k in options}
    return convert.to_spec(image, RunOptions.from_kwargs(image="app", **options), id="a" * 64,
                           bundle="/b", lowerdirs=("l/X",), run_env=run_env,
                           hostname=place.pop("hostname_given", None), **place)


def test_to_spec_defaults_and_options():
    got = spec(environment=["B=2"], mem_limit="64m", cpus="0.5", pids_limit=10,
               ulimits=["nofile=10:20"], security_opt=["no-new-privileges"],
               mounts=["/src:/dst:ro"], network="none", shm_size="1m")
    assert got.args == ("/entry", "default") and got.cwd == "/app" and got.user == "user"
    assert got.env == ("HOSTNAME=" + "a" * 12, "PATH=/bin", "A=1", "B=2")
    assert got.hostname == "a" * 12 and got.lowerdirs == ("l/X",) and got.netns == ""
    assert (got.memory, got.cpus, got.pids_limit, got.no_new_privs) == (64 << 20, 0.5, 10, True)
    assert got.rlimits == (("nofile", 10, 20),) and got.seccomp == "default"
    assert got.mounts == (Mount("bind", "/src", "/dst", True),
                          Mount("tmpfs", "shm", "/dev/shm", data="mode=1777,size=1048576"))
    assert spec(privileged=True).caps == convert.ALL_CAPS
    assert spec(network="host").netns == "host" and spec(netns="/run/x").netns == "/run/x"


def test_to_spec_rules_every_caller_gets():
    """The rules create and the builder's RUN share: no rlimit unless --ulimit (the engine's
    own), --security-opt's seccomp, Docker's default caps, devices, the stop signal."""
    plain = spec()
    assert plain.rlimits == () and plain.seccomp == "default" and plain.caps == 0xA80425FB
    assert plain.stop_signal == "SIGTERM" and spec(stop_signal="usr1").stop_signal == "SIGUSR1"
    assert spec({"config": {**IMAGE["config"], "StopSignal": "SIGINT"}}).stop_signal == "SIGINT"
    assert spec(security_opt=["seccomp=unconfined"]).seccomp == "unconfined"
    assert [d.path for d in spec(devices=["/dev/null:/dev/x:r"]).devices] == ["/dev/x"]
    build = spec(run_env=False, hostname="buildkitsandbox", entrypoint=(), command=["sh"])
    assert build.env == ("PATH=/bin", "A=1") and build.hostname == "buildkitsandbox"
    assert build.args == ("sh",)
    assert spec(hostname_given="web-host").env[0] == "HOSTNAME=web-host"


def test_to_spec_the_monitors_fields():
    """Restart policy, log rotation, console size, and the user's health check over the
    image's: for run and create; a build step runs no health check."""
    image = {"config": {**IMAGE["config"], "Healthcheck": {"Test": ["CMD-SHELL", "check"],
                                                           "Interval": 5}}}
    got = spec(image, restart_policy="on-failure:2", log_config={
        "type": "json-file", "config": {"max-size": "1k", "max-file": "3"}},
        healthcheck={"interval": 1_000_000}, tty=True, console_size=(20, 70))
    assert (got.restart, got.restart_max) == ("on-failure", 2)
    assert (got.log_driver, got.log_max_size, got.log_max_file) == ("json-file", 1000, 3)
    assert (got.healthcheck.test, got.healthcheck.interval) == (("CMD-SHELL", "check"), 1_000_000)
    assert got.console_size == (20, 70)
    assert spec(image, run_env=False, entrypoint=(), command=["sh"]).healthcheck is None
    assert spec(image, healthcheck={"test": ["NONE"]}).healthcheck is None
    with pytest.raises(InvalidArgument, match="cannot specify both --restart and --rm"):
        convert.settings(RunOptions.from_kwargs(image="app", restart_policy={"Name": "always"},
                                                auto_remove=True))


def test_add_host_gateway_is_the_networks():
    hosts = ["db:10.0.0.5", "gw:host-gateway"]
    assert spec(extra_hosts=hosts, gateway="172.17.0.1").extra_hosts == (
        ("db", "10.0.0.5"), ("gw", "172.17.0.1"))
    with pytest.raises(InvalidArgument, match="host-gateway needs a bridge network"):
        spec(extra_hosts=hosts)


@pytest.mark.parametrize("options", [{"memswap_limit": "32m", "mem_limit": "64m"},
                                     {"memswap_limit": "64m"}, {"security_opt": ["seccomp=x"]},
                                     {"mounts": ["rel:/x"]}, {"mounts": ["/a:/"]},
                                     {"ulimits": ["nofile=20:10"]}, {"network": "nosuchnet"},
                                     {"hostname": "bad_name!"}, {"devices": ["relative"]},
                                     {"mem_reservation": "64m", "mem_limit": "32m"}])
def test_to_spec_refuses(options):
    with pytest.raises(InvalidArgument):
        spec(**options)
    if "mounts" not in options and "network" not in options:    # placement: create's own
        with pytest.raises(InvalidArgument):
            convert.settings(RunOptions.from_kwargs(image="app", **options))


def test_cgroup_plan_v1(tmp_path):
    for ctrl in ("memory", "pids", "cpu", "cpuacct"):
        (tmp_path / ctrl).mkdir()
    (tmp_path / "memory" / "memory.memsw.limit_in_bytes").touch()
    pairs = cgroups.plan("id1", memory=64 << 20, cpus=0.5, pids=5, root=str(tmp_path))
    sets = [v.replace(str(tmp_path), "") for k, v in pairs if k == "cg_set"]
    assert sets == ["/memory/dockyard/id1/memory.limit_in_bytes\n67108864",
                    "/memory/dockyard/id1/memory.memsw.limit_in_bytes\n134217728",
                    "/pids/dockyard/id1/pids.max\n5", "/cpu/dockyard/id1/cpu.cfs_period_us\n100000",
                    "/cpu/dockyard/id1/cpu.cfs_quota_us\n50000"]
    assert len([k for k, _ in pairs if k == "cg_join"]) == 4


def test_cgroup_plan_v2_enables_controllers_top_down(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    pairs = cgroups.plan("id2", memory=64 << 20, memory_swap=-1, pids=5, root=str(tmp_path))
    got = [(k, v.replace(str(tmp_path), "")) for k, v in pairs]
    assert got == [("cg_mkdir", "/dockyard/id2"), ("cg_set", "/cgroup.subtree_control\n+memory +pids"),
                   ("cg_set", "/dockyard/cgroup.subtree_control\n+memory +pids"),
                   ("cg_set", "/dockyard/id2/memory.max\n67108864"), ("cg_set", "/dockyard/id2/pids.max\n5"),
                   ("cg_join", "/dockyard/id2/cgroup.procs"), ("cg_oom", "/dockyard/id2/memory.events"),
                   ("cg_rmdir", "/dockyard/id2"), ("cgmount", "cgroup2\n\n")]


def test_bundle_write_and_read_pairs(tmp_path):
    spec = convert.to_spec(IMAGE, RunOptions("app"), id="e" * 64, bundle=str(tmp_path / "c"),
                           lowerdirs=("l/A", "l/B"), mounts=[Mount("tmpfs", "", "/t", data="size=1m")])
    (tmp_path / "cg" / "devices").mkdir(parents=True)      # a v1 host with only the devices controller
    bundle.write(spec, cgroup_root=str(tmp_path / "cg"), cgroup_v2=False)
    pairs = bundle.read_pairs(spec.bundle)
    assert bundle.values(pairs, "lower") == ["l/A", "l/B"]
    assert bundle.values(pairs, "args") == ["/entry", "default"]
    assert bundle.values(pairs, "mount") == ["tmpfs\n\n/t\n0\nsize=1m"]
    assert sorted(os.listdir(f"{spec.bundle}/init/etc")) == ["hostname", "hosts", "resolv.conf"]
    assert open(f"{spec.bundle}/hostname").read() == "e" * 12 + "\n"


def test_bundle_write_leaves_nothing_on_bad_input(tmp_path):
    spec = convert.to_spec(IMAGE, RunOptions("app", environment=("X=a\0b",)), id="f" * 64,
                           bundle=str(tmp_path / "c"))
    with pytest.raises(InvalidArgument, match="NUL"):
        bundle.write(spec)
    assert not (tmp_path / "c").exists()
