"""Embedded DNS benchmark: dockyard's server at 127.0.0.11 beside Docker's, in the same run.

    .venv/bin/python bench/bench_dns.py [--rounds 20] [--queries 500] [--no-docker]

- Lookup latency from inside a container's network namespace, one UDP query at a time to
  127.0.0.11: another container's name (answered by the server itself), and a name forwarded
  to an upstream on the network's gateway (a fake server of ours, the same for both: there is
  no internet here). The same queries go to dockerd's embedded DNS (Debian's docker.io with a
  private root and socket: peers.Docker, no docker0, no iptables on the host).
- What the server costs a container's start: `run --rm busybox true` on a user network with the
  server and with `--dns 127.0.0.1` (which turns it off), interleaved.
- Its memory (PSS) beside its container's monitor, 10 containers running, and a Python
  interpreter's floor: what a resolver written in Python would cost at least.
Uses temporary data roots and 198.18.0.0/15 test addresses; removes all.
"""
import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "host"))
import peers  # noqa: E402
from common import (PREFIX, Figure, HostUndo, make_busybox_tarball, markdown_table,  # noqa: E402
                    pids_matching, pss_kb, unmount_under)
from dns_wire import FakeUpstream, in_netns, parse, query  # noqa: E402

OURS, THEIRS = "198.18.251.0/24", "198.19.252.0/24"     # the two user networks' subnets
FORWARDED = "external.bench.test"


def lookups(netns: str, names: dict[str, str], count: int) -> dict[str, Figure]:
    """{label: median microseconds} of `count` UDP queries for each name, one at a time, from
    inside `netns` to 127.0.0.11 (after 10 untimed ones); every answer must have an address."""
    import socket
    figures = {}
    with in_netns(netns) as sock:
        s = sock(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(5)
        s.connect(("127.0.0.11", 53))
        for label, name in names.items():
            msg, times = query(name), []
            for n in range(count + 10):
                t = time.perf_counter()
                s.send(msg)
                reply = s.recv(4096)
                if n >= 10:
                    times.append((time.perf_counter() - t) * 1e6)
            if not parse(reply)["answers"]:
                raise RuntimeError(f"no address for {name}: {parse(reply)}")
            times.sort()
            figures[label] = Figure(statistics.median(times), "us",
                                    f"median of {count}, p90 {times[len(times) * 9 // 10]:.0f} us")
    return figures


def dockyard(rounds: int, queries: int) -> dict:
    """Lookups, start cost and memory of dockyard's embedded DNS server."""
    from dockyard.engine import Engine
    root = Path(tempfile.mkdtemp(prefix=f"{PREFIX}-dns-")) / "root"
    engine = Engine(root)
    engine.images.bootstrap("busybox")
    net = f"dybdns{secrets.token_hex(3)}"
    engine.networks.create(net, subnet=OURS)
    gateway = engine.networks.get(net).gateway
    upstream = FakeUpstream(gateway, {FORWARDED: "192.0.2.7"})
    try:
        target = engine.containers.run("busybox", ["sleep", "600"], detach=True, network=net)
        client = engine.containers.run("busybox", ["sleep", "600"], detach=True, network=net,
                                       dns=[gateway])
        figures = lookups(str(root / "netns" / client.id),
                          {"name": target.name, "forwarded": FORWARDED}, queries)
        figures.update(start_cost(engine, net, rounds))
        figures["pss"], figures["monitor pss"] = memory(engine, root, net)
        return figures
    finally:
        upstream.close()
        for c in engine.containers.list(all=True):
            c.remove(force=True)
        engine.networks.teardown()
        shutil.rmtree(root.parent, ignore_errors=True)


def start_cost(engine, net: str, rounds: int) -> dict[str, Figure]:
    """run --rm on the user network with the server and without (a loopback --dns)."""
    timings = {"start with": [], "start without": []}
    for n in range(rounds + 1):
        for label, dns in zip(timings, ([], ["127.0.0.1"])):
            t = time.perf_counter()
            engine.containers.run("busybox", ["true"], remove=True, network=net, dns=dns)
            if n:                       # the first round pays imports and the shim's build
                timings[label].append(time.perf_counter() - t)
    return {label: Figure.timed(seconds) for label, seconds in timings.items()}


def memory(engine, root: Path, net: str) -> tuple[Figure, Figure]:
    """Median PSS of the servers and of their containers' monitors, 10 containers running."""
    sleepers = [engine.containers.run("busybox", ["sleep", "600"], detach=True, network=net)
                for _ in range(10)]
    servers = pids_matching("dockyard-dns", str(root))
    monitors = [c.state.monitor for c in sleepers]
    if len(servers) < len(sleepers):
        raise RuntimeError(f"{len(servers)} DNS servers for {len(sleepers)} containers")
    return tuple(Figure(statistics.median(pss_kb(p) for p in pids), "KiB",
                        f"median of {len(pids)}") for pids in (servers, monitors))


def python_floor() -> Figure:
    """The PSS of `python -S` with socket and select imported: any Python resolver's least."""
    code = ("import socket, select, sys; sys.stdout.write('up\\n'); sys.stdout.flush(); "
            "sys.stdin.read()")
    pss = []
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-S", "-c", code], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        proc.stdout.readline()
        pss.append(pss_kb(proc.pid))
        proc.communicate("")
    return Figure(statistics.median(pss), "KiB", "median of 3")


class UserNetworkDocker(peers.Docker):
    """dockerd without its default bridge: no docker0 another run could be using."""

    bridge_args = ("--bridge", "none")


def docker(queries: int) -> dict[str, Figure]:
    """The same lookups against dockerd's embedded DNS, on a user network of its own."""
    peer = UserNetworkDocker()
    why = peer.missing()
    if why:
        return {k: Figure.missing(f"dockerd {why}", "us") for k in ("name", "forwarded")}
    work = Path(tempfile.mkdtemp(prefix=f"{PREFIX}-dns-docker-"))
    undo, gateway, net = HostUndo(), THEIRS.replace(".0/24", ".1"), "dybdns"
    try:
        peer.start(work, make_busybox_tarball(work / "busybox.tar", work))
        peer.docker("network", "create", "--subnet", THEIRS, "--gateway", gateway, net)
        upstream = FakeUpstream(gateway, {FORWARDED: "192.0.2.7"})
        try:
            peer.docker("run", "-d", "--network", net, "--name", "target", "busybox",
                        "sleep", "600")
            cid = peer.docker("run", "-d", "--network", net, "--dns", gateway, "busybox",
                              "sleep", "600").strip()
            pid = peer.docker("inspect", "-f", "{{.State.Pid}}", cid).strip()
            return lookups(f"/proc/{pid}/ns/net", {"name": "target", "forwarded": FORWARDED},
                           queries)
        finally:
            upstream.close()
            peer.docker("rm", "-f", *peer.docker("ps", "-aq").split())
            peer.docker("network", "rm", net)
    finally:
        peer.stop()
        undo.undo()
        unmount_under(work)
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--no-docker", action="store_true", help="skip dockerd")
    args = parser.parse_args()
    if os.geteuid():
        sys.exit("bench_dns.py needs root (namespaces, nftables)")
    ours = dockyard(args.rounds, args.queries)
    theirs = ({k: Figure.missing("--no-docker", "us") for k in ("name", "forwarded")}
              if args.no_docker else docker(args.queries))
    for key, title in (("name", "a container's name at 127.0.0.11 (UDP, one at a time)"),
                       ("forwarded", "a name forwarded to an upstream on the gateway")):
        print(markdown_table(title, {"dockyard": ours[key], "dockerd": theirs[key]}))
    print(markdown_table("`run --rm busybox true` on a user network, interleaved",
                         {"with the embedded DNS server": ours["start with"],
                          "without (--dns 127.0.0.1)": ours["start without"]}))
    print(markdown_table("memory (PSS), 10 containers running",
                         {"dockyard's DNS server, each": ours["pss"],
                          "its container's monitor": ours["monitor pss"],
                          "a Python resolver's floor (python -S)": python_floor()}))


if __name__ == "__main__":
    main()
