"""Containers through the public API and the CLI, on a real busybox image: what a user sees."""
import json
import os
import subprocess
import sys
import time

import pytest

from dockyard.engine.errors import Conflict, ContainerError, ImageNotFound, InvalidArgument, StartError

DOCKYARD = [sys.executable, "-m", "dockyard.engine.cli"]


def cli(engine, *args, check=True, input=None):
    proc = subprocess.run(DOCKYARD + ["--data-root", str(engine.root), *args], capture_output=True,
                          text=True, input=input, timeout=60)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def run(engine, *command, **kwargs):
    return engine.containers.run("busybox", list(command), remove=True, network="none", **kwargs)


def test_hostname_pid_namespace_and_loopback(engine):
    out = run(engine, "sh", "-c", "hostname; echo pid=$$; ls /sys/class/net; ps -o pid,args; true",
              hostname="box").decode().splitlines()
    assert out[:3] == ["box", "pid=1", "lo"]
    # only this container's processes: sh as PID 1 and ps itself, nothing of the host
    procs = [line.split(None, 1) for line in out[4:]]
    assert [p[0] for p in procs] == ["1", "4"]      # 2 and 3 were hostname and ls
    assert procs[0][1].startswith("sh -c") and "ps" in procs[1][1]


def test_default_hostname_is_the_short_id(engine):
    c = engine.containers.run("busybox", ["hostname"], detach=True, network="none")
    c.wait()
    assert c.logs().decode().strip() == c.short_id
    c.remove()


def test_capabilities_are_dockers_default_set(engine):
    out = run(engine, "sh", "-c", "grep -E '^Cap(Inh|Eff|Bnd)' /proc/self/status").decode()
    assert out.split() == ["CapInh:", "0000000000000000", "CapEff:", "00000000a80425fb",
                           "CapBnd:", "00000000a80425fb"]
    out = run(engine, "sh", "-c", "grep CapEff /proc/self/status", cap_drop=["ALL"],
              cap_add=["NET_ADMIN"]).decode()
    assert out.split() == ["CapEff:", f"{1 << 12:016x}"]


def test_writes_land_in_the_container_layer_not_the_image(engine):
    image = engine.images.get("busybox")
    c = engine.containers.run("busybox", ["sh", "-c", "echo x > /new.txt; rm /bin/vi"],
                              detach=True, network="none")
    assert c.wait()["StatusCode"] == 0
    assert (c.bundle / "upper" / "new.txt").read_text() == "x\n"
    kinds = {d["Path"]: d["Kind"] for d in c.diff()}
    assert kinds["/new.txt"] == 1 and kinds["/bin/vi"] == 2
    assert engine.images.get("busybox").id == image.id
    # another container of the same image sees neither change
    assert run(engine, "sh", "-c", "test -e /new.txt || echo clean; test -e /bin/vi && echo vi") \
        == b"clean\nvi\n"
    c.remove()


def test_two_containers_do_not_see_each_others_files(engine):
    a = engine.containers.run("busybox", ["sh", "-c", "echo a > /tmp/a; sleep 30"], detach=True,
                              network="none")
    try:
        assert run(engine, "ls", "/tmp") == b""
    finally:
        a.remove(force=True)


def test_user_env_workdir_and_exit_codes(engine):
    out = run(engine, "sh", "-c", "id -u; id -g; echo $GREETING; pwd", user="1000:50",
              environment={"GREETING": "hello"}, working_dir="/srv/app")
    assert out.split() == [b"1000", b"50", b"hello", b"/srv/app"]
    assert run(engine, "id", "-un", user="nobody") == b"nobody\n"
    with pytest.raises(ContainerError) as exc:
        run(engine, "sh", "-c", "echo oops >&2; exit 3")
    assert exc.value.exit_code == 3 and b"oops" in exc.value.stderr


@pytest.mark.parametrize("command, status", [(["nosuchcommand"], 127), (["/etc/passwd"], 126)])
def test_command_not_found_or_not_executable(engine, command, status):
    with pytest.raises(StartError) as exc:
        run(engine, *command)
    assert exc.value.exit_status == status
    proc = cli(engine, "run", "--rm", "--network", "none", "busybox", *command, check=False)
    assert proc.returncode == status
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("Error: ")


def test_bad_input_is_one_line_and_leaves_nothing(engine):
    before = sorted(os.listdir(engine.root / "containers"))
    for args, words in ((["run", "nosuchimage"], "No such image"),
                        (["run", "-m", "1k", "busybox", "true"], "Minimum memory"),
                        (["run", "--cpus", "99", "busybox", "true"], "CPUs"),
                        (["run", "--user", "nobody2", "--network", "none", "busybox", "true"],
                         "unable to find user nobody2"),
                        (["run", "--bogus-flag", "busybox"], "unrecognized arguments")):
        proc = cli(engine, *args, check=False)
        assert proc.returncode == 125, (args, proc.stderr)
        assert words in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
        assert "Traceback" not in proc.stderr
    leftover = set(os.listdir(engine.root / "containers")) - set(before)
    assert all(engine.containers.get(c).status != "running" for c in leftover)
    for c in leftover:      # the user lookup fails at start, after create: docker keeps it too
        engine.containers.get(c).remove()


def test_names_are_unique(engine):
    c = engine.containers.create("busybox", ["true"], name="unique", network="none")
    with pytest.raises(Conflict, match="already in use"):
        engine.containers.create("busybox", ["true"], name="unique", network="none")
    with pytest.raises(InvalidArgument):
        engine.containers.create("busybox", ["true"], name="bad name!", network="none")
    c.remove()
    engine.containers.create("busybox", ["true"], name="unique", network="none").remove()


def test_a_create_refused_by_the_runtime_frees_its_name_and_network(engine):
    with pytest.raises(InvalidArgument, match="NUL byte"):
        engine.containers.create("busybox", ["true"], name="refused", environment=["A=\0"])
    assert not (engine.root / "names" / "refused").is_symlink()
    endpoints = engine.networks.get("bridge").endpoints.values()
    assert "refused" not in [ep["name"] for ep in endpoints]


def test_kill_takes_signal_names_and_refuses_others_in_one_line(engine):
    c = engine.containers.run("busybox", ["sleep", "60"], detach=True, network="none")
    try:
        with pytest.raises(InvalidArgument, match="invalid signal: bogus"):
            c.kill("bogus")
        c.kill("kill")
        assert c.wait(timeout=10)["StatusCode"] == 137
    finally:
        c.remove(force=True)


def test_unknown_image(engine):
    with pytest.raises(ImageNotFound):
        engine.containers.create("nosuchimage", ["true"])


def test_detached_lifecycle_through_the_cli(engine):
    cid = cli(engine, "run", "-d", "--name", "web", "--network", "none", "busybox",
              "sh", "-c", "echo started; echo warn >&2; exec sleep 60").stdout.strip()
    assert len(cid) == 64
    ps = cli(engine, "ps").stdout
    assert "web" in ps and "Up " in ps
    assert cli(engine, "exec", "web", "hostname").stdout.strip() == cid[:12]
    for _ in range(50):
        if "started" in cli(engine, "logs", "web").stdout:
            break
        time.sleep(0.05)
    logs = cli(engine, "logs", "web")
    assert logs.stdout == "started\n" and logs.stderr == "warn\n"
    proc = cli(engine, "rm", "web", check=False)
    assert proc.returncode == 1 and "running" in proc.stderr
    t = time.monotonic()
    cli(engine, "stop", "-t", "1", "web")       # sleep as PID 1 ignores SIGTERM: SIGKILL after 1 s
    assert 0.9 < time.monotonic() - t < 5
    cli(engine, "stop", "web")                  # stopping a stopped container is fine
    state = json.loads(cli(engine, "inspect", "web").stdout)[0]["State"]
    assert (state["Status"], state["ExitCode"], state["Running"]) == ("exited", 137, False)
    assert cli(engine, "inspect", "-f", "{{.State.Status}}", "web").stdout == "exited\n"
    cli(engine, "rm", "web")
    assert "web" not in cli(engine, "ps", "-a").stdout


def test_a_detached_container_outlives_the_process_that_started_it(engine):
    # The CLI process exits right after `run -d`; this process then sees the container run.
    cid = cli(engine, "run", "-d", "--network", "none", "busybox", "sh", "-c",
              "trap 'echo bye; exit 7' TERM; echo up; while :; do sleep 0.1; done").stdout.strip()
    c = engine.containers.get(cid)
    assert c.status == "running"
    c.stop(timeout=5)
    assert c.wait()["StatusCode"] == 7
    assert c.logs() == b"up\nbye\n"
    c.remove()


def test_run_rm_detached_removes_itself(engine):
    c = engine.containers.run("busybox", ["true"], detach=True, remove=True, network="none")
    for _ in range(100):
        if not (engine.root / "containers" / c.id).exists():
            break
        time.sleep(0.05)
    assert not (engine.root / "containers" / c.id).exists()


def test_memory_limit_kills_a_hog_with_137_and_oom_killed(engine):
    c = engine.containers.run("busybox", ["sh", "-c", "awk 'BEGIN { s = \"x\"; while (1) s = s s }'"],
                              detach=True, network="none", mem_limit="32m")
    assert c.wait(timeout=60)["StatusCode"] == 137
    assert c.attrs["State"]["OOMKilled"] is True
    c.remove()


def test_pids_limit(engine):
    c = engine.containers.run("busybox", ["sh", "-c", "for i in $(seq 30); do sleep 5 & done; wait"],
                              detach=True, network="none", pids_limit=10)
    c.wait(timeout=30)
    assert b"can't fork" in c.logs()
    c.remove()


def test_image_in_use_cannot_be_removed(engine):
    engine.images.tag("busybox", "inuse:1")
    c = engine.containers.create("inuse:1", ["true"], network="none")
    with pytest.raises(Conflict):
        engine.images.remove(engine.images.get("inuse:1").id, force=False)
    c.remove()
    engine.images.remove("inuse:1")


def test_commit_makes_an_image_from_the_container_layer(engine):
    c = engine.containers.run("busybox", ["sh", "-c", "echo committed > /data.txt"], detach=True,
                              network="none")
    c.wait()
    image = c.commit("committed", "v1")
    c.remove()
    assert len(image.layers) == len(engine.images.get("busybox").layers) + 1
    out = engine.containers.run("committed:v1", ["cat", "/data.txt"], remove=True, network="none")
    assert out == b"committed\n"


def test_cp_both_ways_and_export(engine, tmp_path):
    c = engine.containers.run("busybox", ["sh", "-c", "echo inside > /tmp/in.txt; sleep 60"],
                              detach=True, network="none", name="cpbox")
    try:
        time.sleep(0.2)
        cli(engine, "cp", "cpbox:/tmp/in.txt", str(tmp_path / "out.txt"))
        assert (tmp_path / "out.txt").read_text() == "inside\n"
        (tmp_path / "up.txt").write_text("uploaded\n")
        cli(engine, "cp", str(tmp_path / "up.txt"), "cpbox:/tmp/")
        assert c.exec_run(["cat", "/tmp/up.txt"]) == (0, b"uploaded\n")
    finally:
        c.remove(force=True)
    c2 = engine.containers.create("busybox", ["true"], network="none")
    cli(engine, "export", "-o", str(tmp_path / "fs.tar"), c2.id)
    names = subprocess.run(["tar", "-tf", str(tmp_path / "fs.tar")], capture_output=True,
                           text=True).stdout.split()
    assert "./bin/busybox" in names
    c2.remove()


def _veths():
    out = subprocess.run(["ip", "-o", "link", "show", "type", "veth"], capture_output=True,
                         text=True).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}


def test_burst_of_50_containers_leaves_nothing_behind(engine):
    veths_before = _veths()
    ids = []
    for i in range(50):
        c = engine.containers.create("busybox", ["true"], network="none" if i % 2 else None)
        ids.append(c.id)
        c.start()
        assert c.wait()["StatusCode"] == 0
        c.remove()
    with open("/proc/self/mountinfo") as f:
        assert str(engine.root) not in f.read()
    for cid in ids:
        assert not (engine.root / "containers" / cid).exists()
        assert not (engine.root / "netns" / cid).exists()
        assert not [p for p in os.listdir("/sys/fs/cgroup") for sub in ("dockyard", "")
                    if os.path.exists(f"/sys/fs/cgroup/{p}/{sub}/{cid}")]
    assert subprocess.run(["pgrep", "-f", str(engine.root)], capture_output=True).stdout == b""
    deadline = time.monotonic() + 10        # the kernel frees a namespace's veths in the background
    while not _veths() <= veths_before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _veths() <= veths_before


def test_interactive_stdin_through_the_cli(engine):
    proc = cli(engine, "run", "--rm", "-i", "--network", "none", "busybox", "sh", "-c",
               "tr a-z A-Z; echo end", input="hello stdin\n")
    assert proc.stdout == "HELLO STDIN\nend\n"


def test_tty_gives_the_container_a_terminal(engine):
    out = run(engine, "sh", "-c", "tty; test -t 1 && echo is-a-tty", tty=True)
    assert out.replace(b"\r", b"").split() == [b"/dev/pts/0", b"is-a-tty"]


def test_a_stopped_container_starts_again_with_its_layer_and_log(engine):
    c = engine.containers.run("busybox", ["sh", "-c", "echo run >> /runs; cat /runs | wc -l; "
                                          "exec sleep 60"], detach=True, network="none")

    def logged(lines):
        for _ in range(100):
            if c.logs().split() == lines:
                return True
            time.sleep(0.05)
        return False
    try:
        assert logged([b"1"])
        c.stop(timeout=0)
        assert c.status == "exited"
        c.start()
        assert c.status == "running" and logged([b"1", b"2"])
        c.restart(timeout=0)
        assert c.status == "running"
        assert logged([b"1", b"2", b"3"])      # one upper dir, one log, three runs
    finally:
        c.remove(force=True)


def test_stats_top_and_cp_of_a_mounted_file(engine, tmp_path):
    c = engine.containers.run("busybox", ["sh", "-c", "while :; do :; done"], detach=True,
                              network="none", name="busy", hostname="busyhost")
    try:
        stats = cli(engine, "stats", "--no-stream", "busy").stdout.splitlines()
        cpu = float(stats[1].split()[2].rstrip("%"))
        assert 20 < cpu <= 200, stats          # a busy loop: most of a core
        assert "GiB" in stats[1] or "MiB" in stats[1]   # no limit: the host's memory, binary
        top = cli(engine, "top", "busy").stdout
        assert "sh -c while :; do :; done" in top
        cli(engine, "cp", "busy:/etc/hostname", str(tmp_path / "hn"))    # a bind-mounted file
        assert (tmp_path / "hn").read_text() == "busyhost\n"
    finally:
        c.remove(force=True)


def test_two_processes_racing_to_start_or_remove_one_container(engine):
    """A notebook and a terminal on one data root: one start wins, one removal wins, cleanly."""
    c = engine.containers.create("busybox", ["sleep", "60"], network="none", name="raced")
    race = ("import sys; from dockyard.engine import Engine; from dockyard.engine.errors import "
            "DockyardError\ntry:\n    c = Engine(sys.argv[1]).containers.get(sys.argv[2])\n"
            "    getattr(c, sys.argv[3])(**({'force': True} if sys.argv[3] == 'remove' else {}))"
            "\n    print('ok')\nexcept DockyardError as e:\n    print(type(e).__name__)")
    for action, outcomes in (("start", {"ok", "Conflict"}), ("remove", {"ok", "ContainerNotFound"})):
        procs = [subprocess.Popen([sys.executable, "-c", race, str(engine.root), c.id, action],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        results = [p.communicate(timeout=60) for p in procs]
        assert all(err == "" for _, err in results), results       # no tracebacks
        said = sorted(out.strip() for out, _ in results)
        assert "ok" in said and set(said) <= outcomes, said
        if action == "start":
            monitors = subprocess.run(["pgrep", "-f", f"run {c.bundle}"], capture_output=True,
                                      text=True).stdout.split()
            assert len(monitors) == 1, monitors                     # one monitor, not two
    assert not c.bundle.exists()


def test_a_name_left_by_a_create_that_died_is_reclaimed(engine):
    from dockyard.engine import intents
    link = engine.root / "names" / "orphaned"
    os.symlink("e" * 64, link)                  # what a create killed before its bundle leaves
    creator = subprocess.Popen(["sleep", "60"])   # stands for the process still creating it
    intent = engine.root / "intents" / f"{'e' * 64}.{creator.pid}.{intents.start_time(creator.pid)}"
    intent.parent.mkdir(exist_ok=True)
    intent.write_text('{"op": "create"}')
    try:
        with pytest.raises(Conflict):           # its create is under way
            engine.containers.create("busybox", ["true"], name="orphaned", network="none")
    finally:
        creator.kill()
        creator.wait()
    c = engine.containers.create("busybox", ["true"], name="orphaned", network="none")
    assert c.name == "orphaned"
    c.remove()
    assert not intent.exists() or intents.listing(engine.root)[0].alive is False


def test_exec_detached_keeps_running_after_the_call(engine):
    c = engine.containers.run("busybox", ["sleep", "60"], detach=True, network="none")
    try:
        assert c.exec_run(["sh", "-c", "sleep 0.3; echo done > /tmp/flag"], detach=True) == (None, b"")
        for _ in range(60):
            if c.exec_run(["cat", "/tmp/flag"])[1] == b"done\n":
                break
            time.sleep(0.05)
        assert c.exec_run(["cat", "/tmp/flag"]) == (0, b"done\n")
    finally:
        c.remove(force=True)
