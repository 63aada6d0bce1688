"""`docker pull`: a manifest (or index: this host's platform), its config and layers into the store.

    image = pull(store, "127.0.0.1:5000/busybox:latest", on_event=print)

Layers stream from the registry into the blob store while both digests are checked: the blob's
(against the manifest) and the uncompressed tar's (against the config's diff_ids). A mismatch
raises ContentError and leaves no blob, snapshot or image behind; layers already stored are
skipped. Events: `{"type": "layer", "digest", "status": "exists"|"downloading"|"done", "size"}`
(downloading repeats with "current" bytes), then `{"type": "pulled", "ref", "digest", "image",
"status": "downloaded"|"up to date"}`.
"""
from __future__ import annotations

import hashlib
import json
import zlib

from ..errors import ContentError, ImageNotFound, RegistryError
from ..image import reference
from ..image.blobs import sha256_digest
from ..image.model import host_architecture
from ..image.snapshots import chain_id
from .client import RegistryClient

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
ACCEPT = (OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_LIST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MAX_MANIFEST = 4 << 20                 # the distribution spec's limit for manifests and configs
CHUNK = 1 << 20
PROGRESS_EVERY = 4 << 20


def pull(store, name: str, *, client: RegistryClient | None = None, on_event=None,
         platform: str | None = None):
    """Pull `name` (`[registry/]repo[:tag|@digest]`) into `store`; the Image, tagged unless by digest.

    `platform` is `os/arch[/variant]` (default linux/<host arch>) for indexes.
    """
    ref = reference.parse(name)
    client = client or RegistryClient(ref.domain, root=store.root)
    emit = on_event or (lambda event: None)
    before = _image_named(store, str(ref))     # "up to date": the name already meant it
    repo_digest, manifest_bytes = _resolve(client, ref, platform)
    manifest = json.loads(manifest_bytes)
    config_bytes = _small_blob(client, ref.path, manifest["config"])
    config = json.loads(config_bytes)
    diff_ids = config.get("rootfs", {}).get("diff_ids", [])
    layers = manifest.get("layers", [])
    if len(diff_ids) != len(layers):
        raise ContentError(f"{ref}: manifest has {len(layers)} layers, config {len(diff_ids)} "
                           "diff_ids")
    parent = None
    for descriptor, diff_id in zip(layers, diff_ids):
        parent = _layer(store, client, ref.path, descriptor, diff_id, parent, emit)
    tags = [] if ref.digest else [str(ref)]
    image = store.add_image(config_bytes, manifest_bytes, tags=tags,
                            repo_digest=f"{ref.name}@{repo_digest}")
    emit({"type": "pulled", "ref": str(ref), "digest": repo_digest, "image": image.id,
          "status": "up to date" if before == image.id else "downloaded"})
    return image


def _resolve(client, ref, platform) -> tuple[str, bytes]:
    """(the digest RepoDigests records, the image manifest's bytes); indexes resolved."""
    data, media_type, header = client.get_manifest(ref.path, ref.digest or ref.tag, ACCEPT)
    digest = _verified(data, ref.digest or header, f"manifest of {ref}")
    document = _json(data, f"manifest of {ref}")
    media_type = document.get("mediaType") or media_type
    if media_type in INDEX_TYPES or "manifests" in document:
        entry = choose_platform(document.get("manifests", []), platform, str(ref))
        data, _, _ = client.get_manifest(ref.path, entry["digest"], ACCEPT)
        _verified(data, entry["digest"], f"manifest {entry['digest']} of {ref}")
        document = _json(data, f"manifest of {ref}")
    if document.get("schemaVersion") != 2 or "config" not in document:
        raise RegistryError(f"{ref}: unsupported manifest (schema "
                            f"{document.get('schemaVersion')}, {media_type or 'no media type'})")
    return digest, data


def choose_platform(entries: list[dict], platform: str | None, what: str) -> dict:
    """The index entry for `os/arch[/variant]` (default linux/<host arch>); RegistryError if none."""
    wanted = (platform or f"linux/{host_architecture()}").split("/")
    os_name, arch = wanted[0], wanted[1] if len(wanted) > 1 else host_architecture()
    variant = wanted[2] if len(wanted) > 2 else None
    matches = [e for e in entries
               if e.get("platform", {}).get("os") == os_name
               and e.get("platform", {}).get("architecture") == arch
               and (variant is None or e["platform"].get("variant") == variant)]
    if not matches:
        raise RegistryError(f"{what}: no matching manifest for {'/'.join(wanted)} in the "
                            "manifest list entries")
    return matches[0]


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


def _layer(store, client, repository, descriptor, diff_id, parent, emit):
    """The stored Layer for one descriptor: reused when present, else downloaded and unpacked."""
    digest, size = descriptor["digest"], descriptor.get("size", 0)
    chain = chain_id(parent.chain_id if parent else None, diff_id)
    if store.snapshots.exists(chain) and store.blobs.exists(digest):
        emit({"type": "layer", "digest": digest, "status": "exists", "size": size})
        return store.layer(chain)
    media_type = descriptor.get("mediaType", "")
    if "zstd" in media_type:
        raise RegistryError(f"layer {digest}: {media_type} layers are not supported")
    emit({"type": "layer", "digest": digest, "status": "downloading", "size": size,
          "current": 0})
    created, tar_size = _download(store, client, repository, digest, diff_id, size, emit)
    try:
        layer = store.add_layer_from_blob(digest, diff_id, tar_size, parent)
    except ContentError:
        if created:                      # an unsafe layer leaves no blob behind either
            store.blobs.delete(digest)
        raise
    emit({"type": "layer", "digest": digest, "status": "done", "size": size})
    return layer


def _download(store, client, repository, digest, diff_id, size, emit) -> tuple[bool, int]:
    """Stream a blob into the store checking both digests; (created, uncompressed size)."""
    diff = _DiffHasher()
    response = client.open_blob(repository, digest)
    try:
        with store.blobs.writer() as sink:
            reported = 0
            while chunk := response.read(CHUNK):
                sink.write(chunk)
                diff.update(chunk)
                if sink.size - reported >= PROGRESS_EVERY:
                    reported = sink.size
                    emit({"type": "layer", "digest": digest, "status": "downloading",
                          "size": size, "current": reported})
            actual = diff.finish()
            try:
                sink.commit(expected=digest)
            except ContentError:
                raise ContentError(f"layer {digest} from {client.domain}/{repository} is "
                                   f"corrupt: its content is {sink.digest}") from None
    finally:
        response.close()
    if actual != diff_id:
        if sink.created:
            store.blobs.delete(digest)
        raise ContentError(f"layer {digest}: uncompressed content is "
                           f"{actual or 'not valid gzip'}, the config says {diff_id}")
    return sink.created, diff.size


class _DiffHasher:
    """sha256 of the uncompressed tar inside a gzip (or plain) stream, fed chunk by chunk."""

    def __init__(self):
        self._hash, self.size = hashlib.sha256(), 0
        self._gzip: bool | None = None
        self._decoder = zlib.decompressobj(zlib.MAX_WBITS | 16)
        self._head = b""
        self.broken = False

    def update(self, chunk: bytes) -> None:
        if self.broken:
            return
        if self._gzip is None:
            self._head += chunk
            if len(self._head) < 2:
                return
            self._gzip = self._head.startswith(b"\x1f\x8b")
            chunk, self._head = self._head, b""
        if self._gzip:
            try:
                while chunk:
                    self._add(self._decoder.decompress(chunk))
                    if not self._decoder.eof:
                        break
                    chunk = self._decoder.unused_data   # a multi-member gzip: next member
                    self._decoder = zlib.decompressobj(zlib.MAX_WBITS | 16)
            except zlib.error:
                self.broken = True          # reported by finish(); the blob digest speaks first
        else:
            self._add(chunk)

    def _add(self, data: bytes) -> None:
        self._hash.update(data)
        self.size += len(data)

    def finish(self) -> str | None:
        """The diff digest, or None when the gzip stream was corrupt."""
        if self._gzip is None:
            self._gzip = False
            self._add(self._head)
        return None if self.broken else "sha256:" + self._hash.hexdigest()
