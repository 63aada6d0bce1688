"""flock(2) locks that serialize mutations across processes, re-entrant within one process.

    with root_lock(root):          # the image store's <root>/lock
        with root_lock(root):      # same process, same thread: fine
            ...
    with file_lock(root / "networks" / ".lock"):   # any other lock file
        ...

flock locks belong to an open file description, so two descriptors in one process would block
each other; one shared descriptor per lock path, guarded by an RLock, avoids that.
"""
import fcntl
import os
import threading
from contextlib import contextmanager
from pathlib import Path

_registry_guard = threading.Lock()
_locks: dict[str, "_PathLock"] = {}


class _PathLock:
    def __init__(self, path: str):
        self.path = path
        self.rlock = threading.RLock()
        self.depth = 0
        self.fd: int | None = None
        self.pid = os.getpid()


def _lock_for(path: str) -> _PathLock:
    with _registry_guard:
        lock = _locks.get(path)
        if lock is None or lock.pid != os.getpid():   # a forked child starts afresh
            lock = _locks[path] = _PathLock(path)
        return lock


def root_lock(root: Path):
    """Hold the exclusive flock on `<root>/lock` for the block; nests within one process."""
    return file_lock(Path(root) / "lock")


@contextmanager
def file_lock(path: Path):
    """Hold the exclusive flock on `path` (made if missing) for the block; nests within one process."""
    path = os.path.realpath(path)
    lock = _lock_for(path)
    with lock.rlock:
        if lock.depth == 0:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                raise
            lock.fd = fd
        lock.depth += 1
        try:
            yield
        finally:
            lock.depth -= 1
            if lock.depth == 0:
                fd, lock.fd = lock.fd, None
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
