"""The data root as an OCI image layout: `oci-layout` and `index.json` beside `blobs/`.

The tags index (images/index.json) is the truth; this mirror lets standard tools read the
images: `skopeo inspect oci:<root>:docker.io/library/busybox:latest`, `umoci ls --layout <root>`.
Each descriptor carries its manifest's own media type: a pulled Docker schema2 manifest is
labelled as one, so readers parse it as what it is.
"""
import json
import os
from pathlib import Path

from ..errors import BlobNotFound
from .model import INDEX_TYPE, MANIFEST_TYPE, canonical_json

LAYOUT = b'{"imageLayoutVersion":"1.0.0"}'


def write_oci_index(root: Path, blobs, index: dict) -> None:
    """Rewrite `<root>/index.json` from the tags index (atomic rename; derived, so no fsync)."""
    described: dict[str, dict] = {}            # manifest digest -> descriptor, read once each

    def descriptor(image_id: str, annotations: dict | None) -> dict:
        digest = index["images"][image_id]["manifest"]
        if digest not in described:
            described[digest] = _descriptor(blobs, digest)
        return {**described[digest], **({"annotations": annotations} if annotations else {})}

    tagged = set(index["tags"].values())
    manifests = [descriptor(image_id, {"org.opencontainers.image.ref.name": ref,
                                       "io.containerd.image.name": ref})
                 for ref, image_id in sorted(index["tags"].items())]
    manifests += [descriptor(image_id, None)
                  for image_id in sorted(index["images"]) if image_id not in tagged]
    if not (root / "oci-layout").exists():
        _replace(root / "oci-layout", LAYOUT)
    _replace(root / "index.json", canonical_json(
        {"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": manifests}))


def _descriptor(blobs, digest: str) -> dict:
    """mediaType, digest and size of a stored manifest.

    Read without verifying: this only labels the blob, and a corrupt manifest is reported by
    the readers that use it, not by every tag operation that rewrites this mirror.
    """
    try:
        data = blobs.path(digest).read_bytes()
    except FileNotFoundError:
        raise BlobNotFound(f"blob {digest} not found") from None
    try:
        media_type = json.loads(data).get("mediaType") or MANIFEST_TYPE
    except (ValueError, AttributeError):
        media_type = MANIFEST_TYPE
    return {"mediaType": media_type, "digest": digest, "size": len(data)}


def _replace(path: Path, data: bytes) -> None:
    """Write `path` by renaming a temp file over it."""
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    temp.write_bytes(data)
    os.rename(temp, path)
