"""Network benchmark: attach+release per container, and TCP throughput over the bridge.

    .venv/bin/python bench/bench_network.py [--mib 1024]

Prints the median of 20 attach and of 20 release calls, and MB/s of one transfer
netns->netns over a dockyard bridge, host->published port on 127.0.0.1, and host loopback.
Uses a temporary data root, its own bridge and 198.18.0.0/15 test addresses; removes all.
"""
import argparse
import ipaddress
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from dockyard.engine.network.networks import Networks, parse_publish

SINK = """
import socket, sys
srv = socket.create_server((sys.argv[1], int(sys.argv[2])))
print("ready", flush=True)
conn, _ = srv.accept()
total = 0
while True:
    chunk = conn.recv(1 << 20)
    if not chunk:
        break
    total += len(chunk)
conn.sendall(str(total).encode())
"""

SOURCE = """
import socket, sys, time
size = int(sys.argv[3])
buf = b"x" * (1 << 20)
t = time.perf_counter()
with socket.create_connection((sys.argv[1], int(sys.argv[2]))) as s:
    for _ in range(size // len(buf)):
        s.sendall(buf)
    s.shutdown(socket.SHUT_WR)
    got = int(s.recv(100))
print(got / (time.perf_counter() - t) / 1e6)
"""


def run_in(netns: str | None, code: str, *args) -> list[str]:
    prefix = ["nsenter", f"--net={netns}"] if netns else []
    return [*prefix, sys.executable, "-c", textwrap.dedent(code), *map(str, args)]


def throughput(server_ns, listen, port, client_ns, connect, connect_port, size) -> float:
    sink = subprocess.Popen(run_in(server_ns, SINK, listen, port), stdout=subprocess.PIPE, text=True)
    try:
        assert sink.stdout.readline().strip() == "ready"
        out = subprocess.run(run_in(client_ns, SOURCE, connect, connect_port, size),
                             capture_output=True, text=True, check=True).stdout
        return float(out)
    finally:
        sink.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    size = args.mib << 20
    root = Path(tempfile.mkdtemp(prefix="dockyard-bench-"))
    nets = Networks(root, pool=[ipaddress.IPv4Network("198.18.250.0/24")],
                    default_bridge=f"dyb{secrets.token_hex(2)}")
    try:
        nets.ensure_default()
        attach, release = [], []
        for n in range(args.rounds + 1):
            t0 = time.perf_counter()
            nets.attach(f"bench{n}", "bridge")
            t1 = time.perf_counter()
            nets.release(f"bench{n}")
            t2 = time.perf_counter()
            if n:                       # the first round pays pyroute2's import
                attach.append((t1 - t0) * 1000)
                release.append((t2 - t1) * 1000)
        print(f"attach  median {statistics.median(attach):6.2f} ms  (min {min(attach):.2f}, max {max(attach):.2f})")
        print(f"release median {statistics.median(release):6.2f} ms  (min {min(release):.2f}, max {max(release):.2f})")

        a = nets.attach("srv", "bridge")
        nets.attach("cli", "bridge")
        bridge = throughput(nets.netns_path("srv"), a.ip, 5001, nets.netns_path("cli"), a.ip, 5001, size)
        published = nets.publish("srv", parse_publish("127.0.0.1::5002"))[0].host_port
        dnat = throughput(nets.netns_path("srv"), a.ip, 5002, None, "127.0.0.1", published, size)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            free = probe.getsockname()[1]
        loop = throughput(None, "127.0.0.1", free, None, "127.0.0.1", free, size)
        print(f"TCP {args.mib} MiB netns->netns over bridge: {bridge:8.0f} MB/s ({bridge / loop:.2f} x loopback)")
        print(f"TCP {args.mib} MiB host->published 127.0.0.1: {dnat:7.0f} MB/s ({dnat / loop:.2f} x loopback)")
        print(f"TCP {args.mib} MiB host loopback:             {loop:8.0f} MB/s")
    finally:
        nets.teardown()
        nets.links.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
