"""Store an incoming layer tar (plain, gzip, bzip2 or xz) as a gzip blob, hashing as it streams."""
import bz2
import gzip
import hashlib
import lzma
import os
import shutil
import zlib

from ..errors import ContentError, InvalidArgument
from .blobs import BlobStore
from .layers import GZIP_LEVEL, HashingSink

_CHUNK = 1 << 20
_GZIP, _BZIP2, _XZ = b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00"


def store_tar(blobs: BlobStore, source) -> tuple[str, str, int, bool]:
    """Store `source` (path or binary file) as a layer blob: (digest, diff_id, size, created).

    gzip input is kept byte for byte, so its digest stays the one a registry named; anything
    else is decompressed and gzipped deterministically (mtime 0, no file name).
    """
    if isinstance(source, (str, os.PathLike)):
        with open_source(source) as f:
            return _store(blobs, f)
    return _store(blobs, source)


def open_source(path):
    """`path` opened for reading; InvalidArgument in Docker's words when it can't be."""
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise InvalidArgument(f"open {path}: no such file or directory") from None
    except IsADirectoryError:
        raise InvalidArgument(f"read {path}: is a directory") from None
    except PermissionError:
        raise InvalidArgument(f"open {path}: permission denied") from None


def _store(blobs: BlobStore, f) -> tuple[str, str, int, bool]:
    head = _read_exactly(f, 6)
    if head.startswith(_GZIP):
        with blobs.writer() as sink:
            sink.write(head)
            shutil.copyfileobj(f, sink, _CHUNK)
            digest = sink.commit()
        try:
            diff_id, size = _gunzip_digest(blobs.path(digest))
        except ContentError:
            if sink.created:
                blobs.delete(digest)
            raise
        return digest, diff_id, size, sink.created
    chunks = _decompressed(head, f)
    with blobs.writer() as sink:
        with gzip.GzipFile(filename="", mode="wb", fileobj=sink, mtime=0,
                           compresslevel=GZIP_LEVEL) as gz:
            raw = HashingSink(gz)
            try:
                for chunk in chunks:
                    raw.write(chunk)
            except (OSError, EOFError, lzma.LZMAError) as exc:
                raise ContentError(f"corrupt compressed layer: {exc}") from exc
        digest = sink.commit()
    return digest, raw.digest, raw.size, sink.created


def _read_exactly(f, count: int) -> bytes:
    data = b""
    while len(data) < count:
        more = f.read(count - len(data))
        if not more:
            break
        data += more
    return data


def _decompressed(head: bytes, f):
    """Chunks of the uncompressed tar, whatever compression `head` announces."""
    if head.startswith(_BZIP2):
        decoder = bz2.BZ2Decompressor()
    elif head.startswith(_XZ):
        decoder = lzma.LZMADecompressor()
    else:
        yield head
        while chunk := f.read(_CHUNK):
            yield chunk
        return
    yield decoder.decompress(head)
    while chunk := f.read(_CHUNK):
        yield decoder.decompress(chunk)
    if not decoder.eof:
        raise ContentError("truncated compressed layer")


def _gunzip_digest(path) -> tuple[str, int]:
    """sha256 and length of a gzip file's uncompressed content."""
    h, size = hashlib.sha256(), 0
    try:
        with gzip.open(path, "rb") as g:
            while chunk := g.read(_CHUNK):
                h.update(chunk)
                size += len(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        raise ContentError(f"corrupt gzip layer: {exc}") from exc
    return "sha256:" + h.hexdigest(), size
