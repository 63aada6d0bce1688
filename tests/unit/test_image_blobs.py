"""Blobs: atomic writes, no-op re-puts, verification on read."""
import os

import pytest

from dockyard.engine.errors import BlobNotFound, ContentError, InvalidArgument
from dockyard.engine.image.blobs import BlobStore, sha256_digest


def test_put_read_and_layout(data_root):
    blobs = BlobStore(data_root)
    digest = blobs.put(b"hello")
    assert digest == sha256_digest(b"hello")
    assert (data_root / "blobs" / "sha256" / digest[7:]).read_bytes() == b"hello"
    assert blobs.read(digest) == b"hello"
    assert blobs.digests() == [digest]


def test_put_existing_is_a_noop(data_root):
    blobs = BlobStore(data_root)
    digest = blobs.put(b"x")
    inode = blobs.path(digest).stat().st_ino
    assert blobs.put(b"x") == digest
    assert blobs.path(digest).stat().st_ino == inode
    assert os.listdir(blobs.directory) == [digest[7:]]      # no temp files left


def test_streaming_writer_and_expected_digest(data_root):
    blobs = BlobStore(data_root)
    with blobs.writer() as sink:
        sink.write(b"ab")
        sink.write(b"c")
        digest = sink.commit()
    assert digest == sha256_digest(b"abc") and sink.size == 3 and sink.created
    with pytest.raises(ContentError):
        with blobs.writer() as sink:
            sink.write(b"abd")
            sink.commit(expected=digest)
    assert os.listdir(blobs.directory) == [digest[7:]]


def test_failed_write_leaves_no_temp(data_root):
    blobs = BlobStore(data_root)
    with pytest.raises(RuntimeError):
        with blobs.writer() as sink:
            sink.write(b"partial")
            raise RuntimeError("boom")
    assert os.listdir(blobs.directory) == []


def test_corrupt_blob_detected(data_root):
    blobs = BlobStore(data_root)
    digest = blobs.put(b'{"a": 1}')
    blobs.path(digest).write_bytes(b'{"a": 2}')
    with pytest.raises(ContentError, match="corrupt"):
        blobs.read(digest)
    with pytest.raises(ContentError):
        blobs.verify(digest)


def test_missing_and_malformed(data_root):
    blobs = BlobStore(data_root)
    with pytest.raises(BlobNotFound):
        blobs.read("sha256:" + "0" * 64)
    with pytest.raises(InvalidArgument):
        blobs.read("sha256:../../etc/passwd")
    assert blobs.delete("sha256:" + "0" * 64) == 0
