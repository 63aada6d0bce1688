"""The data root as an OCI image layout: `oci-layout` and `index.json` beside `blobs/`.

The tags index (images/index.json) is the truth; this mirror lets standard tools read the
images: `skopeo inspect oci:<root>:docker.io/library/busybox:latest`, `umoci ls --layout <root>`.
"""
import os
from pathlib import Path

from .model import INDEX_TYPE, MANIFEST_TYPE, canonical_json

LAYOUT = b'{"imageLayoutVersion":"1.0.0"}'


def write_oci_index(root: Path, blobs, index: dict) -> None:
    """Rewrite `<root>/index.json` from the tags index (atomic rename; derived, so no fsync)."""
    tagged = set(index["tags"].values())
    manifests = [_descriptor(blobs, index, image_id, {"org.opencontainers.image.ref.name": ref,
                                                      "io.containerd.image.name": ref})
                 for ref, image_id in sorted(index["tags"].items())]
    manifests += [_descriptor(blobs, index, image_id, None)
                  for image_id in sorted(index["images"]) if image_id not in tagged]
    if not (root / "oci-layout").exists():
        _replace(root / "oci-layout", LAYOUT)
    _replace(root / "index.json", canonical_json(
        {"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": manifests}))


def _descriptor(blobs, index: dict, image_id: str, annotations: dict | None) -> dict:
    digest = index["images"][image_id]["manifest"]
    descriptor = {"mediaType": MANIFEST_TYPE, "digest": digest, "size": blobs.size(digest)}
    if annotations:
        descriptor["annotations"] = annotations
    return descriptor


def _replace(path: Path, data: bytes) -> None:
    """Write `path` by renaming a temp file over it."""
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    temp.write_bytes(data)
    os.rename(temp, path)
