"""`docker push`: an image's blobs (skipping those the registry has), then its manifest by tag.

    result = push(store, "127.0.0.1:5000/app:1", on_event=print, compression="zstd")
    result["digest"]                    # the manifest digest the registry stores

Layers made here are stored unpacked (image/layerdata.py); a push compresses each one the first
time it is needed, with gzip on every core or zstd (`compression`, else $DOCKYARD_COMPRESSION,
else `"compression"` in `<data_root>/registries.json`, else gzip), uploading it while it is
compressed (one streamed PATCH, then the PUT with its digest), and keeps the blob for the
next push. A pulled layer goes as it came when the registry has its blob or can mount it from
where it was pulled, else it is compressed like the rest. When any layer changed
form, the pushed manifest is an OCI manifest naming the compressed blobs; the image's id (its
config) stays, and the pushed manifest's digest becomes one of its repo digests.

A blob the registry lacks is mounted from another repository of the same registry when a local
image holding it came from or went there (its RepoDigests say so), else uploaded: one PUT, or
PATCH chunks when `chunk_size` is set and the blob is larger. Events: `{"type": "layer" (or
"config"), "digest", "size", "status": "preparing"|"exists"|"mounted"|"uploading"|"done"}`
(every layer is "preparing" first, as docker push shows them; uploading repeats with "current"
bytes; a layer's events also carry its diff id as "layer", the id Docker shows), then
`{"type": "pushed", "ref", "digest", "size"}`.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import InvalidArgument, RegistryError
from ..image import reference
from ..image.blobs import sha256_digest
from ..image.compression import COMPRESSIONS, GZIP_TYPE, TAR_TYPE
from ..image.model import CONFIG_TYPE, MANIFEST_TYPE, canonical_json
from ..image.platform import check
from .client import SETTINGS_FILE, RegistryClient

DOCKER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def compression_setting(root, asked: str | None = None) -> str:
    """gzip or zstd: `asked`, else $DOCKYARD_COMPRESSION, else registries.json, else gzip."""
    kind = asked or os.environ.get("DOCKYARD_COMPRESSION")
    if not kind and root is not None:
        try:
            kind = json.loads((Path(root) / SETTINGS_FILE).read_text()).get("compression")
        except (FileNotFoundError, ValueError, AttributeError):
            kind = None
    kind = kind or "gzip"
    if kind not in COMPRESSIONS:
        raise InvalidArgument(f"invalid compression {kind!r}: use gzip or zstd")
    return kind


def push(store, name: str, *, client: RegistryClient | None = None, on_event=None,
         chunk_size: int | None = None, compression: str | None = None,
         platform: str | None = None) -> dict:
    """Push the local image `name` to the registry its name points at; {"ref", "digest", "size"}.

    With `platform` the image must be for it (as `docker push --platform` picks one image of
    several; an image here is for one platform), else ImageNotFound in Docker's words."""
    ref = reference.parse(name)
    if ref.digest:
        raise InvalidArgument(f"cannot push a digest reference: {name}")
    kind = compression_setting(store.root, compression)
    image = store.get(str(ref))
    check(image.config, platform, str(ref))
    if client is None:
        with RegistryClient(ref.domain, root=store.root) as client:
            return push(store, name, client=client, on_event=on_event, chunk_size=chunk_size,
                        compression=compression)
    emit = on_event or (lambda event: None)
    manifest_bytes = store.blobs.read(image.manifest_digest)
    manifest = json.loads(manifest_bytes)
    sources = _mount_sources(store, ref)
    pairs = list(zip(image.layers, manifest.get("layers", [])))
    for layer, descriptor in pairs:
        emit({"type": "layer", "layer": layer.diff_id, "digest": descriptor["digest"],
              "status": "preparing", "size": descriptor.get("size", 0)})
    pushed = [_push_layer(store, client, ref.path, layer, descriptor, kind, sources,
                          chunk_size, lambda event, layer=layer: emit({**event,
                                                                       "layer": layer.diff_id}))
              for layer, descriptor in pairs]
    config = manifest["config"]
    _push_blob(store, client, ref.path, config["digest"], store.blobs.size(config["digest"]),
               [], chunk_size, lambda event: emit({**event, "type": "config"}))
    if pushed != manifest.get("layers", []):
        manifest_bytes = _oci_manifest(config, pushed)
        store.blobs.put(manifest_bytes)
    scope = client.scope(ref.path, "pull,push")
    media_type = json.loads(manifest_bytes).get("mediaType") or MANIFEST_TYPE
    answered = client.put_manifest(ref.path, ref.tag, manifest_bytes, media_type, scope)
    digest = sha256_digest(manifest_bytes)
    if answered and answered != digest:
        raise RegistryError(f"{ref}: the registry stored the manifest as {answered}, "
                            f"expected {digest}")
    store.add_repo_digest(image, f"{ref.name}@{digest}")
    result = {"ref": str(ref), "digest": digest, "size": len(manifest_bytes)}
    emit({"type": "pushed", **result})
    return result


def _push_layer(store, client, repository, layer, descriptor, kind, sources, chunk_size,
                emit) -> dict:
    """Push one layer; the descriptor the pushed manifest names it by."""
    digest = descriptor["digest"]
    if descriptor.get("mediaType") != TAR_TYPE and digest != layer.diff_id:
        # Compressed as pulled: the registry has it, can mount it, or we still hold it.
        if _reuse(store, client, repository, digest, descriptor.get("size", 0),
                  sources.get(digest, []), chunk_size, emit):
            return descriptor
    blob = store.cached_compressed_layer(layer, kind)
    if blob is None:
        blob = _stream_layer(store, client, repository, layer, kind, chunk_size, emit)
    else:
        _push_blob(store, client, repository, blob["digest"], blob["size"],
                   sources.get(blob["digest"], []), chunk_size, emit)
    return {"mediaType": blob["mediaType"], "digest": blob["digest"], "size": blob["size"]}


def _stream_layer(store, client, repository, layer, kind, chunk_size, emit) -> dict:
    """Upload a layer never compressed before while it is compressed (and kept for the next
    push): its digest is known only at the end, so the registry can't be asked first whether
    it has it; progress counts against the uncompressed size, as docker push shows it."""
    scope = client.scope(repository, "pull,push")
    location = client.start_upload(repository, scope)
    emit({"type": "layer", "digest": layer.diff_id, "status": "uploading", "size": layer.size,
          "current": 0})
    with store.compressing_layer(layer, kind) as stream:
        location = client.upload_stream(
            location, stream, scope, chunk_size=chunk_size,
            on_progress=lambda current: emit({"type": "layer", "digest": layer.diff_id,
                                              "status": "uploading", "size": layer.size,
                                              "current": current}))
        blob = stream.result()
    client.finish_upload(location, blob["digest"], scope)
    emit({"type": "layer", "digest": blob["digest"], "status": "done", "size": blob["size"]})
    return blob


def _reuse(store, client, repository, digest, size, sources, chunk_size, emit) -> bool:
    """Push a pulled layer's own blob when that costs no recompression; False otherwise."""
    scope = client.scope(repository, "pull,push")
    if store.blobs.exists(digest) or client.blob_exists(repository, digest, scope):
        _push_blob(store, client, repository, digest, size, sources, chunk_size, emit)
        return True
    for source in sources[:1]:
        if client.start_upload(repository, f"{scope} {client.scope(source)}", mount=digest,
                               source=source) is None:
            emit({"type": "layer", "digest": digest, "status": "mounted", "size": size,
                  "from": source})
            return True
    return False


def _oci_manifest(config: dict, layers: list[dict]) -> bytes:
    """An OCI manifest for `config` and `layers` (Docker's gzip type named the OCI way)."""
    return canonical_json({
        "schemaVersion": 2, "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "digest": config["digest"],
                   "size": config["size"]},
        "layers": [{**d, "mediaType": GZIP_TYPE if d.get("mediaType") == DOCKER_GZIP
                    else d["mediaType"]} for d in layers]})


def _mount_sources(store, ref) -> dict[str, list[str]]:
    """{blob digest: other repositories of ref's registry it was pulled from or pushed to}."""
    sources: dict[str, list[str]] = {}
    for image in store.list():
        for name in {d.split("@", 1)[0] for d in image.repo_digests}:
            other = reference.parse(name)
            if other.domain != ref.domain or other.path == ref.path:
                continue
            for layer in image.layers:
                meta = store.snapshots.meta(layer.chain_id) or {}
                known = {layer.digest} | {c["digest"] for c in
                                          (meta.get("compressed") or {}).values()}
                for digest in known:
                    sources.setdefault(digest, []).append(other.path)
    return sources


def _push_blob(store, client, repository, digest, size, sources, chunk_size, emit) -> None:
    scope = client.scope(repository, "pull,push")
    if client.blob_exists(repository, digest, scope):
        emit({"type": "layer", "digest": digest, "status": "exists", "size": size})
        return
    location = None
    for source in sources[:1]:           # a mount is one request: worth one try
        mount_scope = f"{scope} {client.scope(source)}"
        location = client.start_upload(repository, mount_scope, mount=digest, source=source)
        if location is None:
            emit({"type": "layer", "digest": digest, "status": "mounted", "size": size,
                  "from": source})
            return
    if location is None:
        location = client.start_upload(repository, scope)
    emit({"type": "layer", "digest": digest, "status": "uploading", "size": size, "current": 0})

    def progress(current: int) -> None:
        emit({"type": "layer", "digest": digest, "status": "uploading", "size": size,
              "current": current})
    with store.blobs.open(digest) as f:
        client.upload_blob(location, digest, f, size, scope, chunk_size=chunk_size,
                           on_progress=progress)
    emit({"type": "layer", "digest": digest, "status": "done", "size": size})
