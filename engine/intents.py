"""Intents: which multi-step operation a process is in the middle of, kept on disk so that the
next process can finish or undo it when this one was killed.

    with intents.held(root, cid, "create") as intent:   # <root>/intents/<cid>.<pid>.<start>
        ... reserve a name, join a network, make the bundle ...
        intent.note(volumes=[...])                     # what an undo will need to know
    # the file is gone again: the operation finished, or its own error path undid it

The owner is a pid plus that process's start time (from /proc), so a reused pid never passes
for the dead owner. `abandoned(root)` lists the intents whose owner is gone; recovery.py settles
each one. `claim()` renames an intent to the claimer's own pid first, so two recoverers never
work on the same one, and a recoverer killed in turn leaves it abandoned again.
An intent costs one small file write and one unlink (no fsync: what it protects are kernel
objects and directories that a kill leaves, and a reboot takes the kernel objects anyway).
"""
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

_own: dict[int, str] = {}        # pid -> "<pid>.<start time>", for this process (forks differ)


def start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after the last ")"
    return stat[stat.rindex(b")") + 2:].split()[19].decode()


def owner_token() -> str:
    """`<pid>.<start time>` of this process."""
    pid = os.getpid()
    if pid not in _own:
        _own[pid] = f"{pid}.{start_time(pid)}"
    return _own[pid]


def owner_alive(pid: int, start: str) -> bool:
    return start_time(pid) == start


@dataclass
class Intent:
    """One operation in progress: `key` (a container id, `build-...`, `images-...`) and `op`."""

    path: Path
    key: str
    pid: int
    start: str
    data: dict = field(default_factory=dict)

    @property
    def op(self) -> str:
        return self.data.get("op", "")

    @property
    def alive(self) -> bool:
        return owner_alive(self.pid, self.start)

    def note(self, **data) -> None:
        """Add to what the intent records (rewritten in place: a torn write reads as {})."""
        self.data.update(data)
        self.path.write_text(json.dumps(self.data))

    def end(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def directory(root) -> Path:
    return Path(root) / "intents"


def begin(root, key: str, op: str, **data) -> Intent:
    """Record that this process starts `op` on `key`."""
    token = owner_token()
    pid, start = token.split(".", 1)
    intent = Intent(directory(root) / f"{key}.{token}", key, int(pid), start)
    try:
        intent.note(op=op, **data)
    except FileNotFoundError:               # the first intent of this data root
        directory(root).mkdir(parents=True, exist_ok=True)
        intent.note(op=op, **data)
    return intent


@contextmanager
def held(root, key: str, op: str, **data):
    """begin() for the block; the intent ends with it, whether the block succeeds or raises
    (its own error path undoes what it made). Only a kill leaves the file behind."""
    intent = begin(root, key, op, **data)
    try:
        yield intent
    finally:
        intent.end()


def _parse(path: Path) -> Intent | None:
    try:
        key, pid, start = path.name.rsplit(".", 2)
        return Intent(path, key, int(pid), start)
    except ValueError:
        return None


def read(intent: Intent) -> Intent:
    """The intent with its data read from disk."""
    try:
        intent.data = json.loads(intent.path.read_text())
    except (OSError, ValueError):       # torn by a kill mid-write: the key is what counts
        intent.data = {}
    return intent


def listing(root) -> list[Intent]:
    """Every intent on disk, live or abandoned (data not read)."""
    try:
        names = os.listdir(directory(root))
    except FileNotFoundError:
        return []
    return [i for i in (_parse(directory(root) / n) for n in names) if i is not None]


def abandoned(root) -> list[Intent]:
    """Intents whose owner process is gone, with their data."""
    return [read(i) for i in listing(root) if not i.alive]


def live_keys(root) -> set[str]:
    """Keys some living process is working on."""
    return {i.key for i in listing(root) if i.alive}


def claim(intent: Intent) -> Intent | None:
    """Take over an abandoned intent (None if another process took it first)."""
    token = owner_token()
    pid, start = token.split(".", 1)
    mine = intent.path.with_name(f"{intent.key}.{token}")
    try:
        os.rename(intent.path, mine)
    except FileNotFoundError:
        return None
    return Intent(mine, intent.key, int(pid), start, intent.data)
