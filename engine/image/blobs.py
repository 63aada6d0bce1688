"""Content-addressed blobs under `<root>/blobs/sha256/<hex>`, as in the OCI image layout.

Writes go to a temp file in the same directory, are fsynced and renamed into place, so a reader
sees a whole blob or none. A big blob is written back while it is still being written (an
fdatasync on a thread every SYNC_EVERY bytes): with gigabytes of memory the kernel would
otherwise hold it all dirty, and the final fsync would wait seconds for the disk. Putting a digest that exists is a no-op (it only refreshes the mtime,
which garbage collection reads as "recently wanted"). `read()` verifies the digest.
"""
import hashlib
import os
import re
import tempfile
import threading
from pathlib import Path

from ..errors import BlobNotFound, ContentError, InvalidArgument

_DIGEST = re.compile(r"sha256:[a-f0-9]{64}")
_CHUNK = 1 << 20
SYNC_EVERY = 64 << 20


def sha256_digest(data: bytes) -> str:
    """`sha256:<hex>` of `data`."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def check_digest(digest: str) -> str:
    """Return `digest` if it is a well-formed `sha256:<64 hex>`, else raise InvalidArgument."""
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise InvalidArgument(f"invalid digest {digest!r}: want sha256:<64 hex digits>")
    return digest


class BlobWriter:
    """A file-like sink that hashes and counts what it writes into a temp blob file.

    Use through `BlobStore.writer()`; `commit()` fsyncs and renames it to its digest.
    """

    def __init__(self, store: "BlobStore"):
        self._store = store
        store.directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".tmp-", dir=store.directory)
        self._file = os.fdopen(fd, "wb")
        self.temp_path = Path(name)
        self._hash = hashlib.sha256()
        self.size = 0
        self.digest: str | None = None
        self.created = False            # True when commit() added a new blob
        self._synced = 0
        self._syncing: threading.Thread | None = None

    def write(self, data) -> int:
        self._hash.update(data)
        self.size += len(data)
        written = self._file.write(data)
        if self.size - self._synced >= SYNC_EVERY and not (self._syncing and
                                                           self._syncing.is_alive()):
            self._synced = self.size
            self._file.flush()
            self._syncing = threading.Thread(target=_write_back, args=(self._file.fileno(),),
                                             name="blob-sync", daemon=True)
            self._syncing.start()
        return written

    def _wait_sync(self) -> None:
        """The write-back thread is done with the fd (it must not outlive its close)."""
        if self._syncing is not None:
            self._syncing.join()
            self._syncing = None

    def flush(self) -> None:
        self._file.flush()

    def commit(self, expected: str | None = None) -> str:
        """Fsync and rename into place; ContentError if the bytes don't match `expected`."""
        self._file.flush()
        self._wait_sync()
        os.fsync(self._file.fileno())
        self._file.close()
        self.digest = "sha256:" + self._hash.hexdigest()
        if expected is not None and expected != self.digest:
            self.abort()
            raise ContentError(f"blob content is {self.digest}, expected {expected}")
        target = self._store.path(self.digest)
        if target.exists():
            os.unlink(self.temp_path)
            os.utime(target)
        else:
            os.rename(self.temp_path, target)
            self.created = True
        return self.digest

    def abort(self) -> None:
        """Drop the temp file."""
        self._wait_sync()
        if not self._file.closed:
            self._file.close()
        try:
            os.unlink(self.temp_path)
        except FileNotFoundError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None or self.digest is None:
            self.abort()


def _write_back(fd: int) -> None:
    try:
        os.fdatasync(fd)
    except OSError:
        pass                            # commit()'s fsync reports what matters


class BlobStore:
    """sha256 blobs in one directory, written atomically and verified on read."""

    def __init__(self, root: Path):
        self.directory = Path(root) / "blobs" / "sha256"

    def path(self, digest: str) -> Path:
        """Where the blob with `digest` lives (whether or not it exists)."""
        return self.directory / check_digest(digest)[len("sha256:"):]

    def exists(self, digest: str) -> bool:
        return self.path(digest).exists()

    def put(self, data: bytes) -> str:
        """Store `data`; returns its digest. An existing blob is left as it is."""
        digest = sha256_digest(data)
        target = self.path(digest)
        if target.exists():
            os.utime(target)
            return digest
        with self.writer() as sink:
            sink.write(data)
            return sink.commit()

    def writer(self) -> BlobWriter:
        """A streaming writer: write(), then commit() for the digest."""
        return BlobWriter(self)

    def read(self, digest: str) -> bytes:
        """The blob's bytes, verified: ContentError if they don't hash to `digest`."""
        try:
            data = self.path(digest).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(f"blob {digest} not found") from None
        if sha256_digest(data) != digest:
            raise ContentError(f"blob {digest} is corrupt: its content has another digest")
        return data

    def open(self, digest: str):
        """A binary file object on the blob (unverified: for large layer blobs read once)."""
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError:
            raise BlobNotFound(f"blob {digest} not found") from None

    def verify(self, digest: str) -> None:
        """Hash the blob in chunks; ContentError if it doesn't match."""
        h = hashlib.sha256()
        with self.open(digest) as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
        if "sha256:" + h.hexdigest() != digest:
            raise ContentError(f"blob {digest} is corrupt: its content has another digest")

    def size(self, digest: str) -> int:
        try:
            return self.path(digest).stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(f"blob {digest} not found") from None

    def mtime(self, digest: str) -> float:
        return self.path(digest).stat().st_mtime

    def delete(self, digest: str) -> int:
        """Remove a blob; returns the bytes freed (0 if it was absent)."""
        target = self.path(digest)
        try:
            size = target.stat().st_size
            target.unlink()
        except FileNotFoundError:
            return 0
        return size

    def digests(self) -> list[str]:
        """Every stored digest (temp files excluded)."""
        if not self.directory.is_dir():
            return []
        return ["sha256:" + name for name in os.listdir(self.directory)
                if len(name) == 64 and not name.startswith(".")]
