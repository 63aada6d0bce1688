"""Upload bodies for the registry client: a file or a stream of chunks, reporting progress.

    body = Counted(open(path, "rb"), report)      # a file: read(), seek() back for a retry
    body = counting(chunks, report)               # chunks of a length nobody knows yet
    for piece in pieces(chunks, 5 << 20): ...     # the same bytes in PATCH-sized pieces
"""
from __future__ import annotations

PROGRESS_EVERY = 4 << 20             # bytes between upload progress reports


def counting(chunks, on_progress):
    """`chunks`, reporting the bytes passed on so far every PROGRESS_EVERY."""
    sent = reported = 0
    for data in chunks:
        sent += len(data)
        if on_progress and sent - reported >= PROGRESS_EVERY:
            reported = sent
            on_progress(sent)
        yield data


def pieces(chunks, size: int):
    """The bytes of `chunks` cut into pieces of `size` (the last one shorter)."""
    held, count = [], 0
    for data in chunks:
        held.append(data)
        count += len(data)
        while count >= size:
            joined = b"".join(held)
            yield joined[:size]
            held, count = [joined[size:]], count - size
    if count:
        yield b"".join(held)


class Counted:
    """A file being uploaded that reports the bytes read so far, every PROGRESS_EVERY."""

    def __init__(self, fileobj, on_progress):
        self._file, self._on_progress = fileobj, on_progress
        self._start = fileobj.tell()
        self._sent = self._reported = 0

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        self._sent += len(data)
        if self._on_progress and self._sent - self._reported >= PROGRESS_EVERY:
            self._reported = self._sent
            self._on_progress(self._sent)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        position = self._file.seek(offset, whence)
        self._sent = self._reported = position - self._start
        return position

    def tell(self) -> int:
        return self._file.tell()
