"""`docker pull`: a manifest (or index: this host's platform), its config and layers into the store.

    image = pull(store, "127.0.0.1:5000/busybox:latest", on_event=print)

Layers stream from the registry, up to three at once, in one pass each through the
decompressor into a snapshot, while both digests are checked on the way: the blob's (against
the manifest) and the uncompressed tar's (against the config's diff_ids). The compressed blob
itself is not kept, as Docker doesn't keep it: its digest and size are recorded, so a push to
a registry that has it (or can mount it) sends nothing, and the snapshot rebuilds the exact tar.
A mismatch raises ContentError and leaves no snapshot or image behind; layers whose snapshot
exists are not fetched. Events: `{"type": "layer", "digest", "status": "exists"|"downloading"|"done", "size"}`
(downloading repeats with "current" bytes), `{"type": "note", "digest", "message"}` for device
nodes a layer left out, then `{"type": "pulled", "ref", "digest", "image",
"status": "downloaded"|"up to date"}`.
"""
from __future__ import annotations

import concurrent.futures
import json
import queue
import shutil
import threading

from ..errors import ContentError, ImageNotFound, NotFound, RegistryError
from ..image import reference
from ..image.layerdata import put_until_stopped, unpack
from ..image.layers import HashingSink, left_out_note
from ..image.blobs import sha256_digest
from ..image.platform import check, choose
from ..image.snapshots import chain_id
from .client import RegistryClient, registry_mirrors

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
ACCEPT = (OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_LIST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MAX_MANIFEST = 4 << 20                 # the distribution spec's limit for manifests and configs
CHUNK = 1 << 20
PROGRESS_EVERY = 4 << 20
PARALLEL = 3                          # layers fetched at once, Docker's max-concurrent-downloads


def pull(store, name: str, *, client: RegistryClient | None = None, on_event=None,
         platform: str | None = None, mirrors: list[RegistryClient] | None = None):
    """Pull `name` (`[registry/]repo[:tag|@digest]`) into `store`; the Image, tagged unless by digest.

    `platform` is `os/arch[/variant]` (default linux/<host arch>) for indexes. `mirrors` are
    tried first, in order (default: the data root's registry-mirrors, for a Docker Hub name);
    one that fails is passed over, as Docker does, with a note event saying why.
    """
    ref = reference.parse(name)
    emit = on_event or (lambda event: None)
    made = []
    if client is None:
        client = RegistryClient(ref.domain, root=store.root)
        made.append(client)
    if mirrors is None:
        urls = registry_mirrors(store.root) if ref.domain == "docker.io" else []
        mirrors = [RegistryClient(ref.domain, root=store.root, endpoint=url) for url in urls]
        made += mirrors
    before = _image_named(store, str(ref))     # "up to date": the name already meant it
    try:
        for mirror in mirrors:
            try:
                return _pull_from(store, ref, mirror, platform, emit, before)
            except (RegistryError, NotFound, ContentError) as exc:
                emit({"type": "note", "message": f"mirror {mirror.endpoint} failed, trying "
                      f"the next: {exc}"})
        return _pull_from(store, ref, client, platform, emit, before)
    finally:
        for each in made:
            each.close()


def _pull_from(store, ref, client, platform, emit, before):
    repo_digest, manifest_bytes, unchecked = _resolve(client, ref, platform)
    manifest = json.loads(manifest_bytes)
    config_bytes = _small_blob(client, ref.path, manifest["config"])
    config = _json(config_bytes, f"config of {ref}")
    check(config, unchecked, str(ref))
    diff_ids = config.get("rootfs", {}).get("diff_ids", [])
    layers = manifest.get("layers", [])
    if len(diff_ids) != len(layers):
        raise ContentError(f"{ref}: manifest has {len(layers)} layers, config {len(diff_ids)} "
                           "diff_ids")
    _layers(store, client, ref.path, layers, diff_ids, emit)
    tags = [] if ref.digest else [str(ref)]
    image = store.add_image(config_bytes, manifest_bytes, tags=tags,
                            repo_digest=f"{ref.name}@{repo_digest}")
    emit({"type": "pulled", "ref": str(ref), "digest": repo_digest, "image": image.id,
          "status": "up to date" if before == image.id else "downloaded"})
    return image


def _resolve(client, ref, platform) -> tuple[str, bytes, str | None]:
    """(the digest RepoDigests records, the image manifest's bytes, the platform its config
    must still be checked against): an index is resolved for `platform`, a single image is
    checked once its config is in."""
    data, media_type, header = client.get_manifest(ref.path, ref.digest or ref.tag, ACCEPT)
    digest = _verified(data, ref.digest or header, f"manifest of {ref}")
    document = _json(data, f"manifest of {ref}")
    media_type = document.get("mediaType") or media_type
    if media_type in INDEX_TYPES or "manifests" in document:
        entry = choose(document.get("manifests", []), platform, str(ref))
        platform = None                         # the index said which platform it is for
        data, _, _ = client.get_manifest(ref.path, entry["digest"], ACCEPT)
        _verified(data, entry["digest"], f"manifest {entry['digest']} of {ref}")
        document = _json(data, f"manifest of {ref}")
    if document.get("schemaVersion") != 2 or "config" not in document:
        raise RegistryError(f"{ref}: unsupported manifest (schema "
                            f"{document.get('schemaVersion')}, {media_type or 'no media type'})")
    return digest, data, platform



def _verified(data: bytes, expected: str | None, what: str) -> str:
    digest = sha256_digest(data)
    if expected and expected != digest:
        raise ContentError(f"{what}: content is {digest}, expected {expected}")
    return digest


def _json(data: bytes, what: str) -> dict:
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise RegistryError(f"{what} is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise RegistryError(f"{what} is not a JSON object")
    return value


def _image_named(store, name: str) -> str | None:
    """The id of the image `name` (a tag or name@digest) resolves to here, or None when there
    is none yet. Only "no such image" means that: a corrupt blob or an unreadable store is an
    error the caller must see, not a reason to pull over it.
    """
    try:
        return store.get(name).id
    except ImageNotFound:
        return None


def _small_blob(client, repository: str, descriptor: dict) -> bytes:
    """A config blob, read whole (at most MAX_MANIFEST bytes) and verified."""
    response = client.open_blob(repository, descriptor["digest"])
    data = response.read(MAX_MANIFEST + 1)
    response.close()
    if len(data) > MAX_MANIFEST:
        raise RegistryError(f"config {descriptor['digest']} is larger than {MAX_MANIFEST} bytes")
    _verified(data, descriptor["digest"], f"config {descriptor['digest']}")
    return data


def _layers(store, client, repository, descriptors, diff_ids, emit):
    """The image's Layers in order: present snapshots reused, the rest fetched at once."""
    chains, parent = [], None
    for diff_id in diff_ids:
        parent = chain_id(parent, diff_id)
        chains.append(parent)
    missing = [i for i, chain in enumerate(chains) if not store.snapshots.exists(chain)]
    for i, descriptor in enumerate(descriptors):
        if i not in missing:
            emit({"type": "layer", "digest": descriptor["digest"], "status": "exists",
                  "size": descriptor.get("size", 0)})
    fetched: dict[int, _Fetched] = {}
    failure = None
    with concurrent.futures.ThreadPoolExecutor(max(1, min(PARALLEL, len(missing)))) as pool:
        jobs = {pool.submit(_fetch, store, client, repository, descriptors[i], diff_ids[i],
                            emit): i for i in missing}
        for job in concurrent.futures.as_completed(jobs):
            try:
                fetched[jobs[job]] = job.result()
            except BaseException as exc:   # noqa: BLE001 - the first one is raised below
                failure = failure or exc
    try:
        if failure is not None:
            raise failure
        layers, parent = [], None
        for i, descriptor in enumerate(descriptors):
            if i in fetched:
                parent = fetched[i].commit(store, parent)
                if fetched[i].left_out:
                    emit({"type": "note", "digest": descriptor["digest"],
                          "message": left_out_note(fetched[i].left_out)})
                emit({"type": "layer", "digest": descriptor["digest"], "status": "done",
                      "size": descriptor.get("size", 0)})
            else:
                parent = store.layer(chains[i])
            layers.append(parent)
        return layers
    finally:
        for item in fetched.values():
            item.discard(store)


class _Fetched:
    """A downloaded, unpacked, verified layer waiting for its turn to become a snapshot."""

    def __init__(self, temp, result, digest, kind, blob_size):
        self.temp, self.result, self.digest = temp, result, digest
        self.kind, self.blob_size = kind, blob_size
        self.left_out = result.left_out

    def commit(self, store, parent):
        meta = {"digest": self.digest, **({"compressed": {self.kind: {
            "digest": self.digest, "size": self.blob_size}}} if self.kind else {})}
        if self.result.moved:
            meta["moved"] = {str(k): v for k, v in self.result.moved.items()}
        return store.commit_layer(self.temp, self.result.digest, self.result.size, parent,
                                  **meta)

    def discard(self, store) -> None:
        """Drop the temp snapshot of a fetch that was not committed."""
        shutil.rmtree(self.temp, ignore_errors=True)


def _fetch(store, client, repository, descriptor, diff_id, emit) -> _Fetched:
    """Stream one layer blob: into the blob store (compressed ones are kept) and, at the same
    time, through the decompressor into a temp snapshot; both digests checked on the way."""
    digest, size = descriptor["digest"], descriptor.get("size", 0)
    media_type = descriptor.get("mediaType", "")
    kind = "zstd" if "zstd" in media_type else None if media_type.endswith(".tar") else "gzip"
    emit({"type": "layer", "digest": digest, "status": "downloading", "size": size,
          "current": 0})
    response = client.open_blob(repository, digest)
    temp = store.snapshots.new_temp()
    sink = HashingSink()
    tee = None
    try:
        tee = _Tee(response, sink, lambda current: emit({
            "type": "layer", "digest": digest, "status": "downloading", "size": size,
            "current": current}))
        try:
            result = unpack(temp, tee)
        except ContentError as exc:
            raise ContentError(f"layer {digest}: {exc}") from None
        tee.drain()
        if sink.digest != digest:
            raise ContentError(f"layer {digest} from {client.domain}/{repository} is "
                               f"corrupt: its content is {sink.digest}")
        if result.digest != diff_id:
            raise ContentError(f"layer {digest}: uncompressed content is {result.digest}, "
                               f"the config says {diff_id}")
        return _Fetched(temp, result, digest, kind, sink.size)
    except BaseException:
        if tee is not None:
            tee.stop()
        shutil.rmtree(temp, ignore_errors=True)
        raise
    finally:
        response.close()


class _Tee:
    """read(n) of the registry's response, fetched ahead by a thread of its own that also
    writes it to the blob sink (hashing it) and reports progress: the network, the blob and
    the compressed digest on one core, inflating and unpacking on another."""

    def __init__(self, response, sink, progress):
        self._response, self._sink, self._progress = response, sink, progress
        self._queue: queue.Queue = queue.Queue(maxsize=8)      # bounded: memory stays flat
        self._buf, self._pos = b"", 0
        self._failure, self._stop = None, threading.Event()
        self._thread = threading.Thread(target=self._pump, name="pull-blob", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        size = reported = 0
        try:
            while not self._stop.is_set():
                data = self._response.read(CHUNK)
                if data:
                    self._sink.write(data)
                    size += len(data)
                    if size - reported >= PROGRESS_EVERY:
                        reported = size
                        self._progress(size)
                self._put(data)
                if not data:
                    return
        except BaseException as exc:      # noqa: BLE001 - raised again by read()
            self._failure = exc
            self._put(b"")

    def _put(self, data: bytes) -> None:
        put_until_stopped(self._queue, data, self._stop)

    def read(self, count: int = CHUNK) -> bytes:
        while self._pos >= len(self._buf):
            data = self._queue.get()
            if not data:
                self._queue.put(b"")          # stay at the end for later reads
                if self._failure is not None:
                    raise self._failure
                return b""
            self._buf, self._pos = data, 0
        if self._pos == 0 and count >= len(self._buf):
            self._pos = len(self._buf)
            return self._buf
        data = self._buf[self._pos:self._pos + count]     # never a copy of the rest
        self._pos += len(data)
        return data

    def drain(self) -> None:
        """Whatever follows the tar in the blob (a decompressor may stop at its end)."""
        while self.read(CHUNK):
            pass
        self._thread.join()

    def stop(self) -> None:
        """Let the pump thread go (a failed fetch); the response is closed by the caller."""
        self._stop.set()
        self._thread.join()
