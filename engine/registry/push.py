"""`docker push`: an image's blobs (skipping those the registry has), then its manifest by tag.

    result = push(store, "127.0.0.1:5000/app:1", on_event=print)
    result["digest"]                    # the manifest digest the registry stores

A blob the registry lacks is mounted from another repository of the same registry when a local
image holding it came from or went there (its RepoDigests say so), else uploaded: one PUT, or PATCH chunks when
`chunk_size` is set and the blob is larger. Events: `{"type": "layer" (or "config"), "digest", "size",
"status": "exists"|"mounted"|"uploading"|"done"}` (uploading repeats with "current" bytes when
chunked), then `{"type": "pushed", "ref", "digest", "size"}`.
"""
from __future__ import annotations

import json

from ..errors import InvalidArgument, RegistryError
from ..image import reference
from ..image.blobs import sha256_digest
from ..image.model import MANIFEST_TYPE
from .client import RegistryClient


def push(store, name: str, *, client: RegistryClient | None = None, on_event=None,
         chunk_size: int | None = None) -> dict:
    """Push the local image `name` to the registry its name points at; {"ref", "digest", "size"}."""
    ref = reference.parse(name)
    if ref.digest:
        raise InvalidArgument(f"cannot push a digest reference: {name}")
    image = store.get(str(ref))
    client = client or RegistryClient(ref.domain, root=store.root)
    emit = on_event or (lambda event: None)
    manifest_bytes = store.blobs.read(image.manifest_digest)
    manifest = json.loads(manifest_bytes)
    sources = _mount_sources(store, ref)
    for kind, descriptor in [*(("layer", d) for d in manifest.get("layers", [])),
                             ("config", manifest["config"])]:
        _push_blob(store, client, ref.path, descriptor["digest"],
                   sources.get(descriptor["digest"], []), chunk_size,
                   lambda event, kind=kind: emit({**event, "type": kind}))
    scope = client.scope(ref.path, "pull,push")
    media_type = manifest.get("mediaType") or MANIFEST_TYPE
    answered = client.put_manifest(ref.path, ref.tag, manifest_bytes, media_type, scope)
    digest = sha256_digest(manifest_bytes)
    if answered and answered != digest:
        raise RegistryError(f"{ref}: the registry stored the manifest as {answered}, "
                            f"expected {digest}")
    store.add_repo_digest(image, f"{ref.name}@{digest}")
    result = {"ref": str(ref), "digest": digest, "size": len(manifest_bytes)}
    emit({"type": "pushed", **result})
    return result


def _mount_sources(store, ref) -> dict[str, list[str]]:
    """{layer digest: other repositories of ref's registry it was pulled from or pushed to}."""
    sources: dict[str, list[str]] = {}
    for image in store.list():
        for name in {d.split("@", 1)[0] for d in image.repo_digests}:
            other = reference.parse(name)
            if other.domain != ref.domain or other.path == ref.path:
                continue
            for layer in image.layers:
                sources.setdefault(layer.digest, []).append(other.path)
    return sources


def _push_blob(store, client, repository, digest, sources, chunk_size, emit) -> None:
    size = store.blobs.size(digest)
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
