"""The real docker CLI (DOCKER_HOST=unix://...) against `dockyard daemon` on a fresh data root."""
import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time

import pytest

from api_daemon import DOCKER, Daemon, docker_cli_problem

pytestmark = pytest.mark.skipif(docker_cli_problem() is not None, reason=str(docker_cli_problem()))


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    with Daemon(tmp_path_factory.mktemp("api-cli")) as d:
        yield d


def run_in_pty(daemon, argv, keys, rows=33, cols=101, timeout=15) -> tuple[int, bytes]:
    """Run the CLI on a pseudo-terminal of rows x cols, type `keys` (each once the previous
    answer settled; a (rows, cols) pair resizes the terminal, which sends the CLI SIGWINCH),
    return (exit status, everything it printed)."""
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.execve(argv[0], argv, daemon.env)
    out = b""
    deadline = time.monotonic() + timeout
    pending = list(keys)
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            out += data
            quiet_since = time.monotonic()
        elif pending and time.monotonic() - quiet_since > 0.3 and b"# " in out:
            key = pending.pop(0)
            if isinstance(key, tuple):
                fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", *key, 0, 0))
            else:
                os.write(fd, key)
            quiet_since = time.monotonic()
    else:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out


def test_version_and_info(daemon):
    out = daemon.ok("version")
    assert re.search(r"API version:\s+1\.47 \(minimum version 1\.24\)", out)
    assert "Server: dockyard" in out
    assert daemon.ok("info", "--format", "{{.Images}} {{.Driver}} {{.OSType}}") == \
        "1 overlay2 linux\n"


def test_run_attached_keeps_streams_apart_and_returns_the_exit_code(daemon):
    r = daemon.docker("run", "--name", "attached", "busybox", "sh", "-c",
                      "echo out1; echo err1 >&2; exit 3")
    assert (r.returncode, r.stdout, r.stderr) == (3, "out1\n", "err1\n")
    r = daemon.docker("logs", "attached")
    assert (r.returncode, r.stdout, r.stderr) == (0, "out1\n", "err1\n")
    daemon.ok("rm", "attached")


def test_run_rm_removes_the_container(daemon):
    assert daemon.ok("run", "--rm", "--name", "gone-soon", "busybox", "echo", "hi") == "hi\n"
    assert "gone-soon" not in daemon.ok("ps", "-a", "--format", "{{.Names}}")


def test_the_daemon_cleans_up_after_the_exits_it_waits_for(daemon):
    """The daemon waits for each container it starts, so it gives the network back itself and
    the monitor's exit command (a Python process per exit) stands back."""
    cid = daemon.ok("run", "-d", "busybox", "true").strip()
    assert daemon.ok("wait", cid) == "0\n"
    bundle = daemon.root / "containers" / cid
    deadline = time.monotonic() + 10
    while (daemon.root / "netns" / cid).exists():          # released after the exit
        assert time.monotonic() < deadline, "the network was not given back"
        time.sleep(0.05)
    assert json.loads((bundle / "state.json").read_text())["on_exit"] is False
    daemon.ok("rm", cid)


def test_run_detached_exec_top_stats_stop(daemon):
    cid = daemon.ok("run", "-d", "--name", "sleeper", "busybox", "sleep", "1000").strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    assert daemon.ok("ps", "--format", "{{.Names}} {{.Status}}").startswith("sleeper Up")
    r = daemon.docker("exec", "sleeper", "sh", "-c", "echo hi; echo oops >&2; exit 5")
    assert (r.returncode, r.stdout, r.stderr) == (5, "hi\n", "oops\n")
    assert daemon.ok("exec", "-i", "sleeper", "cat", input="piped\n") == "piped\n"
    top = daemon.ok("top", "sleeper")
    assert "sleep 1000" in top and top.startswith("UID")
    stats = daemon.ok("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}} {{.MemUsage}}",
                      "sleeper")
    assert re.fullmatch(r"sleeper 1 [0-9.]+[KMG]?i?B / [0-9.]+[KMGT]iB\n", stats), stats
    assert daemon.ok("stop", "-t", "1", "sleeper") == "sleeper\n"
    assert daemon.ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "sleeper") == \
        "exited 137\n"        # PID 1 ignores SIGTERM: killed after -t 1
    r = daemon.docker("exec", "sleeper", "true")
    assert r.returncode == 1 and "is not running" in r.stderr
    daemon.ok("rm", "sleeper")


def test_run_and_exec_interactive_through_a_pty(daemon):
    code, out = run_in_pty(daemon, [DOCKER, "run", "-it", "--rm", "busybox", "sh"],
                           [b"stty size\r", (41, 91), b"stty size\r", b"exit 7\r"])
    assert code == 7, out
    assert b"33 101" in out                          # the terminal's size reached the container
    assert b"41 91" in out                           # and its resize (POST /containers/resize)
    daemon.ok("run", "-d", "--name", "shell-target", "busybox", "sleep", "1000")
    code, out = run_in_pty(daemon, [DOCKER, "exec", "-it", "shell-target", "sh"],
                           [b"echo in-$((40+2))\r", b"stty size\r", (25, 88), b"stty size\r",
                            b"exit 4\r"], rows=21, cols=77)
    assert code == 4 and b"in-42" in out and b"21 77" in out and b"25 88" in out, out
    assert b"failed to resize" not in out
    daemon.ok("rm", "-f", "shell-target")


def test_logs_follow_ends_with_the_container(daemon):
    daemon.ok("run", "-d", "--name", "talker", "busybox", "sh", "-c",
              "for i in 1 2 3; do echo line$i; sleep 0.2; done")
    started = time.monotonic()
    assert daemon.ok("logs", "-f", "talker") == "line1\nline2\nline3\n"
    assert time.monotonic() - started < 10
    stamped = daemon.ok("logs", "-t", "--tail", "1", "talker")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT[0-9:.]+Z line3\n", stamped)
    last = stamped.split()[0]
    assert daemon.ok("logs", "--since", last, "talker") == "line3\n"
    assert daemon.ok("logs", "--until", last, "talker") == "line1\nline2\nline3\n"
    daemon.ok("rm", "talker")


def test_build_tag_save_load(daemon, tmp_path):
    (tmp_path / "Dockerfile").write_text('FROM busybox\nARG WHO=nobody\nRUN echo "built for $WHO"'
                                         ' > /greeting\nCMD ["cat", "/greeting"]\n')
    (tmp_path / ".dockerignore").write_text("secret.txt\n")
    (tmp_path / "secret.txt").write_text("x")
    r = daemon.docker("build", "-t", "greeter", "--build-arg", "WHO=docker", str(tmp_path),
                      env={"DOCKER_BUILDKIT": "0"})
    assert r.returncode == 0, r.stderr
    assert "Step 3/4 : RUN" in r.stdout and "Successfully tagged greeter:latest" in r.stdout
    assert daemon.ok("run", "--rm", "greeter") == "built for docker\n"
    quiet = daemon.ok("build", "-q", "--no-cache", "--label", "built-by=api", str(tmp_path),
                      env={"DOCKER_BUILDKIT": "0"})
    assert re.fullmatch(r"sha256:[0-9a-f]{64}\n", quiet)
    assert daemon.ok("image", "inspect", "-f", "{{.Config.Labels}}", quiet.strip()) == \
        "map[built-by:api]\n"
    daemon.ok("tag", "greeter", "greeter:v2")
    images = daemon.ok("images", "--format", "{{.Repository}}:{{.Tag}}")
    assert "greeter:latest" in images and "greeter:v2" in images
    daemon.ok("save", "-o", str(tmp_path / "g.tar"), "greeter:v2")
    assert "Untagged: greeter:v2" in daemon.ok("rmi", "greeter:v2")
    assert "Loaded image: greeter:v2" in daemon.ok("load", "-i", str(tmp_path / "g.tar"))
    assert daemon.ok("run", "--rm", "greeter:v2") == "built for docker\n"
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN exit 9\n")
    r = daemon.docker("build", str(tmp_path), env={"DOCKER_BUILDKIT": "0"})
    assert r.returncode == 1 and "exit" in r.stderr.lower()


def test_network_and_volume_verbs(daemon):
    net_id = daemon.ok("network", "create", "apinet").strip()
    assert "apinet" in daemon.ok("network", "ls", "--format", "{{.Name}}").split()
    daemon.ok("run", "-d", "--name", "srv", "--network", "apinet", "busybox", "sh", "-c",
              "echo served > /index.html && httpd -f -p 80 -h /")
    page = daemon.ok("run", "--rm", "--network", "apinet", "busybox", "wget", "-qO-",
                     "http://srv/index.html")
    assert page == "served\n"
    daemon.ok("run", "-d", "--name", "joiner", "busybox", "sleep", "1000")
    daemon.ok("network", "connect", "apinet", "joiner")
    members = daemon.ok("network", "inspect", "-f", "{{range .Containers}}{{.Name}} {{end}}",
                        "apinet").split()
    assert sorted(members) == ["joiner", "srv"]
    daemon.ok("network", "disconnect", "apinet", "joiner")
    r = daemon.docker("network", "rm", "apinet")
    assert r.returncode == 1 and "active endpoints" in r.stderr
    daemon.ok("rm", "-f", "srv", "joiner")
    assert daemon.ok("network", "rm", "apinet") == "apinet\n"
    assert net_id not in daemon.ok("network", "ls", "-q", "--no-trunc")
    daemon.ok("volume", "create", "apivol")
    assert "apivol" in daemon.ok("volume", "ls", "-q").split()
    daemon.ok("run", "--rm", "-v", "apivol:/data", "busybox", "sh", "-c", "echo kept > /data/f")
    assert daemon.ok("run", "--rm", "-v", "apivol:/data", "busybox", "cat", "/data/f") == "kept\n"
    assert daemon.ok("volume", "inspect", "-f", "{{.Driver}}", "apivol") == "local\n"
    daemon.ok("volume", "rm", "apivol")
    assert "apivol" not in daemon.ok("volume", "ls", "-q").split()


def test_cp_both_ways(daemon, tmp_path):
    daemon.ok("run", "-d", "--name", "files", "busybox", "sleep", "1000")
    (tmp_path / "in.txt").write_text("into the container\n")
    daemon.ok("cp", str(tmp_path / "in.txt"), "files:/tmp/")
    assert daemon.ok("exec", "files", "cat", "/tmp/in.txt") == "into the container\n"
    daemon.ok("cp", "files:/etc/passwd", str(tmp_path / "passwd"))
    assert (tmp_path / "passwd").read_text().startswith("root:")
    daemon.ok("exec", "files", "sh", "-c", "mkdir -p /out/sub && echo deep > /out/sub/f")
    daemon.ok("cp", "files:/out", str(tmp_path / "out"))
    assert (tmp_path / "out" / "sub" / "f").read_text() == "deep\n"
    daemon.ok("stop", "-t", "0", "files")
    daemon.ok("cp", "files:/tmp/in.txt", str(tmp_path / "back.txt"))   # from a stopped one
    assert (tmp_path / "back.txt").read_text() == "into the container\n"
    r = daemon.docker("cp", "files:/no/such", str(tmp_path / "x"))
    assert r.returncode == 1 and "Could not find the file /no/such" in r.stderr
    daemon.ok("rm", "files")


def test_cp_with_a_stopped_container_never_follows_a_link_onto_the_host(daemon, tmp_path):
    host_dir = tmp_path / "host-only"
    host_dir.mkdir()
    (host_dir / "secret").write_text("host secret\n")
    daemon.ok("run", "--name", "linker", "busybox", "ln", "-s", str(host_dir), "/escape")
    r = daemon.docker("cp", "linker:/escape/secret", str(tmp_path / "leaked"))
    assert r.returncode == 1 and not (tmp_path / "leaked").exists()
    (tmp_path / "payload").write_text("planted\n")
    r = daemon.docker("cp", str(tmp_path / "payload"), "linker:/escape/")
    assert r.returncode == 1 and not (host_dir / "payload").exists()
    dockyard = [sys.executable, "-m", "dockyard.engine.cli", "--data-root", str(daemon.root)]
    r = subprocess.run([*dockyard, "cp", "linker:/escape/secret", str(tmp_path / "leaked")],
                       capture_output=True, text=True)
    assert r.returncode != 0 and not (tmp_path / "leaked").exists()
    r = subprocess.run([*dockyard, "cp", str(tmp_path / "payload"), "linker:/escape/"],
                       capture_output=True, text=True)
    assert r.returncode != 0 and not (host_dir / "payload").exists()
    daemon.ok("rm", "linker")


def test_events_stream_what_happens(daemon):
    watcher = subprocess.Popen([DOCKER, "events", "--filter", "container=evented", "--format",
                                "{{.Type}} {{.Action}}"], env=daemon.env, stdout=subprocess.PIPE,
                               text=True)
    try:
        time.sleep(0.5)
        daemon.ok("run", "--rm", "--name", "evented", "busybox", "true")
        time.sleep(0.5)
    finally:
        watcher.terminate()
    lines = watcher.communicate(timeout=10)[0].splitlines()
    assert lines == ["container create", "container attach", "container start",
                     "container die", "container destroy"], lines
    time.sleep(1.1)         # --until 0s is whole seconds: this second's events come after it
    past = daemon.ok("events", "--since", "60s", "--until", "0s", "--filter",
                     "container=evented", "--filter", "event=die", "--format", "{{.Action}}")
    assert past == "die\n"


def test_update_rename_diff_export_stdin_and_prunes(daemon, tmp_path):
    assert daemon.ok("run", "-i", "--rm", "busybox", "cat", input="through stdin\n") == \
        "through stdin\n"
    daemon.ok("run", "-d", "--name", "changing", "busybox", "sh", "-c",
              "echo x > /made && rm /etc/shadow 2>/dev/null; rm -f /etc/group; sleep 1000")
    daemon.ok("update", "--memory", "64m", "--memory-swap", "128m", "changing")
    assert daemon.ok("inspect", "-f", "{{.HostConfig.Memory}}", "changing") == "67108864\n"
    assert daemon.ok("stats", "--no-stream", "--format", "{{.MemUsage}}", "changing") \
        .strip().endswith("/ 64MiB")
    daemon.ok("rename", "changing", "changed")
    assert daemon.ok("ps", "--filter", "name=changed", "--format", "{{.Names}}") == "changed\n"
    diff = daemon.ok("diff", "changed").splitlines()
    assert "A /made" in diff and "D /etc/group" in diff
    daemon.ok("stop", "-t", "0", "changed")
    daemon.ok("export", "-o", str(tmp_path / "fs.tar"), "changed")
    import tarfile
    with tarfile.open(tmp_path / "fs.tar") as tar:
        names = tar.getnames()
    assert "./made" in names and "./etc/group" not in names and "./bin/busybox" in names
    assert daemon.ok("container", "prune", "-f").startswith("Deleted Containers:")
    daemon.ok("network", "create", "unused-net")
    daemon.ok("volume", "create", "unused-vol")
    assert "unused-net" in daemon.ok("network", "prune", "-f")
    assert "unused-vol" in daemon.ok("volume", "prune", "-a", "-f")
    assert "Total reclaimed space" in daemon.ok("image", "prune", "-f")
    daemon.ok("run", "-d", "--name", "anon-vol", "-v", "/scratch", "busybox", "sleep", "100")
    volume = daemon.ok("inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", "anon-vol").strip()
    assert volume in daemon.ok("volume", "ls", "-q").split()
    daemon.ok("rm", "-f", "-v", "anon-vol")
    assert volume not in daemon.ok("volume", "ls", "-q").split()
    df = daemon.ok("system", "df", "--format", "{{.Type}} {{.TotalCount}}")
    assert df.splitlines()[0].startswith("Images ")
    for version in ("1.24", "1.41", "1.47"):     # versioned and unversioned paths
        assert daemon.request("GET", f"/v{version}/containers/json")[0] == 200
    assert daemon.request("GET", "/containers/json")[0] == 200
    daemon.ok("run", "-d", "--name", "frozen", "busybox", "sleep", "100")
    daemon.ok("pause", "frozen")
    assert daemon.ok("ps", "--filter", "name=frozen", "--format", "{{.Status}}").endswith(
        "(Paused)\n")
    r = daemon.docker("exec", "frozen", "true")
    assert r.returncode == 1 and "paused" in r.stderr
    daemon.ok("unpause", "frozen")
    assert daemon.ok("exec", "frozen", "echo", "thawed") == "thawed\n"
    daemon.ok("rm", "-f", "frozen")

def test_errors_are_one_line_with_docker_statuses(daemon):
    r = daemon.docker("rm", "no-such-container")
    assert r.returncode == 1
    assert r.stderr.strip() == "Error response from daemon: No such container: no-such-container"
    r = daemon.docker("run", "--restart", "sometimes", "busybox", "true")
    assert r.returncode == 125 and "invalid restart policy: unknown policy" in r.stderr
    r = daemon.docker("run", "busybox", "no-such-command")
    assert r.returncode == 127, r.stderr
    r = daemon.docker("search", "busybox")         # no network here: the index can't be reached
    assert r.returncode == 1 and r.stderr.startswith("Error response from daemon: ")


def test_socket_mode_and_group(daemon):
    import grp
    st = os.stat(daemon.sock)
    assert oct(st.st_mode & 0o777) == oct(0o660)
    try:
        assert st.st_gid == grp.getgrnam("docker").gr_gid
    except KeyError:                # no docker group on this host: root's
        assert st.st_gid == 0


def test_sigterm_leaves_containers_running(tmp_path):
    with Daemon(tmp_path) as d:
        d.ok("run", "-d", "--name", "survivor", "busybox", "sleep", "1000")
        d.ok("run", "-d", "--rm", "--name", "short-lived", "busybox", "sleep", "0.5")
        d.process.send_signal(signal.SIGTERM)
        assert d.process.wait(20) == 0
        assert not d.sock.exists()
        assert d.engine.containers.get("survivor").status == "running"
        assert d.engine.containers.get("short-lived").wait(10)["StatusCode"] == 0
        d.start()       # a new daemon finds the survivor and removes what --rm left behind
        assert d.ok("ps", "-a", "--format", "{{.Names}}") == "survivor\n"


def test_push_pull_and_login_through_a_local_registry(daemon, tmp_path):
    from test_registry import REGISTRY, Registry
    if not os.path.exists(REGISTRY):
        pytest.skip("needs docker-registry (apt-get install docker-registry)")
    registry = Registry(tmp_path / "registry", users={"alice": "s3cret"})
    try:
        name = f"{registry.address}/api/busybox:1"
        daemon.ok("tag", "busybox", name)
        denied = daemon.docker("push", name)
        assert denied.returncode == 1 and "unauthorized" in denied.stderr.lower(), denied
        wrong = daemon.docker("login", "-u", "alice", "--password-stdin", registry.address,
                              input="wrong\n")
        assert wrong.returncode == 1
        assert "Login Succeeded" in daemon.ok("login", "-u", "alice", "--password-stdin",
                                              registry.address, input="s3cret\n")
        pushed = daemon.ok("push", name)
        assert f"The push refers to repository [{registry.address}/api/busybox]" in pushed
        assert re.search(r"1: digest: sha256:[0-9a-f]{64} size: \d+", pushed)
        daemon.ok("rmi", name)
        pulled = daemon.ok("pull", name)
        assert "Digest: sha256:" in pulled and f"{name}" in pulled
        assert daemon.ok("run", "--rm", name, "echo", "pulled") == "pulled\n"
        missing = daemon.docker("pull", f"{registry.address}/api/nothing:1")
        assert missing.returncode == 1 and "Error response from daemon" in missing.stderr
    finally:
        registry.stop()


DEBIAN_DOCKER = "/usr/bin/docker"


@pytest.mark.skipif(not os.path.exists(DEBIAN_DOCKER),
                    reason="needs Debian's docker.io client (bench/peers.py install)")
def test_debian_docker_20_10_client(daemon, tmp_path):
    """The older client speaks API 1.41 and attaches and builds the classic way."""
    def old(*args, env=None, **kwargs):
        return subprocess.run([DEBIAN_DOCKER, *args], capture_output=True, text=True,
                              timeout=60, env={**daemon.env, **(env or {})}, **kwargs)
    version = old("version", "--format", "{{.Client.Version}} {{.Server.APIVersion}}")
    assert version.returncode == 0 and version.stdout.startswith("20.10"), version.stderr
    r = old("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 6")
    assert (r.returncode, r.stdout, r.stderr) == (6, "out\n", "err\n")
    cid = old("run", "-d", "busybox", "sleep", "1000").stdout.strip()
    assert old("exec", "-i", cid, "cat", input="old client\n").stdout == "old client\n"
    assert old("ps", "-q").stdout.split()[0] == cid[:12]
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN echo from-20.10 > /f\n")
    built = old("build", "-t", "old-client", str(tmp_path), env={"DOCKER_BUILDKIT": "0"})
    assert built.returncode == 0 and "Successfully tagged old-client:latest" in built.stdout
    assert old("run", "--rm", "old-client", "cat", "/f").stdout == "from-20.10\n"
    assert old("rm", "-f", cid).returncode == 0


def test_restart_policy_and_health_check_through_the_docker_cli(daemon):
    cid = daemon.ok("run", "-d", "--network", "none", "--restart", "on-failure:2", "busybox",
                    "sh", "-c", "exit 3").strip()
    assert daemon.ok("wait", cid).strip() == "3"            # after the last of two restarts
    assert daemon.ok("inspect", "-f", "{{.RestartCount}} {{.HostConfig.RestartPolicy.Name}}",
                     cid).strip() == "2 on-failure"
    hid = daemon.ok("run", "-d", "--network", "none", "--health-cmd", "true",
                    "--health-interval", "100ms", "busybox", "sleep", "30").strip()
    deadline = time.monotonic() + 30
    while daemon.ok("inspect", "-f", "{{.State.Health.Status}}", hid).strip() != "healthy":
        assert time.monotonic() < deadline, "never healthy"
        time.sleep(0.1)
    assert "(healthy)" in daemon.ok("ps")
    daemon.ok("rm", "-f", cid, hid)


def test_log_options_rotate_the_log_through_the_docker_cli(daemon):
    cid = daemon.ok("run", "-d", "--network", "none", "--log-opt", "max-size=1k", "--log-opt",
                    "max-file=2", "busybox", "sh", "-c",
                    "for i in $(seq 1 100); do echo line-$i; done").strip()
    assert daemon.ok("wait", cid).strip() == "0"
    assert daemon.ok("inspect", "-f", "{{json .HostConfig.LogConfig}}", cid).strip() == \
        '{"Type":"json-file","Config":{"max-file":"2","max-size":"1k"}}'
    kept = daemon.ok("logs", cid).splitlines()
    first = int(kept[0].split("-")[1])
    assert 1 < first and kept == [f"line-{i}" for i in range(first, 101)]   # the newest 2 files
    r = daemon.docker("run", "--log-opt", "max-file=0", "busybox", "true")
    assert r.returncode == 125 and "max-file cannot be less than 1" in r.stderr, r.stderr
    daemon.ok("rm", cid)
