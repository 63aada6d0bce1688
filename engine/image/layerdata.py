"""A layer's bytes: made once while its tar streams or its tree is indexed, rebuilt on demand.

    unpack(temp, stream)                # a tar (any compression) into temp/diff, indexed
    index(temp, epoch=None)             # temp/diff already holds the tree: hash and index it
    for chunk in layer_tar(store, layer): ...     # the exact layer tar, verified
    compressed(store, layer, "zstd")    # {"digest", "size"}: made once, then cached
    with Compressing(store, layer, "zstd") as stream: ...   # the same, read as it is made

The unpacked snapshot is the truth. Making a layer costs one pass: the tar is hashed (its diff
id) while it is written out as files, or while a finished tree is read back once; no blob is
written. Beside the files sits the tar-split index (tarsplit.py), so `layer_tar()` rebuilds
the exact uncompressed tar for `save`, and `compressed()` makes a gzip or zstd blob for `push`
the first time one is asked for and records it in the snapshot's layer.json (a pulled layer
records the digest of the blob it came as). So an image costs its content once on disk (plus a
compressed copy once pushed), and no gzip runs on the hot path.
"""
from __future__ import annotations

import os
import queue
import threading
from pathlib import Path

from ..errors import ContentError
from .compression import MEDIA_TYPES, TAR_TYPE, Decompressed, compressor
from .extract import extract
from .layers import diff
from .tarsplit import INDEX, SplitWriter, reassemble
from .tarstream import BackgroundHash


def unpack(temp: Path, stream, *, left_out: list | None = None):
    """Extract `stream` (plain or compressed tar) into `temp/diff`, indexing it; the Extracted."""
    (temp / "diff").mkdir()
    with SplitWriter(temp / INDEX) as split:
        result = extract(Decompressed(stream), temp / "diff", overlay=True, split=split)
    if left_out is not None:
        left_out.extend(result.left_out)
    return result


def index(temp: Path, *, epoch: int | None = None, overlay: bool = True) -> tuple[str, int]:
    """(diff id, tar size) of the tree in `temp/diff`, recording its tar-split index."""
    sink = _Hashed()
    with SplitWriter(temp / INDEX) as split:
        diff(temp / "diff", sink, epoch=epoch, overlay=overlay, split=split)
    return sink.hash.digest(), sink.size


class _Hashed:
    """A sink that only hashes (on a second thread) and counts."""

    def __init__(self):
        self.hash, self.size = BackgroundHash(), 0

    def write(self, data) -> int:
        self.hash.update(data)
        self.size += len(data)
        return len(data)


def copy_tree(source: Path, temp: Path, *, epoch: int | None = None, overlay: bool = True):
    """The tree `source` as a layer in `temp`: its tar streamed through a pipe into unpack()."""
    read_fd, write_fd = os.pipe()
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            with open(write_fd, "wb", buffering=1 << 20) as out:
                diff(source, out, epoch=epoch, overlay=overlay)
        except BrokenPipeError:
            pass                         # the reader stopped first: it raises its own error
        except BaseException as exc:     # noqa: BLE001 - handed to the caller's thread
            failure.append(exc)
    writer = threading.Thread(target=produce, name="layer-diff", daemon=True)
    writer.start()
    try:
        with open(read_fd, "rb") as stream:
            result = unpack(temp, stream)
    finally:
        writer.join()
    if failure:
        raise failure[0]
    return result


def layer_tar(store, layer, meta: dict | None = None):
    """Yield the layer's uncompressed tar; ContentError at the end unless it hashes to the
    diff id (from the tar-split index, else from a compressed blob the store holds)."""
    meta = meta if meta is not None else store.snapshots.meta(layer.chain_id) or {}
    if meta.get("split"):
        chunks = reassemble(store.snapshots.directory(layer.chain_id), meta.get("moved"))
    else:
        chunks = _from_blob(store, layer, meta)
    check = BackgroundHash()
    for chunk in chunks:
        check.update(chunk)
        yield chunk
    digest = check.digest()
    if digest != layer.diff_id:
        raise ContentError(f"layer {layer.diff_id} is corrupt: its content is {digest}")


def _from_blob(store, layer, meta: dict):
    for digest in [layer.digest, meta.get("digest")] + \
            [c["digest"] for c in (meta.get("compressed") or {}).values()]:
        if digest and digest != layer.diff_id and store.blobs.exists(digest):
            with store.blobs.open(digest) as f:
                reader = Decompressed(f)
                while chunk := reader.read(1 << 20):
                    yield chunk
            return
    raise ContentError(f"layer {layer.diff_id}: neither a tar-split index nor a blob is "
                       "left to rebuild it from")


def compressed(store, layer, kind: str) -> dict:
    """The layer's `kind` ("gzip"|"zstd") blob, {"digest", "size", "mediaType"}; made from
    layer_tar() the first time and recorded in layer.json, so later pushes reuse it."""
    known = cached_compressed(store, layer, kind)
    if known:
        return known
    with Compressing(store, layer, kind) as stream:
        for _ in stream:
            pass
        return stream.result()


def cached_compressed(store, layer, kind: str) -> dict | None:
    """The layer's `kind` blob if one was made before and is still here, else None."""
    meta = store.snapshots.meta(layer.chain_id) or {}
    known = (meta.get("compressed") or {}).get(kind)
    if known and store.blobs.exists(known["digest"]):
        return {**known, "mediaType": MEDIA_TYPES[kind]}
    return None


def put_until_stopped(bounded: queue.Queue, item, stop: threading.Event) -> None:
    """Put `item` for a reader on another thread, waiting while the queue is full, unless
    `stop` is set first: a producer whose reader gave up must not block for ever."""
    while not stop.is_set():
        try:
            bounded.put(item, timeout=0.5)
            return
        except queue.Full:
            continue


class Compressing:
    """The layer compressed on a thread of its own while the caller iterates the result, for
    an upload that starts before the compressed digest is known (as docker push does): the
    upload and the compression overlap instead of following each other. The blob is kept
    as compressed() keeps it, once all of it was read and result() is called.

        with Compressing(store, layer, "gzip") as stream:
            for chunk in stream: send(chunk)
            blob = stream.result()             # {"digest", "size", "mediaType"}
    """

    AHEAD = 8                           # compressed pieces waiting for the reader: flat memory
    PIECE = 1 << 20

    def __init__(self, store, layer, kind: str):
        if kind not in MEDIA_TYPES:
            raise ValueError(kind)
        self._store, self._layer, self._kind = store, layer, kind
        self._queue: queue.Queue = queue.Queue(self.AHEAD)
        self._stop = threading.Event()
        self._failure: BaseException | None = None
        self._held: list[bytes] = []
        self._held_size = 0
        self._sink = store.blobs.writer()
        self._thread = threading.Thread(target=self._produce, name="compress", daemon=True)
        self._thread.start()

    def _produce(self) -> None:
        try:
            out = compressor(self._kind, self)
            for chunk in layer_tar(self._store, self._layer):
                if self._stop.is_set():
                    return
                out.write(chunk)
            out.close()
            self._pass_on()
        except BaseException as exc:    # noqa: BLE001 - raised again in the reader's thread
            self._failure = exc
        self._put(None)

    def write(self, data) -> int:
        """The compressor's output (gzip's comes in ~32 KiB pieces): gathered into pieces of
        PIECE bytes, each one write to the blob and one chunk of the upload."""
        self._held.append(bytes(data))
        self._held_size += len(data)
        if self._held_size >= self.PIECE:
            self._pass_on()
        return len(data)

    def _pass_on(self) -> None:
        if self._held:
            piece = b"".join(self._held)
            self._held, self._held_size = [], 0
            self._sink.write(piece)
            self._put(piece)

    def _put(self, item) -> None:
        put_until_stopped(self._queue, item, self._stop)

    def __iter__(self):
        while (item := self._queue.get()) is not None:
            yield item
        if self._failure is not None:
            raise self._failure

    def result(self) -> dict:
        """Commit the blob (all of it was read) and record it on the layer."""
        self._thread.join()
        if self._failure is not None:
            raise self._failure
        digest = self._sink.commit()
        made = {"digest": digest, "size": self._sink.size}
        self._store.snapshots.record_compressed(self._layer.chain_id, self._kind, made)
        return {**made, "mediaType": MEDIA_TYPES[self._kind]}

    def close(self) -> None:
        """Stop the compression if it still runs; a blob not committed is dropped."""
        self._stop.set()
        self._thread.join()
        if self._sink.digest is None:
            self._sink.abort()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def descriptor(store, layer) -> dict:
    """The manifest descriptor of `layer` as this store holds it: its uncompressed tar for a
    layer made here, else the compressed blob it was pulled as (or an old root's gzip)."""
    if layer.digest == layer.diff_id:
        return {"mediaType": TAR_TYPE, "digest": layer.diff_id, "size": layer.size}
    meta = store.snapshots.meta(layer.chain_id) or {}
    for kind, known in (meta.get("compressed") or {}).items():
        if known["digest"] == layer.digest:
            return {"mediaType": MEDIA_TYPES[kind], "digest": layer.digest,
                    "size": known["size"]}
    return {"mediaType": MEDIA_TYPES["gzip"], "digest": layer.digest,
            "size": store.blobs.size(layer.digest)}
