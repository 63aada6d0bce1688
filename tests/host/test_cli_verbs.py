"""Docker verbs and flags through the CLI, as Docker's reference documents them: cp, build -,
images -q REPO, run/create flags, pause, rename, update, attach, logs --since, top, port,
system df/prune, version, and the management groups."""
import io
import json
import os
import subprocess
import sys
import tarfile
import time

import pytest

DOCKYARD = [sys.executable, "-m", "dockyard.engine.cli"]


def cli(engine, *args, input=None, text=True, check=True):
    proc = subprocess.run([*DOCKYARD, "--data-root", str(engine.root), *args], capture_output=True,
                          input=input, text=text, timeout=60)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def run(engine, *args):
    """The output of `dockyard run --rm --network none ARGS`."""
    return cli(engine, "run", "--rm", "--network", "none", *args).stdout


def _tar(files: dict, mode="w") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture(scope="module")
def box(engine):
    """A running container with a /data tree (a file owned by 1234:1234)."""
    c = engine.containers.run("busybox", ["sleep", "300"], detach=True, name="box", network="none")
    code, out = c.exec_run(["sh", "-c", "mkdir -p /data/sub && echo a > /data/a && "
                                        "echo b > /data/sub/b && chown 1234:1234 /data/a"])
    assert code == 0, out
    return c


def test_cp_follows_dockers_rules(engine, box, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cli(engine, "cp", "box:/data/.", "dotcopy")                 # contents of /data, new dir
    assert sorted(os.listdir("dotcopy")) == ["a", "sub"]
    assert os.stat("dotcopy/a").st_uid == os.getuid()           # copied out: the caller's
    cli(engine, "cp", "box:/data", "dotcopy")                   # the dir itself, into it
    assert (tmp_path / "dotcopy" / "data" / "sub" / "b").read_text() == "b\n"
    cli(engine, "cp", "-a", "box:/data/a", "kept")
    assert (os.stat("kept").st_uid, os.stat("kept").st_gid) == (1234, 1234)
    streamed = cli(engine, "cp", "box:/data/sub", "-", text=False).stdout
    with tarfile.open(fileobj=io.BytesIO(streamed)) as tar:
        assert sorted(tar.getnames()) == ["sub", "sub/b"]
    cli(engine, "cp", "-", "box:/tmp", input=_tar({"in.txt": b"from stdin\n"}), text=False)
    assert box.exec_run(["cat", "/tmp/in.txt"]) == (0, b"from stdin\n")
    (tmp_path / "h.txt").write_text("hi\n")
    os.chown(tmp_path / "h.txt", 4321, 4321)
    assert cli(engine, "cp", "h.txt", "box:/tmp/renamed").stderr.startswith("Successfully copied ")
    assert cli(engine, "cp", "-q", "-a", "h.txt", "box:/tmp/").stderr == ""
    assert box.exec_run(["stat", "-c", "%u %n", "/tmp/renamed", "/tmp/h.txt"]) == \
        (0, b"0 /tmp/renamed\n4321 /tmp/h.txt\n")                # copied in: root's unless -a


def test_build_dash_reads_a_tar_context_or_a_dockerfile(engine, tmp_path):
    dockerfile = b'FROM busybox\nCOPY a.txt /a.txt\nCMD ["cat", "/a.txt"]\n'
    for mode in ("w", "w:gz"):
        context = _tar({"Dockerfile": dockerfile, "a.txt": b"from a tar\n"}, mode)
        image = cli(engine, "build", "-q", "-t", "fromtar:1", "-", input=context, text=False)
        assert image.stdout.startswith(b"sha256:")
        assert run(engine, "fromtar:1") == "from a tar\n"
    proc = cli(engine, "build", "-q", "-", input="FROM busybox\nCMD [\"echo\", \"text\"]\n")
    assert proc.stdout.startswith("sha256:")
    proc = cli(engine, "build", "-", input=_tar({"a.txt": b"x"}), text=False, check=False)
    assert (proc.returncode, proc.stderr) == (1, b"Error: the build context (a tar archive) has no "
                                                 b"Dockerfile\n")
    proc = cli(engine, "build", "-", input=os.urandom(3000) + b"\xff", text=False, check=False)
    assert proc.returncode == 1 and proc.stderr.count(b"\n") == 1
    assert proc.stderr.startswith(b"Error: stdin is neither a tar archive")


def test_images_quiet_filters_by_repository(engine):
    image = engine.images.get("busybox")
    assert cli(engine, "images", "-q", "busybox").stdout == image.short_id + "\n"
    assert cli(engine, "images", "-q", "nosuchrepo").stdout == ""


def _cgroup_file(pid: int, controller: str, name: str) -> str:
    """The host path of `name` in the cgroup of `pid` for `controller` (v1) or the unified one."""
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if controller in controllers.split(","):
                return f"{os.path.realpath('/sys/fs/cgroup/' + controller)}{path}/{name}"
    return f"/sys/fs/cgroup{path}/{name}"


def test_run_flags_reach_the_container(engine, tmp_path):
    (tmp_path / "labels").write_text("# a comment\nteam=infra\ntier=web\n")
    cid_file = tmp_path / "cid"
    out = run(engine, "--add-host", "db:10.1.2.3", "--dns", "10.0.0.53", "--dns-search",
              "example.test", "--dns-option", "ndots:2", "--sysctl", "net.ipv4.ip_forward=1",
              "--sysctl", "kernel.shmmax=123456", "--group-add", "4321", "--shm-size", "8m",
              "--ulimit", "nofile=512:1024", "--cpuset-cpus", "0", "--pids-limit", "-1",
              "busybox", "sh", "-c",
              "grep db /etc/hosts; cat /etc/resolv.conf; cat /proc/sys/net/ipv4/ip_forward "
              "/proc/sys/kernel/shmmax; id -G; df -k /dev/shm | tail -1; ulimit -n; "
              "grep Cpus_allowed_list /proc/self/status")
    lines = out.splitlines()
    assert lines[0] == "10.1.2.3\tdb"
    assert "nameserver 10.0.0.53" in lines and "search example.test" in lines
    assert "options ndots:2" in lines and not any("nameserver" in l and "10.0.0.53" not in l
                                                  for l in lines)
    at = lines.index("options ndots:2") + 1
    assert lines[at:at + 2] == ["1", "123456"] and "4321" in lines[at + 2].split()
    assert lines[at + 3].split()[1] == "8192"                   # /dev/shm of 8 MiB
    assert lines[at + 4:] == ["512", "Cpus_allowed_list:\t0"]
    cid = cli(engine, "create", "--cidfile", str(cid_file), "--label-file",
              str(tmp_path / "labels"), "-l", "tier=db", "--stop-timeout", "3", "--expose",
              "7000-7001/udp", "--log-driver", "none", "--network", "none", "busybox",
              "echo", "unlogged").stdout.strip()
    assert cid_file.read_text() == cid
    attrs = json.loads(cli(engine, "inspect", cid).stdout)[0]
    assert attrs["Config"]["Labels"] == {"team": "infra", "tier": "db"}
    assert attrs["Config"]["StopTimeout"] == 3
    assert {"7000/udp", "7001/udp"} <= set(attrs["Config"]["ExposedPorts"])
    assert attrs["HostConfig"]["LogConfig"]["Type"] == "none"
    proc = cli(engine, "create", "--cidfile", str(cid_file), "busybox", check=False)
    assert proc.returncode == 125 and "container ID file found" in proc.stderr
    assert cli(engine, "start", "-a", cid).stdout == "unlogged\n"   # attached: shown
    proc = cli(engine, "logs", cid, check=False)
    assert (proc.returncode, proc.stderr) == (
        1, "Error: configured logging driver does not support reading\n")
    cli(engine, "start", cid)                                   # detached: discarded
    engine.containers.get(cid).wait()
    log = engine.containers.get(cid).bundle / "container.log"     # the monitor kept no log
    assert not log.exists() or os.path.realpath(log) == os.devnull
    cli(engine, "rm", cid)


def test_cgroup_flags(engine):
    v2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
    cid = cli(engine, "run", "-d", "--network", "none", "-m", "64m", "--memory-reservation",
              "32m", "--cpu-shares", "512", "--cpuset-cpus", "0", "--oom-kill-disable",
              "busybox", "sleep", "300").stdout.strip()
    c = engine.containers.get(cid)
    pid = c.state.pid

    def read(controller, name):
        with open(_cgroup_file(pid, controller, name)) as f:
            return f.read().strip()
    assert read("cpuset", "cpuset.cpus") == "0"
    if v2:
        assert (read("cpu", "cpu.weight"), read("memory", "memory.low")) == ("20", str(32 << 20))
    else:
        assert (read("cpu", "cpu.shares"), read("memory", "memory.soft_limit_in_bytes")) == \
            ("512", str(32 << 20))
        assert "oom_kill_disable 1" in read("memory", "memory.oom_control")
    # docker update: live, checked, and kept for the next start
    proc = cli(engine, "update", "-m", "16m", cid, check=False)
    assert "Minimum memory limit can not be less than memory reservation" in proc.stderr
    cli(engine, "update", "-m", "128m", "--memory-swap", "256m", "--cpu-shares", "1024",
        "--pids-limit", "50", cid)
    limit = read("memory", "memory.max" if v2 else "memory.limit_in_bytes")
    assert (limit, read("pids", "pids.max")) == (str(128 << 20), "50")
    host = json.loads(cli(engine, "inspect", cid).stdout)[0]["HostConfig"]
    assert (host["Memory"], host["MemorySwap"], host["CpuShares"]) == (128 << 20, 256 << 20, 1024)
    c.stop(timeout=1)
    c.start()
    pid = c.state.pid
    assert read("pids", "pids.max") == "50"
    code, out = c.exec_run(["sh", "-c", "mknod /tmp/loop b 7 0 && head -c1 /tmp/loop 2>&1"])
    assert code != 0 and b"not permitted" in out      # the device rules outlived the update
    cli(engine, "rm", "-f", cid)


def test_pause_rename_top_port_and_logs_since(engine, box):
    cli(engine, "pause", "box")
    assert json.loads(cli(engine, "inspect", "box").stdout)[0]["State"]["Status"] == "paused"
    assert "(Paused)" in cli(engine, "ps").stdout
    proc = cli(engine, "exec", "box", "true", check=False)
    assert proc.returncode == 1 and "is paused, unpause the container before exec" in proc.stderr
    cli(engine, "unpause", "box")
    assert box.exec_run(["true"])[0] == 0
    frozen = engine.containers.run("busybox", ["sleep", "300"], detach=True, network="none")
    frozen.pause()
    cli(engine, "stop", "-t", "1", frozen.id)                  # a paused container stops too
    assert frozen.status == "exited"
    frozen.remove()
    cli(engine, "rename", "box", "crate")
    assert engine.containers.get("crate").id == box.id
    assert cli(engine, "inspect", "box", check=False).returncode == 1
    cli(engine, "rename", "crate", "box")
    top = cli(engine, "top", "box", "-o", "pid,comm").stdout.splitlines()
    assert top[0].split() == ["PID", "COMMAND"] and top[1].split() == [str(box.state.pid), "sleep"]
    assert cli(engine, "top", "box").stdout.split()[:8] == \
        ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    c = engine.containers.run("busybox", ["sh", "-c", "echo early; sleep 0.1; echo late"],
                              detach=True, network="none")
    c.wait()
    early, late = (entry.time for entry in c.log_entries())
    assert cli(engine, "logs", "--since", late, c.id).stdout == "late\n"
    assert cli(engine, "logs", "--until", early, c.id).stdout == "early\n"
    assert cli(engine, "logs", "--since", "1h", c.id).stdout == "early\nlate\n"
    assert cli(engine, "logs", "--until", "1h", c.id).stdout == ""
    c.remove()


def test_port_of_one_published_port(engine):
    cid = cli(engine, "run", "-d", "-p", "127.0.0.1::80", "--expose", "90", "-P", "busybox",
              "sleep", "300").stdout.strip()
    try:
        host = cli(engine, "port", cid, "80").stdout.strip()
        assert host.startswith("127.0.0.1:") and int(host.rsplit(":", 1)[1]) > 0
        assert cli(engine, "port", cid, "90/tcp").stdout.strip()
    finally:
        cli(engine, "rm", "-f", cid)


def test_attach_streams_output_and_exits_with_the_code(engine):
    c = engine.containers.run("busybox", ["sh", "-c", "echo before; until [ -e /tmp/go ]; do "
                                                      "sleep 0.05; done; echo after; exit 3"],
                              detach=True, network="none")
    start = time.time()
    attach = subprocess.Popen([*DOCKYARD, "--data-root", str(engine.root), "attach", c.id],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for event in engine.events(since=start, until=start + 30, follow=True,
                               filters={"event": ["attach"]}):
        break                                   # the client follows the output from now on
    assert c.exec_run(["touch", "/tmp/go"])[0] == 0
    out, err = attach.communicate(timeout=30)
    assert (attach.returncode, out) == (3, "after\n"), err
    c.remove()


def test_non_ascii_environment_names_are_kept(engine, tmp_path):
    (tmp_path / "env").write_text("ÖL=2\n")
    out = run(engine, "-e", "ÄB=1", "--env-file", str(tmp_path / "env"), "busybox", "env")
    assert {"ÄB=1", "ÖL=2"} <= set(out.splitlines())


def test_system_df_prune_info_version_and_groups(engine, box):
    lines = cli(engine, "system", "df").stdout.splitlines()
    assert lines[0].split() == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
    assert [line.split("  ")[0] for line in lines[1:]] == \
        ["Images", "Containers", "Local Volumes", "Build Cache"]
    stopped = engine.containers.run("busybox", ["true"], detach=True, network="none")
    stopped.wait()
    pruned = cli(engine, "system", "prune", "-f").stdout
    assert stopped.id in pruned and "Total reclaimed space:" in pruned
    assert cli(engine, "system", "info").stdout == cli(engine, "info").stdout
    version = cli(engine, "version").stdout
    assert version.startswith("Client:\n Version:") and "\nServer: dockyard" in version
    assert cli(engine, "version", "-f", "{{.Client.Version}}").stdout.strip()
    assert cli(engine, "container", "ls", "-q").stdout == cli(engine, "ps", "-q").stdout
    assert cli(engine, "image", "ls", "-q").stdout == cli(engine, "images", "-q").stdout
    assert cli(engine, "container", "inspect", "-f", "{{.Name}}", "box").stdout == "/box\n"


def test_events_of_a_cli_run_show_live_in_another_process(engine, box):
    import threading
    seen, start = [], time.time()

    def watch():
        for event in engine.events(since=start, until=start + 30, follow=True,
                                   filters={"container": ["evt"]}):
            seen.append((event["Action"], event["Actor"]["Attributes"].get("exitCode")))
            if event["Action"] == "destroy":
                return
    watcher = threading.Thread(target=watch)
    watcher.start()
    cli(engine, "run", "--rm", "--network", "none", "--name", "evt", "busybox", "sh", "-c",
        "exit 3", check=False)
    watcher.join(30)
    assert seen == [("create", None), ("start", None), ("die", "3"), ("destroy", None)]
    lines = cli(engine, "events", "--since", str(start), "--until", "0s", "--filter",
                "event=die", "--filter", "container=evt").stdout.splitlines()
    assert len(lines) == 1 and " container die " in lines[0]
    assert lines[0].endswith("(exitCode=3, image=busybox, name=evt)")
    formatted = cli(engine, "system", "events", "--since", str(start), "--until", "0s",
                    "--filter", "type=container", "--format", "{{.Action}}").stdout
    assert formatted.split()[:4] == ["create", "start", "die", "destroy"]
    mark = time.time()
    cli(engine, "exec", "box", "sh", "-c", "exit 4", check=False)
    execs = cli(engine, "events", "--since", str(mark), "--until", "0s", "--filter",
                "container=box", "--format", "{{.Action}}").stdout.splitlines()
    assert execs == ["exec_create: sh -c exit 4", "exec_start: sh -c exit 4", "exec_die"]


def test_add_host_lines_survive_network_changes_and_host_gateway(engine):
    engine.networks.create("hostsnet")
    first = cli(engine, "run", "-d", "--network", "hostsnet", "--name", "h1", "--add-host",
                "db:10.1.1.1", "--add-host", "gw:host-gateway", "busybox", "sleep", "300")
    try:
        cli(engine, "run", "-d", "--network", "hostsnet", "--name", "h2", "busybox", "sleep", "300")
        hosts = engine.containers.get("h1").exec_run(["cat", "/etc/hosts"])[1].decode()
        gateway = engine.networks.get("hostsnet").inspect()["IPAM"]["Config"][0]["Gateway"]
        assert "10.1.1.1\tdb\n" in hosts and f"{gateway}\tgw\n" in hosts and "\th2 " in hosts
    finally:
        cli(engine, "rm", "-f", "h1", "h2", check=False)
        engine.networks.remove("hostsnet")
    assert first.stdout.strip()
