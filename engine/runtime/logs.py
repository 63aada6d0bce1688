"""Read a container's log: Docker json-file lines {"log","stream","time"} written by the shim,
across the files its rotation leaves (container.log.N ... container.log.1, container.log).

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


def log_files(bundle: str) -> list[str]:
    """container.log's rotated files, oldest first (container.log.N ... .1), then itself."""
    base = os.path.join(bundle, "container.log")
    rotated = []
    for name in os.listdir(bundle):
        suffix = name[len("container.log."):]
        if name.startswith("container.log.") and suffix.isdigit():
            rotated.append((int(suffix), os.path.join(bundle, name)))
    return [path for _, path in sorted(rotated, reverse=True)] + [base]


def _lines(path: str) -> list[bytes]:
    try:
        with open(path, "rb") as f:
            return f.read().splitlines(keepends=True)
    except FileNotFoundError:       # rotated away while we looked
        return []


def _same(path: str, st: os.stat_result) -> bool:
    try:
        other = os.stat(path)
    except FileNotFoundError:
        return False
    return (other.st_ino, other.st_dev) == (st.st_ino, st.st_dev)


def _next_file(f, bundle: str):
    """The file that follows `f` in the log, open, once the monitor has rotated `f` away (it is
    container.log.K now: .K-1 follows, or container.log after .1); None while it has not."""
    mine = os.fstat(f.fileno())
    files = log_files(bundle)
    if _same(files[-1], mine):
        return None
    for older, newer in zip(files, files[1:]):
        if _same(older, mine):
            try:
                following = open(newer, "rb")
            except FileNotFoundError:       # between the monitor's rename and its open
                return None
            if _same(older, mine):          # no rotation moved them meanwhile
                return following
            following.close()
            return None
    if os.fstat(f.fileno()).st_nlink:
        return None     # still in the folder: a rotation moved it between our stats; look again
    try:            # rotated out of the kept files (max-file) while we read: on with the oldest
        return open(files[0], "rb")
    except FileNotFoundError:
        return None


def _emptied(f) -> bool:
    """max-file 1: the monitor empties container.log where it is."""
    return os.fstat(f.fileno()).st_size < f.tell()


def read(bundle: str, *, follow: bool = False, tail: int | None = None, since=None, until=None,
         running: Callable[[], bool] = lambda: False, poll: float = 0.05,
         pause: Callable[[float], object] = time.sleep, file=None) -> Iterator[LogEntry]:
    """Entries of <bundle>/container.log and its rotated files, in order (or of `file`, the log
    opened earlier, from where it stands), written at `since` or later, at `until` or earlier;
    with follow, keeps reading while `running()`, from one file to the next when the monitor
    rotates it.

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
    try:
        # the rotated files, then the open one (rotated since we opened it, it is one of them);
        # a `file` opened earlier reads on from where it stands, nothing before
        mine = os.fstat(f.fileno())
        lines = [] if file else [line for older in log_files(bundle)[:-1]
                                 if not _same(older, mine) for line in _lines(older)]
        lines += f.read().splitlines(keepends=True)
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
            elif (following := _next_file(f, bundle)) is not None:   # read to its end: on
                f.close()
                f, partial = following, b""
            elif _emptied(f):
                f.seek(0)
                partial = b""
            elif not alive:
                return
            else:
                pause(poll)
    finally:
        f.close()
