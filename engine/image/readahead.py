"""Small files read ahead by a few threads while the caller works through them in order.

    for item, data in read_ahead(entries, lambda e: (e.path, e.size) if e.is_file else None):
        ...            # data: the file's bytes for a small file, None for anything else

Reading a tree of 20,000 files one by one costs an open, a read and a close each, and each
waits on the kernel; a layer's tar must still see them in order. A pool reads up to `window`
bytes of small files ahead (the syscalls let go of the GIL), so the caller's hashing and the
kernel's work overlap. Files over `small` bytes are left to the caller to stream.
"""
from __future__ import annotations

import collections
import concurrent.futures
import os

SMALL = 1 << 20
WINDOW = 8 << 20
AHEAD = 1024                         # items looked at ahead, files or not
_END = object()


def read_file(path: str, size: int) -> bytes:
    """The first `size` bytes of `path` (never following a final symlink); OSError if shorter."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        data = os.read(fd, size)
        while len(data) < size:
            more = os.read(fd, size - len(data))
            if not more:
                raise OSError(f"{path} is shorter than {size} bytes")
            data += more
        return data
    finally:
        os.close(fd)


def read_ahead(items, file_of, *, workers: int = 4, window: int = WINDOW, small: int = SMALL):
    """Yield (item, bytes or None) for each of `items`, in order; `file_of(item)` is
    (path, size) for a file to read, or None."""
    pending: collections.deque = collections.deque()
    held = 0
    source = iter(items)
    with concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="read") as pool:
        exhausted = False
        while True:
            while not exhausted and held < window and len(pending) < AHEAD:
                item = next(source, _END)
                if item is _END:
                    exhausted = True
                    break
                wanted = file_of(item)
                if wanted is not None and wanted[1] <= small:
                    pending.append((item, pool.submit(read_file, *wanted), wanted[1]))
                    held += wanted[1]
                else:
                    pending.append((item, None, 0))
            if not pending:
                return
            item, future, size = pending.popleft()
            held -= size
            yield item, future.result() if future is not None else None
