"""The layer half of the image store: snapshots made from streams, trees and upper dirs.

    with store.layer_tree() as tree:                  # fill it, then:
        layer = store.add_layer_from_dir(tree, parent, epoch=0)
    layer = store.add_layer_from_stream(open("layer.tar.zst", "rb"), parent)
    chunks = store.layer_tar(layer)                   # the exact tar, verified
    store.compressed_layer(layer, "zstd")             # {"digest", "size", "mediaType"}
    with store.compressing_layer(layer, "zstd") as stream: ...   # read as it is made

Each method makes a temp snapshot, fills it in one pass (layerdata.py) and commits it by a
rename under the store's lock; a failure leaves no snapshot. ImageStore inherits this and
provides `snapshots`, `blobs`, `lock()` and `layer()`.
"""
from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from ..errors import ContentError, InvalidArgument
from .compression import MEDIA_TYPES, kind_of
from .layerdata import (Compressing, cached_compressed, compressed, copy_tree, index,
                        layer_tar, unpack)
from .model import Layer
from .snapshots import chain_id
from .tarballs import open_source
from .tarsplit import INDEX


class LayerStore:
    """Adding and reading layers; mixed into ImageStore."""

    @contextlib.contextmanager
    def layer_tree(self):
        """A fresh empty directory to fill with a tree for add_layer_from_dir(), which takes
        it over by a rename; removed if anything fails before that."""
        temp = self.snapshots.new_temp()
        (temp / "diff").mkdir()
        try:
            yield temp / "diff"
        finally:
            shutil.rmtree(temp, ignore_errors=True)

    def commit_layer(self, temp: Path, diff_id: str, size: int, parent: Layer | None,
                     **meta) -> Layer:
        """Make the snapshot in `temp` (diff/ and its tar-split index) the layer `diff_id` on
        top of `parent`. An existing snapshot of the same chain wins and `temp` goes; what
        `meta["compressed"]` names (a pulled blob) is recorded either way."""
        parent_chain = parent.chain_id if parent else None
        chain = chain_id(parent_chain, diff_id)
        record = {"chain_id": chain, "parent": parent_chain, "diff_id": diff_id, "size": size,
                  "digest": meta.pop("digest", None) or diff_id,
                  "split": (temp / INDEX).exists(), **meta}
        with self.lock():
            if not self.snapshots.commit(temp, record):
                for kind, known in (meta.get("compressed") or {}).items():
                    self.snapshots.record_compressed(chain, kind, known)
        return self.layer(chain)

    def _made(self, parent: Layer | None, make) -> Layer:
        """A layer from `make(temp)` -> (diff_id, size, meta) in a fresh temp snapshot."""
        temp = self.snapshots.new_temp()
        try:
            diff_id, size, meta = make(temp)
            return self.commit_layer(temp, diff_id, size, parent, **meta)
        finally:
            shutil.rmtree(temp, ignore_errors=True)

    def add_layer_from_stream(self, stream, parent: Layer | None, *, diff_id: str | None = None,
                              left_out: list | None = None, check=None, **meta) -> Layer:
        """A layer from a tar stream (plain, gzip, zstd, bzip2 or xz), unpacked as it streams.

        ContentError for an unsafe tar, or one that doesn't hash to `diff_id` when given, or
        when `check()` (called once the stream is read, before the snapshot appears) raises:
        no snapshot is left. Device nodes left out (layers.py says why) go to `left_out`;
        `meta` (digest, compressed) goes to layer.json.
        """
        def make(temp):
            result = unpack(temp, stream, left_out=left_out)
            if diff_id is not None and result.digest != diff_id:
                raise ContentError(f"layer content is {result.digest}, expected {diff_id}")
            if check is not None:
                check()
            return result.digest, result.size, {**_moved(result), **meta}
        return self._made(parent, make)

    def add_layer_from_blob(self, digest: str, diff_id: str, parent: Layer | None, *,
                            left_out: list | None = None) -> Layer:
        """A layer from a gzip or zstd blob already in the blob store (verified by the caller),
        which stays as the layer's compressed form; ContentError unless it holds `diff_id`."""
        with self.blobs.open(digest) as f:
            kind = kind_of(f.read(6))
            f.seek(0)
            known = {"digest": digest, "size": self.blobs.size(digest)}
            return self.add_layer_from_stream(
                f, parent, diff_id=diff_id, left_out=left_out, digest=digest,
                compressed={kind: known} if kind in MEDIA_TYPES else {})

    def add_layer_from_tar(self, source, parent: Layer | None, *,
                           left_out: list | None = None) -> Layer:
        """A layer from a tar file (path) or binary stream: add_layer_from_stream()."""
        if not isinstance(source, (str, os.PathLike)):
            return self.add_layer_from_stream(source, parent, left_out=left_out)
        with open_source(source) as f:
            return self.add_layer_from_stream(f, parent, left_out=left_out)

    def add_layer_from_upper(self, upper: Path, parent: Layer | None, *,
                             epoch: int | None = None, move: bool = True) -> Layer:
        """A layer from an overlay upper dir (RUN, commit); move=True consumes `upper`.

        With move=True the dir is renamed into the snapshot (it is already in overlay lower
        format) and indexed there; otherwise (or on another filesystem) its tar streams into a
        new snapshot. Either way one pass over the bytes; `upper` is gone with move=True.
        """
        upper = Path(upper)
        if not upper.is_dir():
            raise InvalidArgument(f"layer source {upper} is not a directory")

        def make(temp):
            if move:
                try:
                    os.rename(upper, temp / "diff")
                    return (*index(temp, epoch=epoch, overlay=True), {})
                except OSError:
                    pass                               # EXDEV: another filesystem
            result = copy_tree(upper, temp, epoch=epoch, overlay=True)
            return result.digest, result.size, _moved(result)
        layer = self._made(parent, make)
        if move and upper.exists():
            shutil.rmtree(upper, ignore_errors=True)
        return layer

    def add_layer_from_dir(self, tree: Path, parent: Layer | None, *,
                           epoch: int | None = None) -> Layer:
        """A layer holding a plain tree (COPY/ADD): its files, no whiteouts. A tree from
        layer_tree() is taken over by a rename; any other is copied and kept."""
        tree = Path(tree)
        if not tree.is_dir():
            raise InvalidArgument(f"layer source {tree} is not a directory")
        temp = tree.parent
        if tree.name == "diff" and temp.parent == self.snapshots.root and \
                temp.name.startswith(".tmp-"):
            diff_id, size = index(temp, epoch=epoch, overlay=False)
            return self.commit_layer(temp, diff_id, size, parent)

        def make(temp):
            result = copy_tree(tree, temp, epoch=epoch, overlay=False)
            return result.digest, result.size, _moved(result)
        return self._made(parent, make)

    def layer_tar(self, layer: Layer):
        """The layer's exact uncompressed tar, in chunks, verified against its diff id."""
        return layer_tar(self, layer)

    def compressed_layer(self, layer: Layer, kind: str) -> dict:
        """The layer as a gzip or zstd blob, made once and cached: {"digest", "size",
        "mediaType"}."""
        return compressed(self, layer, kind)

    def cached_compressed_layer(self, layer: Layer, kind: str) -> dict | None:
        """compressed_layer() if it was made before, else None (nothing is made)."""
        return cached_compressed(self, layer, kind)

    def compressing_layer(self, layer: Layer, kind: str) -> Compressing:
        """The layer compressed as it is read (an upload), then cached: layerdata.Compressing."""
        return Compressing(self, layer, kind)


def _moved(result) -> dict:
    """The layer.json entry for files an extraction moved aside (tarsplit.py)."""
    return {"moved": {str(k): v for k, v in result.moved.items()}} if result.moved else {}
