"""Garbage collection of blobs and snapshots no image references; run under the root lock.

A snapshot is kept when an image uses it, when it is younger than the store's grace time and
not part of a just-deleted image (a build in another process may be about to reference it), or
when a kept snapshot sits on top of it. Blobs are kept when a kept image or snapshot names them.
"""
import os
import shutil
import time

from ..errors import DockyardError
from .snapshots import chain_id


def collect(store, index: dict, doomed: list, *, old_orphans: bool) -> tuple[list[str], int]:
    """Delete what `doomed` images used and nothing references any more.

    old_orphans=True also deletes unreferenced snapshots, blobs and crash leftovers older
    than the grace time. Returns (deleted chain ids, topmost first; bytes reclaimed).
    """
    now, grace = time.time(), store.gc_grace
    snapshots, blobs = store.snapshots, store.blobs
    doomed_chains = [layer.chain_id for image in doomed for layer in reversed(image.layers)]
    doomed_blobs = {d for image in doomed for d in _image_blobs(image)}
    for chain in doomed_chains:
        doomed_blobs.update(_compressed(snapshots.meta(chain)))
    keep_chains, keep_blobs = set(), set()
    for record in index["images"].values():
        keep_blobs.add(record["manifest"])
        try:
            manifest, config = store._content_of(record["manifest"])
        except DockyardError:
            continue                       # a corrupt image: keep what we can name, skip the rest
        keep_blobs.add(manifest["config"]["digest"])
        keep_blobs.update(layer["digest"] for layer in manifest.get("layers", []))
        parent = None
        for diff_id in config.get("rootfs", {}).get("diff_ids", []):
            parent = chain_id(parent, diff_id)
            keep_chains.add(parent)
    all_chains = snapshots.chains()
    for chain in all_chains:
        if chain not in doomed_chains and _age(snapshots.mtime, chain, now) < grace:
            keep_chains.add(chain)
    stack = list(keep_chains)              # parents of kept snapshots are kept too
    while stack:
        meta = snapshots.meta(stack.pop())
        if meta is None:
            continue
        keep_blobs.add(meta["digest"])
        keep_blobs.update(_compressed(meta))
        parent = meta.get("parent")
        if parent and parent not in keep_chains:
            keep_chains.add(parent)
            stack.append(parent)
    deleted, reclaimed = [], 0
    doomed_set = set(doomed_chains)
    order = {chain: i for i, chain in enumerate(dict.fromkeys(doomed_chains))}
    for chain in sorted(all_chains, key=lambda c: order.get(c, len(order))):
        if chain in keep_chains:
            continue
        if chain in doomed_set or (old_orphans and _age(snapshots.mtime, chain, now) >= grace):
            reclaimed += snapshots.remove(chain)
            deleted.append(chain)
    for digest in blobs.digests():
        if digest in keep_blobs:
            continue
        if digest in doomed_blobs or (old_orphans and _age(blobs.mtime, digest, now) >= grace):
            reclaimed += blobs.delete(digest)
    if old_orphans:
        reclaimed += _remove_leftovers(store, now, grace)
    return deleted, reclaimed


def _compressed(meta: dict | None) -> list[str]:
    """The compressed blobs a snapshot's layer.json names (pulled, or made for a push)."""
    return [c["digest"] for c in ((meta or {}).get("compressed") or {}).values()]


def _image_blobs(image) -> list[str]:
    return [image.manifest_digest, image.id] + [layer.digest for layer in image.layers]


def _age(mtime_of, key, now) -> float:
    try:
        return now - mtime_of(key)
    except FileNotFoundError:
        return float("inf")


def _remove_leftovers(store, now: float, grace: float) -> int:
    """Temp files and dirs that a crashed writer left behind, once older than the grace time."""
    freed = 0
    for path in store.snapshots.leftovers():
        if _age(lambda p: os.lstat(p).st_mtime, path, now) >= grace:
            shutil.rmtree(path, ignore_errors=True)
    if store.blobs.directory.is_dir():
        for name in os.listdir(store.blobs.directory):
            path = store.blobs.directory / name
            if name.startswith(".tmp-") and _age(lambda p: os.lstat(p).st_mtime, path, now) >= grace:
                freed += os.lstat(path).st_size
                os.unlink(path)
    return freed
