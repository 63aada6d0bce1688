"""Nothing outlives its container: the CLI as a Docker user drives it, and what the kernel and
the data root hold afterwards (names, addresses, ports, DNAT rules, netns files, veths,
volumes, bridges, build containers).

Each test has its own data root (so its own bridge and nftables table) and free host ports.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from dockyard.engine import Engine
from dockyard.engine.network.upkeep import IDLE_S

DOCKYARD = [sys.executable, "-m", "dockyard.engine.cli"]


def cli(root, *args, check=True, timeout=60):
    done = subprocess.run([*DOCKYARD, "--data-root", str(root), *args], capture_output=True,
                          text=True, timeout=timeout)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return s.getsockname()[1]


def until(condition, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def ghosts(root) -> dict:
    """What is held for containers that are not running (or don't exist): names without a
    container, netns files, published ports, endpoints, DNAT rules, veths."""
    engine = Engine(root)
    running = {c.id for c in engine.containers.list()}
    existing = {c.id for c in engine.containers.list(all=True)}
    names = root / "names"
    found = {
        "names": [n for n in (os.listdir(names) if names.is_dir() else [])
                  if os.readlink(names / n) not in existing],
        "netns": [n for n in (os.listdir(root / "netns") if (root / "netns").is_dir() else [])
                  if n not in running],
        "ports": [p.stem for p in (root / "networks" / "ports").glob("*.json")
                  if p.stem not in running],
        "endpoints": [cid for n in engine.networks.list() for cid in n.endpoints
                      if cid not in running],
    }
    rules = subprocess.run(["nft", "list", "chain", "ip", engine.networks.table, "ports"],
                           capture_output=True, text=True).stdout
    published = sum(len(engine.networks.ports(cid)) for cid in running)
    found["dnat"] = rules.count(" dnat to ") - published
    brif = f"/sys/class/net/{engine.networks.default_bridge}/brif"
    veths = len(os.listdir(brif)) if os.path.isdir(brif) else 0
    found["veths"] = veths - sum(1 for cid in running if engine.networks.endpoints(cid))
    return {k: v for k, v in found.items() if v}


@pytest.fixture
def root(tmp_path):
    root = tmp_path / "root"
    Engine(root).images.bootstrap("busybox")
    yield root
    engine = Engine(root)
    for container in engine.containers.list(all=True):
        container.remove(force=True)
    engine.networks.teardown()


def test_run_detached_rm_goes_after_its_exit_with_no_engine_alive(root):
    port = free_port()
    cli(root, "run", "-d", "--rm", "--name", "rmd", "-p", f"{port}:80", "busybox", "sleep", "0.3")
    until(lambda: not (root / "names" / "rmd").is_symlink())     # the CLI exited long ago
    until(lambda: not ghosts(root))
    assert "No such container" in cli(root, "rm", "-f", "rmd", check=False).stderr
    cli(root, "run", "-d", "--rm", "--name", "rmd", "-p", f"{port}:80", "busybox", "sleep", "60")
    cli(root, "stop", "-t", "1", "rmd")                         # stopped: removed as well
    assert not (root / "names" / "rmd").is_symlink() and not ghosts(root)
    cli(root, "run", "-d", "--rm", "--name", "rmd", "-p", f"{port}:80", "busybox", "true")
    until(lambda: not (root / "names" / "rmd").is_symlink())
    until(lambda: not ghosts(root))


def test_an_exited_container_gives_back_its_port_and_network_and_takes_them_again(root):
    port = free_port()
    # the first run exits at once; when started again it stays up
    again = "test -e /again && exec sleep 60; touch /again"
    cli(root, "run", "-d", "--name", "first", "-p", f"{port}:80", "busybox", "sh", "-c", again)
    until(lambda: not (root / "netns").is_dir() or not os.listdir(root / "netns"))
    assert not ghosts(root)
    inspect = "{{.NetworkSettings.IPAddress}}|{{json .NetworkSettings.Ports}}"
    assert cli(root, "inspect", "-f", inspect, "first").stdout.strip().replace(" ", "") == "|{}"
    cli(root, "run", "-d", "--name", "second", "-p", f"{port}:80", "busybox", "sleep", "60")
    taken = cli(root, "start", "first", check=False)
    assert taken.returncode != 0 and "already published" in taken.stderr
    assert cli(root, "inspect", "-f", inspect, "first").stdout.strip().replace(" ", "") == "|{}"
    cli(root, "rm", "-f", "second")
    cli(root, "start", "first")
    address, ports = cli(root, "inspect", "-f", inspect, "first").stdout.strip().split("|")
    assert address and json.loads(ports)["80/tcp"][0]["HostPort"] == str(port)
    assert not ghosts(root) and os.listdir(root / "netns") == [cli(
        root, "inspect", "-f", "{{.Id}}", "first").stdout.strip()]
    cli(root, "stop", "-t", "0", "first")
    assert not ghosts(root) and os.listdir(root / "netns") == []


def test_a_stopped_container_joins_a_network_connected_to_it_when_it_starts(root):
    cli(root, "network", "create", "later")
    again = "test -e /again && exec sleep 60; touch /again"      # up when started again
    cli(root, "run", "-d", "--name", "stopped", "busybox", "sh", "-c", again)
    until(lambda: not os.listdir(root / "netns"))
    cli(root, "network", "connect", "--alias", "svc", "later", "stopped")
    assert not ghosts(root) and not os.listdir(root / "netns")     # nothing taken while stopped
    nets = "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}} {{end}}"
    assert cli(root, "inspect", "-f", nets, "stopped").stdout.split() == ["bridge=", "later="]
    cli(root, "start", "stopped")
    joined = dict(x.split("=") for x in cli(root, "inspect", "-f", nets, "stopped").stdout.split())
    assert joined.keys() == {"bridge", "later"} and all(joined.values()), joined
    aliases = cli(root, "inspect", "-f", "{{json .NetworkSettings.Networks.later.Aliases}}",
                  "stopped").stdout
    assert "svc" in json.loads(aliases)
    cli(root, "rm", "-f", "stopped")
    cli(root, "network", "rm", "later")


def test_killed_run_and_rm_leave_no_reservation_behind(root):
    engine = Engine(root)
    for n, delay in enumerate((0.1, 0.2, 0.3, 0.45)):
        run = subprocess.Popen([*DOCKYARD, "--data-root", str(root), "run", "-d", "--name",
                                f"k{n}", "-p", "80", "busybox", "sleep", "30"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        run.send_signal(signal.SIGKILL)
        run.wait()
    for delay in (0.3, 0.45, 0.6):
        c = engine.containers.create("busybox", ["sleep", "30"], ports=["80"], volumes=["/v"])
        c.start()
        rm = subprocess.Popen([*DOCKYARD, "--data-root", str(root), "rm", "-f", "-v", c.id],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        rm.send_signal(signal.SIGKILL)
        rm.wait()
    cli(root, "ps", "-a")                                   # the next engine use settles
    assert not ghosts(root)
    for n in range(4):                                      # each name is free or a container
        cli(root, "rm", "-f", f"k{n}", check=False)
        cli(root, "run", "-d", "--name", f"k{n}", "-p", "80", "busybox", "true")
    listed = cli(root, "ps", "-a", "-q", "--no-trunc").stdout.split()
    assert sorted(listed) == sorted(p.name for p in (root / "containers").iterdir())


def test_run_rm_takes_its_anonymous_volume_along(root):
    cli(root, "run", "--rm", "--network", "none", "-v", "/data", "busybox", "true")
    assert cli(root, "volume", "ls", "-q").stdout == ""
    cli(root, "run", "-d", "--rm", "--network", "none", "-v", "/data", "busybox", "true")
    until(lambda: not os.listdir(root / "containers"))
    assert cli(root, "volume", "ls", "-q").stdout == ""
    cli(root, "run", "--name", "keeps", "--network", "none", "-v", "/data", "-v", "named:/n",
        "busybox", "true")
    cli(root, "rm", "keeps")                                # without -v: Docker keeps them
    assert len(cli(root, "volume", "ls", "-q").stdout.split()) == 2


def test_network_container_shares_the_hostname(root):
    cli(root, "run", "-d", "--name", "holder", "--hostname", "shared-host", "busybox",
        "sleep", "30")
    out = cli(root, "run", "--rm", "--network", "container:holder", "busybox", "hostname")
    assert out.stdout.strip() == "shared-host"
    conflict = cli(root, "run", "--rm", "--network", "container:holder", "-h", "x", "busybox",
                   "true", check=False)
    assert "conflicting options: hostname and the network mode" in conflict.stderr


def test_a_killed_build_stops_its_run_step_and_leaves_no_container(root, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN sleep 41.5\n")
    build = subprocess.Popen([*DOCKYARD, "--data-root", str(root), "build", "-q", str(ctx)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    until(lambda: _pids_of("sleep 41.5"), timeout=30)
    build.send_signal(signal.SIGKILL)
    build.wait()
    until(lambda: not _pids_of("sleep 41.5"), timeout=5)     # the step died with its builder
    cli(root, "images")                                      # the next engine use
    assert list((root / "containers").iterdir()) == []


def _pids_of(cmdline: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if f.read().replace(b"\0", b" ").strip() == cmdline.encode():
                    found.append(int(pid))
        except OSError:
            continue
    return found


def _bridge_exists(name: str) -> bool:
    return os.path.exists(f"/sys/class/net/{name}")


def _table_exists(table: str) -> bool:
    return subprocess.run(["nft", "list", "table", "ip", table], capture_output=True).returncode == 0


def test_the_default_bridge_goes_once_unused_and_comes_back(root):
    cli(root, "run", "--rm", "busybox", "true")
    nets = Engine(root).networks
    bridge, table = nets.default_bridge, nets.table
    assert _bridge_exists(bridge) and _table_exists(table)
    record = next((root / "networks").glob("*.json"))
    old = time.time() - IDLE_S - 1
    os.utime(record, (old, old))                            # unused for longer than IDLE_S
    cli(root, "ps")                                         # the next engine use retires it
    assert not _bridge_exists(bridge) and not _table_exists(table)
    cli(root, "run", "-d", "--name", "back", "busybox", "sleep", "30")
    assert _bridge_exists(bridge) and _table_exists(table)
    cli(root, "rm", "-f", "back")
    cli(root, "network", "prune", "-f")                     # prune: at once
    assert not _bridge_exists(bridge) and not _table_exists(table)


def test_a_deleted_data_root_leaves_no_bridge_behind(tmp_path, root):
    doomed = tmp_path / "doomed"
    cli(doomed, "image", "bootstrap", "busybox")
    cli(doomed, "run", "--rm", "busybox", "true")
    nets = Engine(doomed).networks
    bridge, table = nets.default_bridge, nets.table
    assert _bridge_exists(bridge)
    subprocess.run(["rm", "-rf", str(doomed)], check=True)  # by hand, engine never told
    cli(root, "network", "create", "after")                 # another root's next network
    assert not _bridge_exists(bridge) and not _table_exists(table)
    cli(root, "network", "rm", "after")
