"""Read a tar stream once, front to back, keeping every byte that isn't file content.

    reader = TarReader(stream)                 # any object with read(n): a pipe, a decompressor
    for entry in reader:
        entry.name, entry.kind, entry.size     # "file" | "dir" | "symlink" | "hardlink" | ...
        for chunk in reader.content():        # the entry's bytes, in pieces of up to 1 MiB
            ...
    reader.digest, reader.size                 # sha256 and length of the whole stream

Unlike tarfile, the reader hands back each entry's raw header bytes (`entry.raw`: extended pax or
GNU long-name headers included) and the raw padding and trailer (`reader.take_raw()`), which is
what the tar-split index (tarsplit.py) stores so the exact stream can be rebuilt from an
unpacked snapshot. Content not consumed by the caller is skipped (and still hashed). Headers
are parsed as tarfile's `TarInfo.frombuf` does (checksums, ustar prefixes), by a quicker path
for the common header (octal numbers, an unsigned checksum) and by frombuf itself otherwise;
pax records and GNU long names are applied here. Sparse and multi-volume entries are refused:
no image tool writes them and rebuilding them is not worth the code.
"""
from __future__ import annotations

import collections
import concurrent.futures
import hashlib
import struct
import tarfile

from ..errors import ContentError

BLOCK = 512
_ZEROS = bytes(BLOCK)
CHUNK = 1 << 20
KINDS = {tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.CONTTYPE: "file",
         tarfile.LNKTYPE: "hardlink", tarfile.SYMTYPE: "symlink", tarfile.CHRTYPE: "char",
         tarfile.BLKTYPE: "block", tarfile.DIRTYPE: "dir", tarfile.FIFOTYPE: "fifo"}
_EXTENDED = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE,
             tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK)
_REFUSED = {tarfile.GNUTYPE_SPARSE: "a sparse file", b"V": "a volume label",
            b"M": "a multi-volume part"}


class BackgroundHash:
    """sha256 computed by a worker thread in the order fed, so hashing (which releases the
    GIL) overlaps the caller's reading and writing. Pieces are handed over by reference, a
    list of about CHUNK bytes at a time: never copied, and one hand-off per list, not per piece.
    """

    def __init__(self):
        self._hash = hashlib.sha256()
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="sha256")
        self._pending: collections.deque = collections.deque()
        self._pieces: list = []
        self._held = 0

    def update(self, data) -> None:
        self._pieces.append(data)
        self._held += len(data)
        if self._held >= CHUNK:
            self._submit()

    def _submit(self) -> None:
        pieces, self._pieces, self._held = self._pieces, [], 0
        self._pending.append(self._pool.submit(_hash_all, self._hash, pieces))
        while len(self._pending) > 4:                 # bounded: memory stays flat
            self._pending.popleft().result()

    def digest(self) -> str:
        if self._pieces:
            self._submit()
        while self._pending:
            self._pending.popleft().result()
        self._pool.shutdown(wait=False)
        return "sha256:" + self._hash.hexdigest()


def _hash_all(hash_, pieces: list) -> None:
    for piece in pieces:
        hash_.update(piece)


class Entry:
    """One tar member: what its headers say, and those headers' raw bytes."""
    __slots__ = ("name", "kind", "size", "linkname", "mode", "uid", "gid", "mtime",
                 "devmajor", "devminor", "xattrs", "raw")

    def __init__(self, info: tarfile.TarInfo, raw: bytes, xattrs: dict):
        self.name, self.size, self.linkname = info.name, info.size, info.linkname
        self.kind = KINDS.get(info.type, "file")        # unknown types read as files, as tarfile
        self.mode, self.uid, self.gid, self.mtime = info.mode, info.uid, info.gid, info.mtime
        self.devmajor, self.devminor = info.devmajor, info.devminor
        self.xattrs, self.raw = xattrs, raw


class TarReader:
    """Iterate the entries of a tar stream; ContentError when it is not a well-formed tar."""

    def __init__(self, stream, *, hashed: bool = True):
        self._stream = stream
        self._read_some = getattr(stream, "readview", stream.read)
        self._hash = BackgroundHash() if hashed else None
        self.size = 0
        self._left = 0           # content bytes of the current entry not yet read
        self._pad = 0            # padding after it
        self._raw = bytearray()  # raw bytes since the last take_raw(): padding, trailer
        self._globals: dict = {}
        self.ended = False

    @property
    def digest(self) -> str:
        """`sha256:<hex>` of the whole stream: read it once iteration has ended."""
        return self._hash.digest()

    @property
    def unread(self) -> int:
        """Content bytes of the current entry nobody has read yet."""
        return self._left

    def _read(self, count: int):
        """`count` bytes (fewer at the end): bytes, or a memoryview from a stream that lends
        pieces of its buffer (Decompressed.readview)."""
        data = self._read_some(count)
        if len(data) < count:
            parts = [data]
            count -= len(data)
            while count:
                more = self._read_some(count)
                if not more:
                    break
                parts.append(more)
                count -= len(more)
            data = b"".join(parts)
        if self._hash is not None:
            self._hash.update(data)
        self.size += len(data)
        return data

    def _exact(self, count: int, what: str) -> bytes:
        data = self._read(count)
        if len(data) != count:
            raise ContentError(f"corrupt layer archive: truncated {what}")
        return bytes(data)

    def content(self, chunk: int = CHUNK):
        """Yield the current entry's content (bytes-like: bytes or memoryviews); then its
        padding is kept as raw bytes."""
        while self._left:
            data = self._read(min(chunk, self._left))
            if not data:
                raise ContentError("corrupt layer archive: truncated file content")
            self._left -= len(data)
            yield data
        if self._pad:
            self._raw += self._exact(self._pad, "padding")
            self._pad = 0

    def skip(self):
        """Read past the current entry's content; returns it, bytes-like (callers keep it
        when small)."""
        pieces = list(self.content())
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def take_raw(self) -> bytes:
        """The raw non-content bytes read since the last call (padding, end blocks)."""
        raw, self._raw = bytes(self._raw), bytearray()
        return raw

    def __iter__(self):
        return self

    def __next__(self) -> Entry:
        if self._left or self._pad:
            for _ in self.content():
                pass
        if self.ended:
            raise StopIteration
        raw = bytearray()
        pax: dict = {}
        long_name = long_link = None
        while True:
            block = bytes(self._read(BLOCK))
            if not block:
                return self._end(b"")
            if len(block) < BLOCK:
                raise ContentError("corrupt layer archive: truncated header")
            if block == _ZEROS:
                return self._end(block)
            try:
                info = _header(block)
            except tarfile.HeaderError as exc:
                raise ContentError(f"corrupt layer archive: {exc}") from None
            raw += block
            if info.type in _REFUSED:
                raise ContentError(f"layer entry {info.name!r} is {_REFUSED[info.type]}, "
                                   "which image layers don't carry")
            if info.type not in _EXTENDED:
                break
            body = self._exact(_padded(info.size), "extended header")
            raw += body
            body = body[:info.size]
            if info.type == tarfile.GNUTYPE_LONGNAME:
                long_name = _cstring(body)
            elif info.type == tarfile.GNUTYPE_LONGLINK:
                long_link = _cstring(body)
            elif info.type == tarfile.XGLTYPE:
                self._globals.update(_pax_records(body))
            else:
                pax.update(_pax_records(body))
        records = {**self._globals, **pax}
        xattrs = _apply_pax(info, records)
        if long_name is not None:
            info.name = long_name
        if long_link is not None:
            info.linkname = long_link
        if info.type == tarfile.DIRTYPE or info.name.endswith("/"):
            info.name = info.name.rstrip("/") or "."
        # As tarfile: files and unknown types carry content; links, dirs, devices don't.
        has_data = info.type in _FILE_TYPES or info.type not in tarfile.SUPPORTED_TYPES
        self._left = info.size if has_data else 0
        self._pad = _padded(self._left) - self._left
        return Entry(info, self.take_raw() + bytes(raw), xattrs)

    def _end(self, block: bytes) -> Entry:
        """Read the rest (more end blocks, record padding, whatever follows) as raw bytes."""
        self.ended = True
        self._raw += block
        while data := self._read(CHUNK):
            self._raw += data
        raise StopIteration


_FILE_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE)
# name, mode, uid, gid, size, mtime, chksum, type, linkname, magic, version, uname, gname,
# devmajor, devminor, prefix: the ustar header (POSIX.1-1988), as tarfile reads it.
_USTAR = struct.Struct("100s8s8s8s12s12s8sc100s6s2s32s32s8s8s155s")
_BASE256 = (0o200, 0o377)


class _Header:
    """The fields of one header that a layer needs, named as tarfile.TarInfo names them."""
    __slots__ = ("name", "mode", "uid", "gid", "size", "mtime", "type", "linkname",
                 "devmajor", "devminor")


def _header(block: bytes):
    """The parsed 512-byte header: tarfile.TarInfo.frombuf's result, ~5x sooner for the
    usual header (every tool writes octal numbers and an unsigned checksum); anything else
    (base-256 numbers, a signed checksum, a corrupt header) goes to frombuf itself, which
    parses it or raises tarfile.HeaderError."""
    (name, mode, uid, gid, size, mtime, chksum, kind, linkname, _, _, _, _, devmajor,
     devminor, prefix) = _USTAR.unpack_from(block)
    try:
        numbers = [_octal(field) for field in (mode, uid, gid, size, mtime, chksum,
                                                devmajor, devminor)]
    except ValueError:
        numbers = None
    if numbers is None or numbers[5] != sum(block) - sum(block[148:156]) + 256:
        return tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
    info = _Header()
    info.mode, info.uid, info.gid, info.size, info.mtime, _, info.devmajor, \
        info.devminor = numbers
    info.type, info.name, info.linkname = kind, _text(name), _text(linkname)
    if kind == tarfile.AREGTYPE and info.name.endswith("/"):      # old V7 directories
        info.type = tarfile.DIRTYPE
    if info.type == tarfile.DIRTYPE:
        info.name = info.name.rstrip("/")
    prefix = _text(prefix)
    if prefix and info.type not in tarfile.GNU_TYPES:
        info.name = prefix + "/" + info.name
    return info


def _octal(field: bytes) -> int:
    """An octal number field (NUL- or space-ended); ValueError for base-256 or garbage."""
    if field[0] in _BASE256:
        raise ValueError("base-256")
    return int(field.split(b"\0", 1)[0].strip() or b"0", 8)


def _text(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _padded(size: int) -> int:
    return -(-size // BLOCK) * BLOCK


def _cstring(data: bytes) -> str:
    return data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _pax_records(body: bytes) -> dict:
    """`<length> <key>=<value>\\n` records (POSIX pax); ContentError when malformed."""
    records, pos = {}, 0
    while pos < len(body) and body[pos:pos + 1] != b"\0":
        space = body.find(b" ", pos)
        try:
            length = int(body[pos:space])
        except ValueError:
            raise ContentError("corrupt layer archive: malformed pax header") from None
        record = body[space + 1:pos + length]
        if length <= 0 or not record.endswith(b"\n") or b"=" not in record:
            raise ContentError("corrupt layer archive: malformed pax header")
        key, value = record[:-1].split(b"=", 1)
        records[key.decode("utf-8", "surrogateescape")] = value
        pos += length
    return records


def _apply_pax(info: tarfile.TarInfo, records: dict) -> dict:
    """Override the header's fields from pax records; returns the SCHILY xattrs."""
    xattrs = {}
    for key, value in records.items():
        text = value.decode("utf-8", "surrogateescape")
        try:
            if key == "path":
                info.name = text
            elif key == "linkpath":
                info.linkname = text
            elif key == "size":
                info.size = int(text)
            elif key in ("uid", "gid"):
                setattr(info, key, int(text))
            elif key == "mtime":
                info.mtime = float(text)
            elif key.startswith("SCHILY.xattr."):
                xattrs[key[len("SCHILY.xattr."):]] = value
            elif key.startswith("GNU.sparse."):
                raise ContentError(f"layer entry {info.name!r} is a sparse file, which image "
                                   "layers don't carry")
        except ValueError:
            raise ContentError(f"corrupt layer archive: pax {key}={text!r}") from None
    return xattrs
