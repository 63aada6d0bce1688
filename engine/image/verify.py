"""Verify the image store: blobs against their digests, images against their blobs, snapshots
against the images that reference them; repair what can be rebuilt from what is sound.

    findings = verify(store, repair=True)     # [(problem text, repaired?)]

Repairs: an unreferenced corrupt blob is deleted; a missing or half-written snapshot is
unpacked again from its layer blob; a missing or wrong `l/` link is made again. A corrupt blob
that an image needs can't be repaired here (pull or build the image again).
"""
from __future__ import annotations

import json
import os
import zlib

from ..errors import DockyardError
from .snapshots import chain_id, link_name

_CHUNK = 1 << 20


def verify(store, repair: bool = False) -> tuple[list[tuple[str, bool]], dict]:
    """(findings, counts of what was checked)."""
    findings: list[tuple[str, bool]] = []
    index = store.index.read()
    needed = _needed_blobs(store, index, findings)
    digests = store.blobs.digests()
    for digest in digests:
        try:
            store.blobs.verify(digest)
        except DockyardError:
            users = needed.get(digest)
            if users:
                findings.append((f"blob {digest} is corrupt; image {users} needs it: remove the "
                                 "image and pull or build it again", False))
            else:
                if repair:
                    store.blobs.delete(digest)
                findings.append((f"blob {digest} is corrupt and unused"
                                 + (": deleted" if repair else ""), repair))
    snapshots = _verify_snapshots(store, repair, findings)
    for image_id, record in index["images"].items():
        _verify_image_layers(store, image_id, record, repair, findings)
    return findings, {"blobs": len(digests), "images": len(index["images"]),
                      "snapshots": snapshots}


def _needed_blobs(store, index, findings) -> dict[str, str]:
    """{blob digest: short id of an image that needs it}; unreadable images are findings.

    Manifests and configs are needed. A layer's blob is only a cache of its snapshot (the
    truth: layerdata.py rebuilds the tar and its compressed forms from it), so it is needed
    only where the snapshot is gone, and _verify_image_layers reports it if it is missing."""
    needed = {}
    for image_id, record in index["images"].items():
        short = image_id.split(":")[-1][:12]
        needed[record["manifest"]] = short
        try:
            manifest = json.loads(store.blobs.path(record["manifest"]).read_bytes())
            needed[manifest["config"]["digest"]] = short
            config = json.loads(store.blobs.path(manifest["config"]["digest"]).read_bytes())
            parent = None
            for layer, diff_id in zip(manifest.get("layers", []), config["rootfs"]["diff_ids"]):
                parent = chain_id(parent, diff_id)
                if layer["digest"] != diff_id and not store.snapshots.exists(parent) \
                        and store.blobs.exists(layer["digest"]):
                    needed[layer["digest"]] = short
        except (OSError, ValueError, KeyError, TypeError):
            if _corrupt(store, [d for d, user in needed.items() if user == short]):
                continue                    # the blob loop reports it, with what to do
            findings.append((f"image {short}: its manifest or config is missing or unreadable: "
                             "remove the image and pull or build it again", False))
    return needed


def _corrupt(store, digests) -> bool:
    """Whether one of `digests` is there but doesn't hold what its name says."""
    for digest in digests:
        try:
            if store.blobs.exists(digest):
                store.blobs.verify(digest)
        except DockyardError:
            return True
    return False


def _verify_snapshots(store, repair, findings) -> int:
    """Each snapshot directory is complete (layer.json names it) and its link points at it."""
    root = store.snapshots.root
    names = [n for n in os.listdir(root) if len(n) == 64] if root.is_dir() else []
    for name in names:
        chain = "sha256:" + name
        try:
            meta = store.snapshots.meta(chain)
        except ValueError:                  # a torn layer.json
            meta = None
        if meta is None or meta.get("chain_id") != chain or not (root / name / "diff").is_dir():
            if repair:
                with store.lock():
                    store.snapshots.remove(chain)
            findings.append((f"snapshot {name[:12]} is incomplete" + (": removed (unpacked again "
                             "below if an image needs it)" if repair else ""), repair))
            continue
        link = root / "l" / link_name(chain)
        if not os.path.islink(link) or os.readlink(link) != f"../{name}/diff":
            if repair:
                with store.lock():
                    link.parent.mkdir(exist_ok=True)
                    link.unlink(missing_ok=True)
                    os.symlink(f"../{name}/diff", link)
            findings.append((f"snapshot {name[:12]}: its link l/{link.name} is missing or wrong"
                             + (": made again" if repair else ""), repair))
    return len(names)


def _verify_image_layers(store, image_id, record, repair, findings) -> None:
    """Every layer of the image has its snapshot; a missing one is unpacked from its blob."""
    short = image_id.split(":")[-1][:12]
    try:
        manifest, config = store._content_of(record["manifest"])
    except DockyardError:
        return                              # reported with the blobs
    parent = None
    for descriptor, diff_id in zip(manifest.get("layers", []), config["rootfs"]["diff_ids"]):
        chain = chain_id(parent.chain_id if parent else None, diff_id)
        meta = store.snapshots.meta(chain)
        if meta is not None and meta.get("diff_id") == diff_id:
            parent = store.layer(chain)
            continue
        digest = descriptor["digest"]
        fixable = store.blobs.exists(digest)
        what = f"image {short}: the snapshot of layer {digest[7:19]} is missing"
        if repair and fixable:
            try:
                parent = store.add_layer_from_blob(digest, diff_id, _tar_size(store, digest),
                                                   parent)
                findings.append((what + ": unpacked again from its blob", True))
                continue
            except DockyardError as exc:
                what += f" and unpacking it failed: {exc}"
        findings.append((what + ("" if fixable else " and so is its blob: pull or build the "
                                 "image again"), False))
        return


def _tar_size(store, digest: str) -> int:
    """Bytes of the uncompressed tar in a (gzip or plain) layer blob."""
    size, inflate = 0, None
    with store.blobs.open(digest) as f:
        while chunk := f.read(_CHUNK):
            if inflate is None:
                inflate = zlib.decompressobj(31) if chunk[:2] == b"\x1f\x8b" else False
            size += len(inflate.decompress(chunk)) if inflate else len(chunk)
    return size

