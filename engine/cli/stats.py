"""`dockyard stats`: Docker's columns (CPU %, MEM USAGE / LIMIT, MEM %, NET I/O, BLOCK I/O,
PIDS), a live table redrawn every half second until interrupted, or one with --no-stream.

CPU % is usage over an interval, as `docker stats` measures it, so every table needs two
samples half a second apart.
"""
import sys
import time

from .format import render_rows
from .rows import StatsRow

INTERVAL_S = 0.5
CLEAR_SCREEN = "\033[2J\033[H"


def stats_entry(container, shown_as: str, before: dict | None, after: dict,
                seconds: float) -> dict:
    """Docker's StatsEntry from two samples `seconds` apart; zeros for a stopped container."""
    if container.status != "running":
        before = after = {}
    cpu = (after.get("cpu_usage_ns") or 0) - ((before or {}).get("cpu_usage_ns") or 0)
    usage, cache = after.get("memory_usage") or 0, after.get("memory_cache") or 0
    memory = usage - cache if cache < usage else usage      # as Docker: without the page cache
    limit = after.get("memory_limit") or 0
    return {
        "Container": shown_as, "Name": container.record["Name"], "ID": container.id,
        "CPUPercentage": 100.0 * cpu / (seconds * 1e9) if before and seconds > 0 else 0.0,
        "Memory": float(memory), "MemoryLimit": float(limit),
        "MemoryPercentage": 100.0 * memory / limit if limit else 0.0,
        "NetworkRx": float(after.get("net_rx") or 0), "NetworkTx": float(after.get("net_tx") or 0),
        "BlockRead": float(after.get("block_read") or 0),
        "BlockWrite": float(after.get("block_write") or 0),
        "PidsCurrent": after.get("pids") or 0,
    }


def _sample(container) -> dict:
    return container.stats() if container.status == "running" else {}


def run(engine, names: list[str], *, all: bool, stream: bool, source: str | None,
        trunc: bool, out=None) -> int:
    """Print the table (once, or redrawn until Ctrl-C when `stream`)."""
    out = out or sys.stdout
    source = source or "table"
    template = StatsRow.TABLE if source == "table" else source
    fixed = [engine.containers.get(name) for name in names]

    def targets():
        if fixed:
            return [(c, name) for c, name in zip(fixed, names)]
        return [(c, c.short_id) for c in engine.containers.list(all=all)]

    shown = targets()
    before, started = {c.id: _sample(c) for c, _ in shown}, time.monotonic()
    while True:
        time.sleep(INTERVAL_S)
        if not fixed:
            shown = targets()
        after, now = {c.id: _sample(c) for c, _ in shown}, time.monotonic()
        rows = [StatsRow(stats_entry(c, as_, before.get(c.id), after[c.id], now - started),
                         trunc=trunc) for c, as_ in shown]
        text = render_rows(template, rows, StatsRow.HEADERS)
        out.write(text if not stream else CLEAR_SCREEN + text)
        out.flush()
        if not stream:
            return 0
        before, started = after, now
