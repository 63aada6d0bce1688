"""Read a container's log: Docker json-file lines {"log","stream","time"} written by the shim.

    for entry in read(bundle, tail=10):
        print(entry.stream, entry.time, entry.data)
"""
import collections
import datetime
import json
import os
import time
from dataclasses import dataclass
from typing import Callable, Iterator


@dataclass(frozen=True)
class LogEntry:
    """One chunk of output: a line with its newline, or a last line without one."""

    stream: str      # "stdout" | "stderr"
    time: str        # RFC 3339, UTC, nanoseconds: "2026-11-28T02:46:38.898162397Z"
    data: bytes


def open_log(bundle: str, *, at_end: bool = True):
    """The log as a binary file (made empty if the container never ran), positioned at its
    end: held open, it keeps every line the container writes from now on readable, even once
    the container is removed (docker run --rm attaches before the start)."""
    fd = os.open(os.path.join(bundle, "container.log"), os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC,
                 0o640)
    f = os.fdopen(fd, "rb")
    if at_end:
        f.seek(0, os.SEEK_END)
    return f


def _since(value) -> str:
    """A comparable RFC 3339 string from a datetime, a Unix timestamp or such a string."""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime.datetime):
        value = value.timestamp()
    whole = int(value)
    frac = round((value - whole) * 1e9)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{frac:09d}Z"


def _parse(raw: bytes) -> LogEntry:
    # surrogateescape keeps bytes that are not UTF-8 exactly as the container wrote them
    entry = json.loads(raw.decode("utf-8", "surrogateescape"))
    return LogEntry(entry["stream"], entry["time"], entry["log"].encode("utf-8", "surrogateescape"))


def read(bundle: str, *, follow: bool = False, tail: int | None = None, since=None, until=None,
         running: Callable[[], bool] = lambda: False, poll: float = 0.05,
         pause: Callable[[float], object] = time.sleep, file=None) -> Iterator[LogEntry]:
    """Entries of <bundle>/container.log (or of `file`, the log opened earlier, from where it
    stands), written at `since` or later, at `until` or earlier; with follow, keeps reading
    while `running()`.

    `pause(poll)` waits between reads; the engine passes a wait on the container's exit, so a
    follower sees the end at once instead of after a poll interval.
    """
    path = os.path.join(bundle, "container.log")
    cutoff = _since(since) if since is not None else None
    end = _since(until) if until is not None else None

    def wanted(entry: LogEntry) -> bool:
        return (cutoff is None or entry.time >= cutoff) and (end is None or entry.time <= end)
    try:
        f = file or open(path, "rb")
    except FileNotFoundError:
        if not follow:
            return
        while not os.path.exists(path):
            if not running():
                return
            time.sleep(poll)
        f = open(path, "rb")
    with f:
        lines = f.read().splitlines(keepends=True)
        partial = lines.pop() if lines and not lines[-1].endswith(b"\n") else b""
        if tail is not None:
            lines = list(collections.deque(lines, maxlen=tail)) if tail > 0 else []
        for raw in lines:
            entry = _parse(raw)
            if wanted(entry):
                yield entry
        while follow:
            alive = running()          # checked before reading, so nothing written last is lost
            chunk = f.read()
            if chunk:
                *complete, partial = (partial + chunk).split(b"\n")
                for raw in complete:
                    entry = _parse(raw)
                    if wanted(entry):
                        yield entry
            elif not alive:
                return
            else:
                pause(poll)
