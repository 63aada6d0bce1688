"""The tar-split index of a snapshot: the layer tar's bytes minus file content, so the exact tar
(and so its diff id) can be rebuilt from the unpacked files instead of being stored twice.

    with SplitWriter(snapshot / INDEX) as split:
        split.raw(header_bytes)                        # headers, padding, end blocks
        split.file("diff/etc/passwd", 1204)            # content read back from that file
    for chunk in reassemble(snapshot, moved):          # the original tar, chunk by chunk
        ...

The index is a zlib stream of records: `R<u32 length><bytes>` for raw bytes and
`F<u64 size><u32 length><path>` for content that lives in a file under the snapshot directory.
A file an extraction had to replace (a duplicate entry, a whiteout of what the same layer wrote)
is moved aside rather than deleted: `moved` maps the record's number to its new place. Readers
verify what they rebuild against the diff id (Docker's tar-split does the same job).
"""
from __future__ import annotations

import os
import struct
import zlib

from ..errors import ContentError
from .readahead import read_ahead

INDEX = "tar-split"
CHUNK = 1 << 20
_RAW, _FILE = b"R", b"F"
_U32, _U64 = struct.Struct("<I"), struct.Struct("<Q")


class SplitWriter:
    """Writes a tar-split index; record numbers of file records count from 0."""

    def __init__(self, path):
        self._file = open(path, "wb")
        self._zip = zlib.compressobj(1)
        self._pending = bytearray()
        self.files = 0

    def _put(self, data: bytes) -> None:
        self._pending += data
        if len(self._pending) >= CHUNK:
            self._file.write(self._zip.compress(bytes(self._pending)))
            self._pending.clear()

    def raw(self, data: bytes) -> None:
        if data:
            self._put(_RAW + _U32.pack(len(data)) + data)

    def file(self, path: str, size: int) -> int:
        """Record `size` content bytes read back from `path` (relative to the snapshot dir)."""
        name = path.encode("utf-8", "surrogateescape")
        self._put(_FILE + _U64.pack(size) + _U32.pack(len(name)) + name)
        self.files += 1
        return self.files - 1

    def close(self) -> None:
        if self._file.closed:
            return
        self._file.write(self._zip.compress(bytes(self._pending)) + self._zip.flush())
        self._pending.clear()
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _Records:
    """Exact reads from a zlib-compressed file."""

    def __init__(self, f):
        self._f, self._zip, self._buf = f, zlib.decompressobj(), bytearray()

    def take(self, count: int) -> bytes:
        while len(self._buf) < count:
            data = self._f.read(CHUNK)
            if not data:
                raise ContentError("tar-split index is truncated")
            self._buf += self._zip.decompress(data)
        out = bytes(self._buf[:count])
        del self._buf[:count]
        return out

    def more(self) -> bool:
        while not self._buf:
            data = self._f.read(CHUNK)
            if not data:
                return False
            self._buf += self._zip.decompress(data)
        return True


def reassemble(snapshot, moved: dict | None = None):
    """Yield the layer tar rebuilt from `snapshot`'s index and files (unverified: callers hash).

    ContentError when the index or a file it names is missing or shorter than recorded.
    """
    moved = {int(k): v for k, v in (moved or {}).items()}
    try:
        f = open(os.path.join(snapshot, INDEX), "rb")
    except FileNotFoundError:
        raise ContentError(f"snapshot {snapshot} has no tar-split index") from None
    with f:
        items = _items(_Records(f), snapshot, moved)
        try:
            for (raw, path, size), data in read_ahead(items, lambda i: (i[1], i[2]) if i[1]
                                                      else None):
                if raw is not None:
                    yield raw
                elif data is not None:
                    yield data
                else:
                    yield from _content(path, size)
        except OSError as exc:
            raise ContentError(f"a file of snapshot {snapshot} is missing or short: "
                               f"{exc}") from None


def _items(records: "_Records", snapshot, moved: dict):
    """(raw bytes, None, 0) and (None, file path, size) in the index's order."""
    number = 0
    while records.more():
        kind = records.take(1)
        if kind == _RAW:
            yield records.take(_U32.unpack(records.take(4))[0]), None, 0
        elif kind == _FILE:
            size = _U64.unpack(records.take(8))[0]
            path = records.take(_U32.unpack(records.take(4))[0]).decode(
                "utf-8", "surrogateescape")
            yield None, os.path.join(snapshot, moved.get(number, path)), size
            number += 1
        else:
            raise ContentError(f"tar-split index of {snapshot} is corrupt")


def _content(path: str, size: int):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise ContentError(f"layer file {path} is missing: {exc.strerror}") from None
    try:
        while size:
            data = os.read(fd, min(CHUNK, size))
            if not data:
                raise ContentError(f"layer file {path} is shorter than its layer says")
            size -= len(data)
            yield data
    finally:
        os.close(fd)
