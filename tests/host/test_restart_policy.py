"""Restart policies, carried out by the container's monitor with no engine process running:
Docker's doubling back-off, RestartCount, stop and kill for good, the network kept across
restarts, and what comes back after a reboot of the engine host."""
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time

from dockyard.engine import Engine
from dockyard.engine.cli.main import main
from dockyard.engine.image.model import parse_time
from dockyard.engine.runtime import process

DOCKYARD = [sys.executable, "-m", "dockyard.engine.cli"]


def cli(engine, *argv) -> str:
    done = subprocess.run([*DOCKYARD, "--data-root", str(engine.root), *argv], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def ps(engine, *argv) -> str:
    """`dockyard ps` in this process: a new one takes longer than a restart's back-off."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["--data-root", str(engine.root), "ps", *argv]) == 0
    return out.getvalue()


def until(check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_on_failure_restarts_n_times_with_a_doubling_delay_and_no_engine_running(engine):
    # `run -d` returns at once: every restart below is the monitor's own
    cid = cli(engine, "run", "-d", "--network", "none", "--restart", "on-failure:3", "busybox",
              "sh", "-c", "echo run; exit 3").strip()
    container = engine.containers.get(cid)
    assert container.wait(timeout=30)["StatusCode"] == 3
    entries = list(process.logs(str(container.bundle)))
    assert [e.data for e in entries] == [b"run\n"] * 4           # the start and three restarts
    times = [parse_time(e.time) for e in entries]
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    assert [round(g, 1) >= d for g, d in zip(gaps, (0.1, 0.2, 0.4))] == [True] * 3, gaps
    attrs = container.attrs
    assert attrs["RestartCount"] == 3
    assert attrs["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert (attrs["State"]["Status"], attrs["State"]["ExitCode"]) == ("exited", 3)
    # the monitor's events: each run a start and a die, as Docker's
    actions = [e["Action"] for e in map(json.loads, (engine.root / "events.jsonl").read_text()
                                        .splitlines()) if e["id"] == cid]
    assert [a for a in actions if a in ("start", "die")] == ["start", "die"] * 4
    container.remove()


def test_an_attached_run_returns_at_the_first_exit_and_the_policy_goes_on(engine):
    done = subprocess.run([*DOCKYARD, "--data-root", str(engine.root), "run", "--name", "att",
                           "--restart", "on-failure:2", "busybox", "sh", "-c", "echo run; exit 4"],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (4, "run\n"), done.stderr   # as Docker's next-exit
    container = engine.containers.get("att")
    assert container.wait(timeout=30)["StatusCode"] == 4
    assert container.attrs["RestartCount"] == 2
    container.remove()


def test_always_restarts_until_stopped_and_a_start_undoes_the_stop(engine):
    container = engine.containers.run("busybox", ["sh", "-c", "sleep 0.1"], detach=True,
                                      network_mode="none", restart_policy={"Name": "always"})
    monitor = container.state.monitor
    until(lambda: container.attrs["RestartCount"] >= 2)
    assert container.state.monitor == monitor                  # one monitor did every restart
    container.stop(timeout=2)
    count = container.attrs["RestartCount"]
    time.sleep(1.0)                                             # past any back-off so far
    attrs = container.attrs
    assert (attrs["State"]["Status"], attrs["RestartCount"]) == ("exited", count)
    container.start()                                           # the policy applies again
    assert container.attrs["RestartCount"] == 0
    until(lambda: container.attrs["RestartCount"] >= 1)
    container.kill()                                            # as stop: for good
    until(lambda: container.status == "exited")
    time.sleep(0.5)
    assert container.status == "exited"
    container.remove()


def test_stop_and_rm_of_a_container_waiting_to_restart(engine):
    container = engine.containers.run("busybox", ["false"], detach=True, network_mode="none",
                                      restart_policy={"Name": "unless-stopped"})
    # its fifth restart waits 1.6 s: long enough to look at it
    until(lambda: container.state.restart_count >= 5 and container.status == "restarting", timeout=20)
    attrs = container.attrs
    assert attrs["State"]["Restarting"] and attrs["State"]["Running"] and attrs["State"]["Pid"] == 0
    assert "Restarting (1)" in ps(engine)
    assert ps(engine, "-q", "--filter", "status=restarting").split() == [container.short_id]
    assert container.stop(timeout=2).status == "exited"
    container.start()
    until(lambda: container.status == "restarting", timeout=10)
    container.remove(force=True)
    assert not container.bundle.exists()


def test_update_restart_reaches_the_running_monitor(engine):
    container = engine.containers.run("busybox", ["sh", "-c", "sleep 0.5"], detach=True,
                                      network_mode="none")
    cli(engine, "update", "--restart", "always", container.id)
    container.reload()
    assert container.attrs["HostConfig"]["RestartPolicy"]["Name"] == "always"
    until(lambda: container.attrs["RestartCount"] >= 1)      # its monitor took the new policy
    container.update(restart_policy={"Name": "no"})
    until(lambda: container.status == "exited", timeout=10)
    container.remove()


def test_the_network_stays_across_restarts(engine):
    script = "ip -4 -o addr show eth0 | awk '{print $4}'; readlink /proc/self/ns/net; sleep 0.2"
    container = engine.containers.run("busybox", ["sh", "-c", script], detach=True,
                                      restart_policy={"Name": "always"})
    until(lambda: container.attrs["RestartCount"] >= 2)
    container.stop(timeout=1)
    runs = b"".join(e.data for e in process.logs(str(container.bundle))).decode().split("\n")
    address, netns = runs[0], runs[1]
    assert runs[:-1] == [address, netns] * (len(runs) // 2), runs
    assert address.split("/")[0] == container.attrs["NetworkSettings"]["IPAddress"]
    container.remove()


def _reboot(engine, containers) -> None:
    """What a reboot leaves: every monitor and container process gone, an older boot id."""
    for container in containers:
        state = container.state
        if state.status == "running":
            os.kill(state.monitor, signal.SIGKILL)
            for proc in process.top(str(container.bundle)):
                os.kill(proc["pid"], signal.SIGKILL)
            until(lambda: not process.top(str(container.bundle)))
        path = container.bundle / "state.json"
        record = json.loads(path.read_text())
        path.write_text(json.dumps({**record, "boot_id": "an-earlier-boot"}))
    (engine.root / "boot_id").write_text("an-earlier-boot\n")


def test_after_a_reboot_the_policies_say_what_comes_back(engine):
    made = {}
    for name, policy, command in (
            ("rb-always", "always", "sleep 100"), ("rb-stopped", "unless-stopped", "sleep 100"),
            ("rb-unless", "unless-stopped", "sleep 100"), ("rb-done", "on-failure", "true"),
            ("rb-failing", "on-failure", "sleep 100"), ("rb-no", "no", "sleep 100")):
        made[name] = engine.containers.run("busybox", command.split(), detach=True, name=name,
                                           network_mode="none", restart_policy={"Name": policy})
    made["rb-stopped"].stop(timeout=0)
    made["rb-done"].wait(timeout=10)
    _reboot(engine, made.values())
    assert sorted(cli(engine, "system", "start").split()) == ["rb-always", "rb-failing", "rb-unless"]
    assert cli(engine, "system", "start") == ""            # once per boot
    status = {name: Engine(engine.root).containers.get(name).status for name in made}
    assert status == {"rb-always": "running", "rb-stopped": "exited", "rb-unless": "running",
                      "rb-done": "exited", "rb-failing": "running", "rb-no": "dead"}
    for container in made.values():
        container.remove(force=True)


def test_system_check_and_recovery_leave_a_restarting_container_its_network(engine):
    container = engine.containers.run("busybox", ["false"], detach=True,
                                      restart_policy={"Name": "always"})
    netns = engine.root / "netns" / container.id
    # its fourth restart waits 0.8 s, the ones after longer: checks run between two runs
    until(lambda: container.state.restart_count >= 4 and container.status == "restarting",
          timeout=20)
    assert cli(engine, "system", "check").strip().endswith(": ok")
    Engine(engine.root).containers.list(all=True)       # a new engine's recovery
    assert netns.exists() and container.status in ("restarting", "running")
    until(lambda: container.status == "restarting", timeout=10)
    os.kill(container.state.monitor, signal.SIGKILL)     # its monitor dies between two runs
    until(lambda: container.status == "dead", timeout=5)
    found = subprocess.run([*DOCKYARD, "--data-root", str(engine.root), "system", "check"],
                           capture_output=True, text=True, timeout=60)
    assert found.returncode == 1 and f"container {container.short_id}: its monitor died" \
        in found.stdout, found.stdout
    # the next engine use settles it (as check --repair would): exited, its network given back
    assert "Exited (137)" in cli(engine, "ps", "-a", "--filter", f"id={container.id}")
    assert container.status == "exited" and not netns.exists()
    assert cli(engine, "system", "check").strip().endswith(": ok")
    container.remove()
