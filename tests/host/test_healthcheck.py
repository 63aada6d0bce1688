"""HEALTHCHECK, probed by the container's monitor: State.Health as Docker shows it, the health
in `ps`, start period, retries, timeouts, the image's HEALTHCHECK and --no-healthcheck."""
import json
import subprocess
import sys
import time

import pytest

DOCKYARD = [sys.executable, "-m", "dockyard.engine.cli"]
FAST = 100_000_000      # 100 ms in ns


def until(check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
    return found


def commands(container) -> list[str]:
    """The CMD column of `docker top`."""
    top = container.top()
    return [row[top["Titles"].index("CMD")] for row in top["Processes"]]


def health(container) -> dict:
    return container.attrs["State"].get("Health") or {}


@pytest.fixture
def run(engine):
    made = []

    def run(command, **kwargs):
        container = engine.containers.run("busybox", command, detach=True, network_mode="none",
                                          **kwargs)
        made.append(container)
        return container
    yield run
    for container in made:
        container.remove(force=True)


def test_a_passing_check_makes_it_healthy_in_inspect_and_ps(engine, run):
    container = run(["sleep", "60"], healthcheck={"test": ["CMD", "echo", "fine"], "interval": FAST})
    first = until(lambda: len(health(container).get("Log", [])) == 5 and health(container))
    state = until(lambda: (h := health(container))["Log"][0] != first["Log"][0] and h)  # a sixth
    assert (state["Status"], state["FailingStreak"]) == ("healthy", 0)
    assert len(state["Log"]) == 5                                    # the last five, as Docker
    last = state["Log"][-1]
    assert (last["ExitCode"], last["Output"]) == (0, "fine\n") and last["Start"] < last["End"]
    ps = subprocess.run([*DOCKYARD, "--data-root", str(engine.root), "ps"], capture_output=True,
                        text=True).stdout
    assert "(healthy)" in next(row for row in ps.splitlines() if container.short_id in row)
    for wanted, shown in (("healthy", [container.short_id]), ("unhealthy", []), ("none", [])):
        ids = subprocess.run([*DOCKYARD, "--data-root", str(engine.root), "ps", "-q", "--filter",
                              f"health={wanted}", "--filter", f"id={container.id}"],
                             capture_output=True, text=True).stdout.split()
        assert ids == shown, (wanted, ids)
    container.stop(timeout=0)
    assert health(container)["Status"] == "unhealthy"               # as Docker, once stopped
    events = [json.loads(line) for line in (engine.root / "events.jsonl").read_text().splitlines()]
    assert "health_status: healthy" in [e["Action"] for e in events if e["id"] == container.id]


def test_failures_count_after_the_start_period_then_retries_make_it_unhealthy(run):
    container = run(["sleep", "60"], healthcheck={
        "test": "echo sick; exit 1", "interval": FAST, "start_interval": FAST, "retries": 2,
        "start_period": 2_000_000_000})
    state = until(lambda: (h := health(container)) and len(h["Log"]) >= 2 and h)
    assert (state["Status"], state["FailingStreak"]) == ("starting", 0)   # in the start period
    state = until(lambda: (h := health(container))["Status"] == "unhealthy" and h)
    assert state["FailingStreak"] >= 2
    assert {(r["ExitCode"], r["Output"]) for r in state["Log"]} == {(1, "sick\n")}


def test_a_probe_over_its_timeout_is_killed_and_fails(engine, run):
    container = run(["sleep", "60"], healthcheck={"test": "echo started; sleep 30",
                                                  "interval": FAST, "timeout": 300_000_000})
    first = until(lambda: health(container).get("Log"))[0]
    assert first["ExitCode"] == -1
    assert first["Output"] == "Health check exceeded timeout (300ms): started\n"
    # the probe's shell and its sleep are gone from the container
    until(lambda: commands(container) == ["sleep 60"] or None, timeout=5)


def test_long_output_keeps_its_first_4096_bytes(run):
    container = run(["sleep", "60"], healthcheck={"test": "head -c 5000 /dev/zero | tr '\\0' x",
                                                  "interval": FAST})
    output = until(lambda: health(container).get("Log"))[0]["Output"]
    assert output == "x" * 4096 + "..."


def test_the_images_healthcheck_and_no_healthcheck(engine, run):
    engine.images.build("FROM busybox\nHEALTHCHECK --interval=100ms CMD echo from-image\n",
                        tag="monitor-health:1")
    container = engine.containers.run("monitor-health:1", ["sleep", "60"], detach=True,
                                      network_mode="none")
    try:
        assert until(lambda: health(container).get("Status") == "healthy")
        assert health(container)["Log"][0]["Output"] == "from-image\n"
        assert container.attrs["Config"]["Healthcheck"]["Test"] == ["CMD-SHELL", "echo from-image"]
    finally:
        container.remove(force=True)
    plain = run(["sleep", "60"], healthcheck={"test": ["NONE"]})
    time.sleep(0.3)
    assert "Health" not in plain.attrs["State"]
    assert not (plain.bundle / "health.json").exists()
    engine.images.remove("monitor-health:1")


def test_a_probe_cut_off_by_the_exit_is_no_failure(engine):
    # each container exits as its probe is due: the probe finds no container to join, which
    # Docker drops (no result, no FailingStreak); the stopped container shows "unhealthy"
    dockyard = [*DOCKYARD, "--data-root", str(engine.root)]
    ids = [subprocess.run([*dockyard, "run", "-d", "--network", "none", "--health-cmd", "true",
                           "--health-interval", "1s", "busybox", "sleep", "1"], check=True,
                          capture_output=True, text=True).stdout.strip() for _ in range(4)]
    try:
        subprocess.run([*dockyard, "wait", *ids], check=True, capture_output=True, timeout=30)
        shown = subprocess.run([*dockyard, "inspect", "-f", "{{json .State.Health}}", *ids],
                               check=True, capture_output=True, text=True).stdout
        for state in map(json.loads, shown.splitlines()):
            assert state["Status"] == "unhealthy" and state["FailingStreak"] == 0, state
            assert all(r["ExitCode"] == 0 for r in state["Log"]), state
    finally:
        subprocess.run([*dockyard, "rm", "-f", *ids], capture_output=True)


def test_the_container_widget_shows_the_health(run):
    from dockyard.extension.container_widget import ContainerView
    container = run(["sleep", "60"], healthcheck={"test": "exit 1", "interval": FAST, "retries": 1})
    view = ContainerView(container, autostart=False, log_tail=0)
    try:
        until(lambda: health(container).get("Status") == "unhealthy")
        view.refresh()
        assert view.health == "unhealthy" and "dy-health-unhealthy" in view.header.value
    finally:
        view.close()
