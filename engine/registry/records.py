"""Record an image whose config and manifest bytes came from elsewhere (a registry, an archive).

The store's `create_image()` writes its own canonical config and manifest; a pulled image must
keep the registry's bytes, so that its id is the registry's config digest and a pull by digest
finds it by its manifest digest. `RepoDigests` (`name@sha256:...`) live in the image's index
record under "repo_digests".
"""
from __future__ import annotations

import json
import time

from ..errors import ContentError
from ..image import reference
from ..image.blobs import sha256_digest
from ..image.snapshots import chain_id


def record_image(store, config: bytes, manifest: bytes, *, tags=(), repo_digest: str | None = None):
    """Put the config and manifest blobs and point the index (and `tags`) at them; the Image.

    The layers the manifest names must already be stored with their snapshots.
    """
    refs = [str(reference.parse(t)) for t in tags]
    image_id = sha256_digest(config)
    _check_layers(store, json.loads(config))
    with store.lock():
        store.blobs.put(config)
        manifest_digest = store.blobs.put(manifest)
        index = store._read_index()
        record = index["images"].get(image_id)
        if record is None or record["manifest"] != manifest_digest:
            old = record.get("repo_digests", []) if record else []
            record = index["images"][image_id] = {"manifest": manifest_digest,
                                                  "added": time.time()}
            if old:
                record["repo_digests"] = old
        if repo_digest:
            add_repo_digest(record, repo_digest)
        for ref in refs:
            index["tags"][ref] = image_id
        store._write_index(index)
        return store._image(image_id, index)


def _check_layers(store, config: dict) -> None:
    chain = None
    for diff_id in config.get("rootfs", {}).get("diff_ids", []):
        chain = chain_id(chain, diff_id)
        if not store.snapshots.exists(chain):
            raise ContentError(f"layer {diff_id} of the image was not stored")


def add_repo_digest(record: dict, repo_digest: str) -> None:
    """Keep one digest per repository, the newest, as Docker shows RepoDigests."""
    name = repo_digest.split("@", 1)[0]
    kept = [d for d in record.get("repo_digests", []) if d.split("@", 1)[0] != name]
    record["repo_digests"] = kept + [repo_digest]


def repo_digests(store, image) -> list[str]:
    """The image's RepoDigests (full names: `127.0.0.1:5000/busybox@sha256:...`)."""
    index = store._read_index()
    record = index["images"].get(image.id) or {}
    return list(record.get("repo_digests", []))


def remember_push(store, image, repo_digest: str) -> None:
    """Record the digest a push produced for `image`."""
    with store.lock():
        index = store._read_index()
        record = index["images"].get(image.id)
        if record is not None:
            add_repo_digest(record, repo_digest)
            store._write_index(index)
