"""The image store: OCI blobs, layer snapshots and a tags index under one data root.

    store = ImageStore(root)
    base = store.add_layer_from_tar("rootfs.tar", None)
    image = store.create_image({"config": {"Cmd": ["sh"]}}, [base], tags=["me/app:1"])
    store.get("me/app:1").id == image.id          # sha256 of the config JSON

Layout: `blobs/sha256/<hex>` (manifests, configs, and compressed layers once pulled or
pushed), `images/index.json` (image records and tags, see index.py), `snapshots/` (the unpacked
layers, the truth: see snapshots.py, layerstore.py and layerdata.py), `lock`. Every mutation
holds the flock on `lock`; every file appears by an atomic rename, so readers need no lock and
see old or new state. Configs and manifests pulled or loaded keep their exact bytes
(`add_image`); so do layers, rebuilt from their snapshots (`layer_tar`).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from ..errors import ContentError, ImageNotFound, InvalidArgument
from . import gc, reference
from .blobs import BlobStore, sha256_digest
from .index import (ImageIndex, dangling, keep_repo_digest, removal, resolve, set_manifest,
                    tags_of)
from .layerdata import descriptor as describe_layer
from .layerstore import LayerStore
from .lock import root_lock
from .model import (CONFIG_TYPE, MANIFEST_TYPE, Image, Layer, canonical_json,
                    host_architecture, parse_time, rfc3339)
from .snapshots import Snapshots, chain_id, link_name, read_merged

GC_GRACE_S = 3600.0   # unreferenced layers younger than this may belong to a build in progress


class ImageStore(LayerStore):
    """Images, tags, layers and snapshots of one data root; safe across processes."""

    def __init__(self, root: Path, *, gc_grace: float = GC_GRACE_S):
        self.root = Path(root)
        self.blobs = BlobStore(self.root)
        self.snapshots = Snapshots(self.root)
        self.gc_grace = gc_grace
        self.index = ImageIndex(self.root, self.blobs)
        self._content: dict[str, tuple[dict, dict]] = {}   # manifest digest -> (manifest, config)

    # -- locking ---------------------------------------------------------------------------

    def lock(self):
        """Context manager: the exclusive flock on `<root>/lock`, re-entrant in this process."""
        return root_lock(self.root)

    @property
    def snapshots_root(self) -> Path:
        """The directory to chdir to before mounting with `lowerdirs()`' relative names."""
        return self.snapshots.root

    # -- reading images --------------------------------------------------------------------

    def _content_of(self, manifest_digest: str) -> tuple[dict, dict]:
        """The verified manifest and config (cached: content-addressed, so never stale)."""
        cached = self._content.get(manifest_digest)
        if cached is None:
            manifest = json.loads(self.blobs.read(manifest_digest))
            config = json.loads(self.blobs.read(manifest["config"]["digest"]))
            cached = self._content[manifest_digest] = (manifest, config)
        return cached

    def _image(self, image_id: str, index: dict) -> Image:
        record = index["images"][image_id]
        manifest, config = self._content_of(record["manifest"])
        layers, parent = [], None
        descriptors = manifest.get("layers", [])
        diff_ids = config.get("rootfs", {}).get("diff_ids", [])
        if len(descriptors) != len(diff_ids):
            raise ContentError(f"image {image_id}: manifest has {len(descriptors)} layers, "
                               f"config {len(diff_ids)} diff_ids")
        for descriptor, diff_id in zip(descriptors, diff_ids):
            parent = chain_id(parent, diff_id)
            meta = self.snapshots.meta(parent) or {}
            layers.append(Layer(descriptor["digest"], diff_id, meta.get("size", 0), parent,
                                self.snapshots.diff_dir(parent), link_name(parent)))
        return Image(image_id, config, tuple(layers), tags=tuple(tags_of(index, image_id)),
                     manifest_digest=record["manifest"], added=record.get("added", 0.0),
                     repo_digests=tuple(record.get("repo_digests", ())))

    @staticmethod
    def _resolve(index: dict, text) -> tuple[str, str | None]:
        return resolve(index, text.id if isinstance(text, Image) else text)

    def get(self, ref_or_id) -> Image:
        """The image a reference, tag, full or short id names; ImageNotFound if none."""
        index = self.index.read()
        image_id, _ = self._resolve(index, ref_or_id)
        return self._image(image_id, index)

    def list(self) -> list[Image]:
        """Every image, newest first (by config `created`, then by when it was added)."""
        index = self.index.read()
        images = [self._image(i, index) for i in index["images"]]
        return sorted(images, key=lambda im: (parse_time(im.created), im.added), reverse=True)

    # -- tags ------------------------------------------------------------------------------

    def tag(self, image_or_ref, new_ref: str) -> None:
        """Point `new_ref` (normalized; no digest allowed) at the image; moves an existing tag."""
        ref = reference.parse(new_ref)
        if ref.digest:
            raise InvalidArgument(f"refusing to create a tag with a digest reference: {new_ref}")
        with self.lock():
            index = self.index.read()
            image_id, _ = self._resolve(index, image_or_ref)
            index["tags"][str(ref)] = image_id
            self.index.write(index)

    def untag(self, ref: str) -> None:
        """Remove one tag; the image and its layers stay (maybe dangling). ImageNotFound if absent."""
        name = reference.normalize(ref)
        with self.lock():
            index = self.index.read()
            if name not in index["tags"]:
                raise ImageNotFound(f"No such image: {ref}")
            del index["tags"][name]
            self.index.write(index)

    # -- removal and pruning ---------------------------------------------------------------

    def remove(self, ref_or_id, *, force: bool = False, in_use=frozenset()) -> list[dict]:
        """Docker's `rmi`: untag, and delete the image once no tag remains and no container uses it.

        Returns `[{"Untagged": "busybox:latest"}, {"Deleted": "sha256:..."}, ...]`. Conflict when a
        container uses the image (unless force, which only untags), or when an id names an image
        tagged in several repositories (unless force).
        """
        with self.lock():
            index = self.index.read()
            image_id, tag = self._resolve(index, ref_or_id)
            tags, delete = removal(index, image_id, tag, force=force,
                                   used=image_id in in_use, asked=ref_or_id)
            result = [{"Untagged": reference.familiar(t)} for t in tags]
            for t in tags:
                del index["tags"][t]
            if not delete:
                self.index.write(index)
                return result
            doomed = self._image(image_id, index)
            del index["images"][image_id]
            self.index.write(index)
            result.append({"Deleted": image_id})
            deleted, _ = gc.collect(self, index, [doomed], old_orphans=False)
            result.extend({"Deleted": chain} for chain in deleted)
            return result

    def prune(self, *, in_use=frozenset(), all: bool = False) -> dict:
        """Remove dangling images (all unused ones with all=True), then unreferenced content.

        Dangling: neither tagged nor pulled by digest (no repo digests), as in Docker.

        Layers not referenced by any image are removed once older than the store's grace time,
        so a build in another process keeps the layers it has made but not yet tagged.
        """
        with self.lock():
            index = self.index.read()
            victims = [i for i in index["images"]
                       if i not in in_use and (all or dangling(index, i))]
            report, doomed = [], []
            for image_id in sorted(victims):
                doomed.append(self._image(image_id, index))
                for t in tags_of(index, image_id):
                    report.append({"Untagged": reference.familiar(t)})
                    del index["tags"][t]
                del index["images"][image_id]
                report.append({"Deleted": image_id})
            self.index.write(index)
            deleted, reclaimed = gc.collect(self, index, doomed, old_orphans=True)
            report.extend({"Deleted": chain} for chain in deleted)
            return {"ImagesDeleted": report, "SpaceReclaimed": reclaimed}

    # -- layers (the rest is in layerstore.py) ------------------------------------------

    def layer(self, chain: str) -> Layer:
        """The Layer of an existing snapshot; ImageNotFound if there is none."""
        meta = self.snapshots.meta(chain)
        if meta is None:
            raise ImageNotFound(f"no layer snapshot {chain}")
        return Layer(meta["digest"], meta["diff_id"], meta["size"], chain,
                     self.snapshots.diff_dir(chain), link_name(chain))

    # -- images ----------------------------------------------------------------------------

    def create_image(self, config: dict, layers: list[Layer], *, tags=(),
                     history: list[dict] | None = None) -> Image:
        """Write the OCI config and manifest for `layers` and record the image; tags move to it.

        `config` is the OCI image config without `rootfs` (filled in from the layers);
        `architecture`, `os` and `created` default to the host's and now.
        """
        config = dict(config)
        config.setdefault("architecture", host_architecture())
        config.setdefault("os", "linux")
        config.setdefault("created", rfc3339(time.time()))
        config.setdefault("config", {})
        config["rootfs"] = {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]}
        if history is not None:
            config["history"] = list(history)
        config_bytes = canonical_json(config)
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": CONFIG_TYPE, "digest": sha256_digest(config_bytes),
                       "size": len(config_bytes)},
            "layers": [describe_layer(self, layer) for layer in layers],
        }
        return self.add_image(config_bytes, canonical_json(manifest), tags=tags)

    def add_image(self, config_bytes: bytes, manifest_bytes: bytes, tags=(),
                  repo_digest: str | None = None) -> Image:
        """Record an image keeping the exact config and manifest bytes; tags move to it.

        The id is the digest of `config_bytes` as given (a registry's or an archive's bytes,
        byte for byte). The layers must already be stored (add_layer_*), else ContentError.
        `repo_digest` (`name@sha256:...`) becomes one of the image's repo digests.
        """
        refs = [reference.parse(t) for t in tags]
        if any(r.digest for r in refs):
            raise InvalidArgument("refusing to create a tag with a digest reference")
        pinned = reference.parse(repo_digest) if repo_digest else None
        if pinned is not None and not pinned.digest:
            raise InvalidArgument(f"repo digest {repo_digest!r} has no @digest")
        image_id = sha256_digest(config_bytes)
        self._check_new_image(image_id, config_bytes, manifest_bytes)
        with self.lock():
            self.blobs.put(config_bytes)
            manifest_digest = self.blobs.put(manifest_bytes)
            index = self.index.read()
            before = json.dumps(index, sort_keys=True)
            record = set_manifest(index, image_id, manifest_digest)
            if pinned is not None:
                keep_repo_digest(record, f"{pinned.name}@{pinned.digest}")
            for ref in refs:
                index["tags"][str(ref)] = image_id
            if json.dumps(index, sort_keys=True) != before:   # a cached rebuild changes nothing
                self.index.write(index)
            return self._image(image_id, index)

    def _check_new_image(self, image_id: str, config_bytes: bytes, manifest_bytes: bytes):
        """ContentError unless the manifest names this config and every layer is stored."""
        try:
            manifest, config = json.loads(manifest_bytes), json.loads(config_bytes)
        except ValueError as exc:
            raise ContentError(f"image {image_id}: manifest or config is not JSON: {exc}") from exc
        named = manifest.get("config", {}).get("digest")
        if named != image_id:
            raise ContentError(f"the manifest names config {named}, the config is {image_id}")
        diff_ids = config.get("rootfs", {}).get("diff_ids", [])
        if len(diff_ids) != len(manifest.get("layers", [])):
            raise ContentError(f"image {image_id}: manifest has {len(manifest.get('layers', []))}"
                               f" layers, config {len(diff_ids)} diff_ids")
        chain = None
        for diff_id in diff_ids:
            chain = chain_id(chain, diff_id)
            if not self.snapshots.exists(chain):
                raise ContentError(f"layer {diff_id} of the image was not stored")

    def add_repo_digest(self, image: Image, repo_digest: str) -> None:
        """Remember `name@sha256:...` (a push made it) as one of the image's repo digests.

        One per repository, the newest. Nothing happens when the image was removed meanwhile.
        """
        pinned = reference.parse(repo_digest)
        if not pinned.digest:
            raise InvalidArgument(f"repo digest {repo_digest!r} has no @digest")
        with self.lock():
            index = self.index.read()
            record = index["images"].get(image.id)
            if record is not None:
                keep_repo_digest(record, f"{pinned.name}@{pinned.digest}")
                self.index.write(index)

    def lowerdirs(self, image: Image) -> list[str]:
        """The image's snapshots as `l/<LINK>` names relative to snapshots_root, topmost first."""
        for layer in image.layers:
            if not layer.snapshot.is_dir():
                raise ContentError(f"image {image.short_id}: layer snapshot {layer.chain_id} "
                                   "is missing")
        return [f"l/{layer.link}" for layer in reversed(image.layers)]

    def read_file(self, image: Image, path: str) -> bytes | None:
        """A file's bytes as a container of `image` would see it at `path`, or None."""
        return read_merged([layer.snapshot for layer in reversed(image.layers)], path)

    def history(self, image: Image) -> list[dict]:
        """`docker history`: newest first, with id, created, created_by, size, comment, tags."""
        from .inspect import history
        return history(image)

    def inspect(self, image: Image) -> dict:
        """Docker-shaped `image inspect` JSON."""
        from .inspect import inspect
        return inspect(image)

    export_config = inspect


