"""The event log of a data root: one JSON line per event, in Docker's shape and vocabulary.

    record(root, "container", "start", cid, {"name": "web", "image": "busybox"})
    for event in read(root, since=time.time() - 60, follow=True):
        print(event["Type"], event["Action"], event["Actor"]["ID"])

Every process that changes something appends to `<root>/events.jsonl`: the CLI, a notebook's
kernel, and a container's monitor (the shim writes `start`, `oom` and `die`: only it sees the
command start and end, so the three keep their order), so a container started by the CLI
shows live in a notebook. An append is one write() of one line,
made under an flock of `<root>/events.lock`; past MAX_BYTES the log is renamed to
`events.jsonl.1` under the same lock (one older generation is kept), so the log stays small.
Recording never fails the operation it describes: a read-only or full disk loses the event.

Docker's actions used: container create, start, restart, kill, stop, die, oom, destroy, pause,
unpause, rename, update, attach, top, commit, exec_create, exec_start, exec_die; image pull,
push, tag, untag, delete, import, load, save; network create, connect, disconnect, destroy;
volume create, destroy.
"""
import fcntl
import json
import os
import time
from pathlib import Path
from typing import Callable, Iterator

MAX_BYTES = 4 << 20
LOG, OLD, LOCK = "events.jsonl", "events.jsonl.1", "events.lock"


def record(root, type: str, action: str, actor_id: str, attributes: dict | None = None) -> dict:
    """Append one event (Docker's JSON shape) to the log of `root`; returns it."""
    now = time.time_ns()
    attributes = {k: str(v) for k, v in (attributes or {}).items()}
    event = {"Type": type, "Action": action, "Actor": {"ID": actor_id, "Attributes": attributes},
             "scope": "local", "time": now // 10**9, "timeNano": now}
    if type == "container":     # the fields of Docker's older event format, still sent
        event.update(status=action, id=actor_id, **({"from": attributes["image"]}
                                                     if "image" in attributes else {}))
    line = (json.dumps(event, separators=(",", ":"), ensure_ascii=False) + "\n").encode()
    root = Path(root)
    try:
        lock = os.open(root / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            fd = os.open(root / LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                os.write(fd, line)
                size = os.fstat(fd).st_size
            finally:
                os.close(fd)
            if size > MAX_BYTES:
                os.replace(root / LOG, root / OLD)
        finally:
            os.close(lock)
    except OSError:
        pass
    return event


def _open(path: Path):
    try:
        return open(path, "rb")
    except FileNotFoundError:
        return None


def _parse(lines) -> Iterator[dict]:
    for line in lines:
        try:
            yield json.loads(line)
        except ValueError:           # a line cut short by a full disk
            continue


def read(root, *, since: float | None = None, until: float | None = None, follow: bool = False,
         poll: float = 0.1, now: Callable[[], float] = time.time,
         stop: Callable[[], bool] = lambda: False) -> Iterator[dict]:
    """Events of `root` between `since` and `until` (Unix times), oldest first; with follow,
    goes on with new ones as they are recorded, until `until` (or for ever, or until `stop()`
    says the reader is gone)."""
    root = Path(root)
    since_ns = int(since * 1e9) if since is not None else None
    until_ns = int(until * 1e9) if until is not None else None

    def wanted(lines):
        for event in _parse(lines):
            stamp = event.get("timeNano", 0)
            if (since_ns is None or stamp >= since_ns) and (until_ns is None or stamp <= until_ns):
                yield event

    old = _open(root / OLD)
    if old is not None:
        with old:
            yield from wanted(old.read().splitlines())
    current, pending = _open(root / LOG), b""
    try:
        while True:
            if current is not None:
                *lines, pending = (pending + current.read()).split(b"\n")
                yield from wanted(lines)
            if not follow or (until is not None and now() > until) or stop():
                return
            time.sleep(poll)
            if current is None:
                current = _open(root / LOG)
                continue
            try:
                renamed = os.stat(root / LOG).st_ino != os.fstat(current.fileno()).st_ino
            except FileNotFoundError:
                renamed = True
            if renamed:              # rotated: the rest of the old file, then the new one
                *lines, _ = (pending + current.read()).split(b"\n")
                yield from wanted(lines)
                current.close()
                current, pending = _open(root / LOG), b""
    finally:
        if current is not None:
            current.close()


def matches(event: dict, filters: dict[str, list[str]]) -> bool:
    """Docker's event filters: values of one key are OR'ed, different keys AND'ed.

    container=<name|id>, image=<name|id>, event=<action>, type=<type>, label=<key>[=<value>],
    network=<name|id>, volume=<name>.
    """
    kind, actor = event.get("Type"), event.get("Actor", {})
    ident, attrs = actor.get("ID", ""), actor.get("Attributes", {})

    def one(key, value):
        if key == "type":
            return kind == value
        if key == "event":
            return event.get("Action") == value or event.get("Action", "").split(":")[0] == value
        if key == "container":
            return kind == "container" and (ident.startswith(value) or attrs.get("name") == value)
        if key == "image":
            return attrs.get("image") == value or (kind == "image" and value in (
                ident, attrs.get("name")))
        if key in ("network", "volume"):
            return kind == key and (ident.startswith(value) or attrs.get("name") == value)
        if key == "label":
            name, sep, wanted = value.partition("=")
            return name in attrs and (not sep or attrs[name] == wanted)
        return False
    return all(any(one(key, value) for value in values) for key, values in filters.items())
