"""Layer compression: every format read in any chunking, bounded; gzip made on all cores."""
import bz2
import gzip
import hashlib
import io
import lzma
import os
import subprocess

import pytest
import zstandard

from dockyard.engine.errors import ContentError
from dockyard.engine.image.compression import Decompressed, compressor, incompressible

DATA = os.urandom(300_000) + b"layer text " * 200_000 + b"\0" * 50_000


class Trickle:
    """A stream that hands out at most `size` bytes a read, as a socket may."""

    def __init__(self, data: bytes, size: int):
        self.data, self.size, self.at = data, size, 0

    def read(self, count=-1):
        count = self.size if count < 0 else min(count, self.size)
        out = self.data[self.at:self.at + count]
        self.at += len(out)
        return out


def read_all(reader, count):
    parts = []
    while chunk := reader.read(count):
        assert len(chunk) <= count
        parts.append(chunk)
    return b"".join(parts)


ENCODED = {"gzip": gzip.compress(DATA), "gzip members": gzip.compress(DATA[:1000])
           + gzip.compress(DATA[1000:]), "zstd": zstandard.ZstdCompressor().compress(DATA),
           "bzip2": bz2.compress(DATA), "xz": lzma.compress(DATA), "plain": DATA}


@pytest.mark.parametrize("name", sorted(ENCODED))
@pytest.mark.parametrize("piece", [7, 4096, 1 << 20])
def test_every_format_reads_back_in_any_chunking(name, piece):
    reader = Decompressed(Trickle(ENCODED[name], piece))
    assert read_all(reader, 65536) == DATA
    assert reader.kind == name.split()[0]


@pytest.mark.parametrize("name", ["gzip", "bzip2", "xz"])
def test_truncated_input_is_a_content_error(name):
    with pytest.raises(ContentError, match="truncated|corrupt"):
        read_all(Decompressed(io.BytesIO(ENCODED[name][:-200])), 65536)


def test_a_bomb_is_inflated_no_faster_than_it_is_read():
    member = gzip.compress(bytes(16 << 20), compresslevel=1)
    bomb = member * 64                               # 1 GiB of zeros in ~1 MB
    reader = Decompressed(io.BytesIO(bomb))
    assert len(reader.read(1 << 20)) == 1 << 20 and len(member) < 100_000


@pytest.mark.parametrize("kind", ["gzip", "zstd"])
def test_output_is_one_valid_stream_and_the_same_on_any_number_of_threads(kind):
    blobs = set()
    for threads in (1, 2, 4):
        out = io.BytesIO()
        with compressor(kind, out, threads=threads) as writer:
            for i in range(0, len(DATA), 100_000):
                writer.write(DATA[i:i + 100_000])
        blobs.add(out.getvalue())
    [blob] = blobs
    assert read_all(Decompressed(io.BytesIO(blob)), 1 << 20) == DATA
    if kind == "gzip":
        assert gzip.decompress(blob) == DATA
        assert subprocess.run(["gzip", "-t"], input=blob).returncode == 0
        assert len(blob) < len(DATA) * 0.6                 # the text part did compress


def test_incompressible_blocks_are_stored_not_searched():
    noise = os.urandom(4 << 20)
    assert incompressible(noise[:65536]) and not incompressible(DATA[300_000:365_536])
    out = io.BytesIO()
    with compressor("gzip", out, threads=2) as writer:
        writer.write(noise)
    assert gzip.decompress(out.getvalue()) == noise
    assert len(noise) < len(out.getvalue()) < len(noise) * 1.001
    assert hashlib.sha256(out.getvalue()).digest() != hashlib.sha256(noise).digest()
