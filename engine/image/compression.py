"""Layer compression: read any of gzip, zstd, bzip2, xz or plain; write gzip or zstd on all cores.

    reader = Decompressed(stream)            # read(n) of the tar inside, whatever wraps it
    with compressor("zstd", sink) as out:    # or "gzip"
        out.write(tar_bytes)
    out.media_type                           # application/vnd.oci.image.layer.v1.tar+zstd

Decompression is bounded: no call inflates more than 1 MiB ahead of what was asked for, so a
small bomb can't fill memory. The gzip writer is pigz's scheme: the input is cut into 1 MiB blocks that threads
deflate at once (zlib releases the GIL), each primed with the previous block's last 32 KiB and
ended on a byte boundary, then joined in order into one gzip member that every client reads. A
block that a sample shows to be incompressible (random bytes, already compressed data) is
written as stored deflate blocks instead of being searched for matches (a zstd probe at its
fastest level judges each 64 KiB): deflating random data costs ~20 MB/s a core, storing it
costs a copy. Output depends only on the input and the level,
not on the number of threads. zstd comes from the `zstandard` package (multi-threaded, with
the same property).
"""
from __future__ import annotations

import bz2
import concurrent.futures
import lzma
import os
import struct
import threading
import zlib

from ..errors import ContentError, InvalidArgument

TAR_TYPE = "application/vnd.oci.image.layer.v1.tar"
GZIP_TYPE = TAR_TYPE + "+gzip"
ZSTD_TYPE = TAR_TYPE + "+zstd"
DOCKER_GZIP_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"
MEDIA_TYPES = {"gzip": GZIP_TYPE, "zstd": ZSTD_TYPE}
COMPRESSIONS = tuple(MEDIA_TYPES)
GZIP_LEVEL = 6                       # Go's gzip.DefaultCompression, what docker uses
ZSTD_LEVEL = 3                       # zstd's default, what BuildKit uses
BLOCK = 1 << 20
WINDOW = 32 << 10
CHUNK = 1 << 20
_MAGIC = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd", b"BZh": "bzip2",
          b"\xfd7zXZ\x00": "xz"}


def kind_of(head: bytes) -> str:
    """"gzip", "zstd", "bzip2", "xz" or "plain" from a stream's first bytes (bytes-like)."""
    head = bytes(head[:6])
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            return kind
    return "plain"


def workers() -> int:
    return max(1, min(8, len(os.sched_getaffinity(0))))


class Decompressed:
    """A read(n) stream of what `stream` holds, decompressed as its magic bytes say."""

    def __init__(self, stream):
        self._stream = stream
        head = b""
        while len(head) < 6:
            more = stream.read(6 - len(head))
            if not more:
                break
            head += more
        self.kind = kind_of(head)
        self._input = head                   # compressed bytes the decoder hasn't taken yet
        self._out, self._pos = b"", 0        # decoded bytes not yet read, from _pos on
        if self.kind == "zstd":
            import zstandard
            self._zstd = zstandard.ZstdDecompressor().stream_reader(
                _Prefixed(head, stream), read_size=CHUNK, read_across_frames=True)
        elif self.kind != "plain":
            self._new = {"gzip": lambda: zlib.decompressobj(16 + zlib.MAX_WBITS),
                         "bzip2": bz2.BZ2Decompressor, "xz": lzma.LZMADecompressor}[self.kind]
            self._decoder = self._new()

    def read(self, count: int = CHUNK) -> bytes:
        """At most `count` bytes (b"" at the end), served from a buffer of up to CHUNK bytes:
        a tar's 512-byte header reads never make the decoder copy its pending input."""
        if count < 0:
            return b"".join(iter(lambda: self.read(CHUNK), b""))
        data = self.readview(count)
        return data if isinstance(data, bytes) else bytes(data)

    def readview(self, count: int = CHUNK):
        """read(), but a piece of the buffer comes as a memoryview of it, not a copy: a tar's
        file content goes on to the hash and to write(2) without ever being copied."""
        if self._pos >= len(self._out):
            self._out, self._pos = self._produce(max(count, CHUNK)), 0
            if len(self._out) <= count:
                self._pos = len(self._out)
                return self._out
        data = memoryview(self._out)[self._pos:self._pos + count]
        self._pos += len(data)
        return data

    def _produce(self, count: int) -> bytes:
        try:
            if self.kind == "plain":
                if self._input:
                    data, self._input = self._input, b""
                    return data
                return self._stream.read(count)
            if self.kind == "zstd":
                return self._zstd.read(count)
            return self._inflate(count)
        except (zlib.error, OSError, EOFError, lzma.LZMAError) as exc:
            raise ContentError(f"corrupt {self.kind} layer: {exc}") from None
        except Exception as exc:             # zstandard.ZstdError shares no base with them
            if type(exc).__name__ == "ZstdError":
                raise ContentError(f"corrupt zstd layer: {exc}") from None
            raise

    def _inflate(self, count: int) -> bytes:
        while True:
            decoder = self._decoder
            if decoder.eof:                  # a member ended: another may follow
                rest = decoder.unused_data + self._input
                if not rest.strip(b"\0"):
                    rest = self._stream.read(CHUNK)
                    if not rest.strip(b"\0"):   # the end (zero padding is tolerated)
                        if rest:
                            continue
                        return b""
                self._decoder, self._input = self._new(), rest
                continue
            if self._input or self._holds_output(decoder):
                out = self._step(decoder, count)
                if out:
                    return out
                if self._input or self._holds_output(decoder) or decoder.eof:
                    continue
            data = self._stream.read(CHUNK)
            if not data:
                raise ContentError(f"truncated {self.kind} layer")
            self._input = data

    def _step(self, decoder, count: int) -> bytes:
        if self.kind == "gzip":
            out = decoder.decompress(self._input, count)
            self._input = decoder.unconsumed_tail
            return out
        out = decoder.decompress(self._input, max_length=count)
        self._input = b""
        return out

    def _holds_output(self, decoder) -> bool:
        """bz2 and lzma keep input inside: they have more to give until they need input."""
        return self.kind != "gzip" and not decoder.needs_input and not decoder.eof


class _Prefixed:
    """`head` then the rest of `stream`, as one read(n) stream."""

    def __init__(self, head: bytes, stream):
        self._head, self._stream = head, stream

    def read(self, count: int = -1) -> bytes:
        if not self._head:
            return self._stream.read(count)
        if count < 0:
            count = len(self._head)
        data, self._head = self._head[:count], self._head[count:]
        return data


def compressor(kind: str, sink, *, level: int | None = None, threads: int | None = None):
    """A writer that compresses into `sink` (anything with write()); close() finishes it."""
    if kind == "gzip":
        return ParallelGzip(sink, level=GZIP_LEVEL if level is None else level, threads=threads)
    if kind == "zstd":
        return _Zstd(sink, ZSTD_LEVEL if level is None else level, threads)
    raise InvalidArgument(f"unknown compression {kind!r}: use gzip or zstd")


class _Zstd:
    media_type = ZSTD_TYPE

    def __init__(self, sink, level: int, threads: int | None):
        import zstandard
        # 1 MiB jobs: each worker holds a job or two, so memory stays flat on any core count.
        params = zstandard.ZstdCompressionParameters.from_level(
            level, threads=threads or workers(), job_size=1 << 20)
        cctx = zstandard.ZstdCompressor(compression_params=params)
        self._writer = cctx.stream_writer(sink, closefd=False)

    def write(self, data) -> int:
        return self._writer.write(data)

    def close(self) -> None:
        self._writer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.close()


class ParallelGzip:
    """One gzip member made of independently deflated 1 MiB blocks (see the module doc)."""

    media_type = GZIP_TYPE

    def __init__(self, sink, *, level: int = GZIP_LEVEL, threads: int | None = None):
        self._sink, self._level = sink, level
        self._threads = threads or workers()
        self._pool = concurrent.futures.ThreadPoolExecutor(self._threads) \
            if self._threads > 1 else None
        self._pieces: list = []             # input not yet cut into blocks, and its length
        self._held = 0
        self._window = b""
        self._queue: list = []
        self._crc, self._size = 0, 0
        # gzip header: no name, mtime 0, OS "unknown", as Go's gzip writer and Python's do.
        sink.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff")

    def write(self, data) -> int:
        size = len(data)
        self._pieces.append(bytes(data))
        self._held += size
        while self._held >= BLOCK:
            joined = b"".join(self._pieces)
            self._submit(joined[:BLOCK])
            rest = joined[BLOCK:]
            self._pieces, self._held = ([rest] if rest else []), len(rest)
        return size

    def _submit(self, block: bytes) -> None:
        window, self._window = self._window, block[-WINDOW:]
        if self._pool is None:
            self._emit(block, deflate_block(block, window, self._level))
            return
        self._queue.append((block, self._pool.submit(deflate_block, block, window, self._level)))
        while len(self._queue) > 2 * self._threads:       # bounded: memory stays flat
            self._drain_one()

    def _drain_one(self) -> None:
        block, future = self._queue.pop(0)
        self._emit(block, future.result())

    def _emit(self, block: bytes, deflated: list) -> None:
        self._crc = zlib.crc32(block, self._crc)
        self._size += len(block)
        for part in deflated:
            self._sink.write(part)

    def close(self) -> None:
        if self._held:
            self._submit(b"".join(self._pieces))
            self._pieces, self._held = [], 0
        while self._queue:
            self._drain_one()
        if self._pool is not None:
            self._pool.shutdown()
        # An empty final block ends the deflate stream, then the crc and length.
        self._sink.write(b"\x03\x00" + struct.pack("<II", self._crc, self._size & 0xFFFFFFFF))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.close()
        elif self._pool is not None:
            self._pool.shutdown(cancel_futures=True)


def deflate_block(block: bytes, window: bytes, level: int) -> list:
    """Raw deflate of `block` after `window` (the 32 KiB before it), ending byte-aligned and
    not final, as a list of pieces to write in order.

    The block is judged in 64 KiB pieces: runs of compressible pieces are deflated (each run
    primed with the 32 KiB before it, so matches reach back as in one stream), incompressible
    ones are stored as they are.
    """
    out: list = []
    history = window
    start = 0
    for run_start, run_end, packed in _runs(block):
        if not packed:
            out += stored_blocks(block[run_start:run_end])
        else:
            zdict = {"zdict": history} if history else {}
            deflate = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, 9, **zdict)
            out += [deflate.compress(block[run_start:run_end]), deflate.flush(zlib.Z_SYNC_FLUSH)]
        start = run_end
        history = (history + block[max(0, start - WINDOW):start])[-WINDOW:]
    return out


def _runs(block: bytes, piece: int = 65536):
    """(start, end, compressible) for runs of 64 KiB pieces judged alike."""
    runs: list = []
    for start in range(0, len(block), piece):
        end = min(start + piece, len(block))
        packed = not incompressible(block[start:end])
        if runs and runs[-1][2] == packed:
            runs[-1] = (runs[-1][0], end, packed)
        else:
            runs.append((start, end, packed))
    return runs


def incompressible(piece: bytes) -> bool:
    """Whether deflate would gain under 3% on `piece`. zstd's fastest level answers that in
    ~20 us for 64 KiB of random bytes (it gives up on them early); a deflate of samples costs
    more than storing the whole piece."""
    if len(piece) < 4096:
        return False
    return len(_probe().compress(piece)) >= len(piece) * 0.97


_PROBES = threading.local()


def _probe():
    probe = getattr(_PROBES, "cctx", None)
    if probe is None:
        import zstandard
        probe = _PROBES.cctx = zstandard.ZstdCompressor(level=1, write_checksum=False,
                                                        write_content_size=False)
    return probe


def stored_blocks(data: bytes) -> list:
    """`data` as non-final stored deflate blocks (at most 65535 bytes each): headers and
    views of `data`, nothing copied."""
    parts, view = [], memoryview(data)
    for start in range(0, len(data), 65535):
        piece = view[start:start + 65535]
        parts.append(struct.pack("<BHH", 0, len(piece), len(piece) ^ 0xFFFF))
        parts.append(piece)
    return parts
