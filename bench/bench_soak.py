"""Soak: 1,000 create/start/rm cycles on a bridge network with volumes; what leaks?

    .venv/bin/python bench/bench_soak.py [--cycles 1000]      # root, busybox-static

Each cycle creates a container on a user-defined bridge network with a named volume and an
anonymous one, starts it, and removes it with its anonymous volume: even cycles let it exit on
its own first (the monitor's exit command races the remove), odd ones remove it running
(`rm -f -v`). Every 100 cycles it samples what this data root holds in the kernel (mounts,
links on its bridge, netns files, cgroups of its containers, processes) and the engine
process's open fds and memory. Goal: zero leaks and flat fds and memory. In-process, through
the public API, on a temporary data root that is removed at the end.
"""
import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dockyard.engine import Engine


def sample(engine, ids: list[str]) -> dict:
    """What the data root holds now, and this process's fds and memory."""
    root = str(engine.root)
    with open("/proc/self/mountinfo") as f:
        mounts = sum(root in line for line in f)
    bridges = [n.bridge for n in engine.networks.list()]
    links = sum(len(os.listdir(f"/sys/class/net/{b}/brif"))
                for b in bridges if os.path.isdir(f"/sys/class/net/{b}/brif"))
    netns = len(os.listdir(engine.root / "netns")) if (engine.root / "netns").is_dir() else 0
    cgroups = sum(os.path.isdir(f"/sys/fs/cgroup/{ctrl}/dockyard/{cid}")
                  for ctrl in os.listdir("/sys/fs/cgroup") for cid in ids)
    procs = subprocess.run(["pgrep", "-f", root], capture_output=True, text=True).stdout.split()
    with open("/proc/self/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return {"mounts": mounts, "veths": links, "netns": netns, "cgroups": cgroups,
            "processes": len(procs), "fds": len(os.listdir("/proc/self/fd")), "rss_kib": rss,
            "volumes": len(engine.volumes.list()), "containers": len(os.listdir(
                engine.root / "containers"))}


def cycle(engine, n: int, ids: list[str]) -> None:
    c = engine.containers.create("busybox", ["sh", "-c", "echo $0 > /data/last; sleep 5", str(n)]
                                 if n % 2 else ["sh", "-c", "echo $0 > /data/last", str(n)],
                                 network="soak", volumes=["soak-data:/data", "/scratch"])
    ids.append(c.id)
    c.start()
    if n % 2 == 0:
        c.wait()
    c.remove(force=True, v=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=1000)
    args = parser.parse_args()
    top = Path(tempfile.mkdtemp(prefix="dockyard-soak-"))
    engine = Engine(top / "root")
    try:
        engine.images.bootstrap("busybox")
        engine.networks.create("soak")
        ids: list[str] = []
        cycle(engine, 0, ids)                        # warm-up: the first use imports and builds
        time.sleep(0.5)
        rows = [(0, sample(engine, ids))]
        started = time.monotonic()
        for n in range(1, args.cycles + 1):
            cycle(engine, n, ids)
            if n % 100 == 0 or n == args.cycles:
                time.sleep(0.5)             # the kernel frees namespaces and veths in the background
                rows.append((n, sample(engine, ids)))
                print(f"{n} cycles, {(time.monotonic() - started) / n * 1000:.0f} ms each: "
                      f"{rows[-1][1]}", file=sys.stderr, flush=True)
        report(rows, time.monotonic() - started, args.cycles)
    finally:
        for container in engine.containers.list(all=True):
            container.remove(force=True, v=True)
        engine.networks.teardown()
        shutil.rmtree(top, ignore_errors=True)


def report(rows, seconds: float, cycles: int) -> None:
    keys = list(rows[0][1])
    print(f"soak: {cycles} create/start/rm cycles (bridge network, named + anonymous volume), "
          f"{seconds / cycles * 1000:.0f} ms per cycle; maxrss "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss} KiB\n")
    print("| after cycles | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for n, row in rows:
        print(f"| {n} | " + " | ".join(str(row[k]) for k in keys) + " |")
    first, last = rows[0][1], rows[-1][1]
    leaks = {k: last[k] - first[k] for k in keys if k not in ("rss_kib",) and last[k] != first[k]}
    print(f"\nleaked (last - first): {leaks or 'nothing'}; memory "
          f"{first['rss_kib']} -> {last['rss_kib']} KiB")


if __name__ == "__main__":
    main()
