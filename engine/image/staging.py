"""An image archive read in one pass: layers unpacked while it streams, before its manifest says
which image they belong to (Docker writes manifest.json last).

    staged = Staged(store)
    staged.read(open("images.tar", "rb"))        # plain or compressed, path-free
    staged.json("manifest.json")                 # small members stay in memory
    stage = staged.layer("blobs/sha256/<hex>")   # the unpacked layer: .digest, .size, .temp
    layer = staged.commit("blobs/sha256/<hex>", parent)
    staged.cleanup()                             # temp snapshots nobody committed

A member that looks like a layer (a tar, or gzip, zstd, bzip2 or xz data) is unpacked into a
temp snapshot as it streams, its diff id hashed on the way; other members up to 4 MiB (configs,
manifests) are kept in memory, bigger ones are skipped. A member that fails to unpack is
remembered with its error, which is raised only if an image names it. Archive symlinks and hard
links are resolved by name inside the archive, never on the host.
"""
from __future__ import annotations

import io
import json
import posixpath
import shutil

from ..errors import ContentError
from .compression import Decompressed, kind_of
from .layerdata import unpack
from .tarstream import TarReader

SMALL = 4 << 20


class Stage:
    """One unpacked layer: the temp snapshot, its diff id and size, what extraction did."""

    def __init__(self, temp, result):
        self.temp, self.digest, self.size = temp, result.digest, result.size
        self.moved, self.left_out = result.moved, result.left_out
        self.chain = None                     # the snapshot it became, once committed


class _Chunks:
    """read(n) over an iterator of byte chunks (one archive member's content)."""

    def __init__(self, chunks):
        self._chunks, self._buf, self._at = chunks, b"", 0

    def read(self, count: int = -1) -> bytes:
        """Up to `count` bytes (the rest of a chunk when negative); b"" at the end. A chunk is
        read by offset: slicing off its head each time copied the rest, ~1 MiB per header."""
        while self._at >= len(self._buf):
            self._buf, self._at = next(self._chunks, b""), 0
            if not self._buf:
                return b""
        start = self._at
        if count < 0 or start + count >= len(self._buf):
            self._at = len(self._buf)
            return self._buf[start:] if start else self._buf
        self._at = start + count
        return self._buf[start:self._at]


class Staged:
    """The members of one archive: small ones in memory, layers unpacked, links by name."""

    def __init__(self, store):
        self.store = store
        self.small: dict[str, bytes] = {}
        self.stages: dict[str, Stage] = {}
        self.failures: dict[str, ContentError] = {}
        self.links: dict[str, str] = {}

    def read(self, source) -> None:
        """Stream every member of the archive `source` (a binary stream, plain or gzip)."""
        reader = TarReader(Decompressed(source), hashed=False)
        for entry in reader:
            name = clean(entry.name)
            if name is None:
                continue
            if entry.kind in ("symlink", "hardlink"):
                target = entry.linkname if entry.kind == "hardlink" else \
                    posixpath.join(posixpath.dirname(name), entry.linkname)
                self.links[name] = clean(target)
            elif entry.kind == "file":
                self._member(name, entry.size, reader.content())

    def _member(self, name: str, size: int, chunks) -> None:
        first = next(chunks, b"")
        if kind_of(first) != "plain" or first[257:262] == b"ustar":
            self._unpack(name, _Chunks(_prepend(first, chunks)))
        elif size <= SMALL:
            self.small[name] = bytes(first) + b"".join(chunks)

    def _unpack(self, name: str, stream) -> None:
        self._drop(name)
        temp = self.store.snapshots.new_temp()
        try:
            self.stages[name] = Stage(temp, unpack(temp, stream))
        except ContentError as exc:
            shutil.rmtree(temp, ignore_errors=True)
            self.failures[name] = exc
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise

    def _drop(self, name: str) -> None:
        """Forget an earlier member of the same name (a later one wins, as in tar)."""
        self.small.pop(name, None)
        self.failures.pop(name, None)
        old = self.stages.pop(name, None)
        if old is not None:
            shutil.rmtree(old.temp, ignore_errors=True)

    def resolve(self, name: str) -> str | None:
        name = clean(name)
        for _ in range(16):
            if name not in self.links:
                break
            name = self.links[name]
        return name

    def has(self, name: str) -> bool:
        name = self.resolve(name)
        return name in self.small or name in self.stages or name in self.failures

    def bytes(self, name: str) -> bytes:
        resolved = self.resolve(name)
        if resolved not in self.small:
            raise ContentError(f"the archive lacks {name or 'a named file'}")
        return self.small[resolved]

    def json(self, name: str):
        try:
            return json.loads(self.bytes(name))
        except ValueError as exc:
            raise ContentError(f"the archive's {name} is not JSON: {exc}") from exc

    def layer(self, name: str) -> Stage:
        """The unpacked layer `name` names; ContentError when it is missing or unsafe."""
        resolved = self.resolve(name)
        if resolved in self.small and resolved not in self.stages:   # an empty tar, say
            self._unpack(resolved, io.BytesIO(self.small[resolved]))
        if resolved in self.failures:
            raise ContentError(f"the archive's layer {name}: {self.failures[resolved]}")
        if resolved not in self.stages:
            raise ContentError(f"the archive lacks {name or 'a named layer'}")
        return self.stages[resolved]

    def commit(self, name: str, parent):
        """Make the staged layer `name` a snapshot on top of `parent`; returns the Layer."""
        stage = self.layer(name)
        if not stage.temp.exists():           # committed already, on another parent
            self._unpack(self.resolve(name), _Chunks(iter(
                self.store.layer_tar(self.store.layer(stage.chain)))))
            stage = self.layer(name)
        moved = {"moved": {str(k): v for k, v in stage.moved.items()}} if stage.moved else {}
        layer = self.store.commit_layer(stage.temp, stage.digest, stage.size, parent, **moved)
        stage.chain = layer.chain_id
        return layer

    def cleanup(self) -> None:
        for stage in self.stages.values():
            shutil.rmtree(stage.temp, ignore_errors=True)


def _prepend(first: bytes, chunks):
    if first:
        yield first
    yield from chunks


def clean(name: str | None) -> str | None:
    """An archive member name relative and normalized, or None if it climbs out."""
    if not name:
        return None
    name = posixpath.normpath(name.lstrip("/"))
    if name in (".", "") or name == ".." or name.startswith("../"):
        return None
    return name
