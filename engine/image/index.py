"""The images index, `<root>/images/index.json`: image records and tags, read and written whole.

    {"images": {"sha256:<config>": {"manifest": "sha256:...", "added": 1714560000.0,
                                    "repo_digests": ["127.0.0.1:5000/app@sha256:..."]}},
     "tags": {"docker.io/library/busybox:latest": "sha256:<config>"}}

Writers hold the store's lock and replace the file by an atomic rename, so readers need no
lock. Every write also refreshes the OCI layout's `<root>/index.json` (layout.py). The functions
below work on the dict `ImageIndex.read()` returns; nothing here touches blobs or snapshots.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ..errors import Conflict, ContentError, ImageNotFound, InvalidArgument
from . import reference
from .layout import write_oci_index


class ImageIndex:
    """Reads and writes `<root>/images/index.json` (and its OCI layout mirror)."""

    def __init__(self, root: Path, blobs):
        self.root = Path(root)
        self.blobs = blobs
        self.path = self.root / "images" / "index.json"

    def read(self) -> dict:
        """The index as a dict with "images" and "tags"; empty when there is no file yet."""
        try:
            index = json.loads(self.path.read_text())
        except FileNotFoundError:
            index = {}
        except ValueError as exc:
            raise ContentError(f"image index {self.path} is corrupt: {exc}") from exc
        index.setdefault("images", {})
        index.setdefault("tags", {})
        return index

    def write(self, index: dict) -> None:
        """Replace the file (fsynced temp + rename; caller holds the lock), then the OCI mirror."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(f".index.json.{os.getpid()}")
        with open(temp, "w") as f:
            json.dump(index, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.rename(temp, self.path)
        write_oci_index(self.root, self.blobs, index)


def tags_of(index: dict, image_id: str) -> list[str]:
    """The image's tags (normalized), sorted."""
    return sorted(t for t, i in index["tags"].items() if i == image_id)


def repo_digests_of(index: dict, image_id: str) -> list[str]:
    """The image's repo digests (`name@sha256:...`, normalized names), oldest first."""
    return list(index["images"].get(image_id, {}).get("repo_digests", []))


def dangling(index: dict, image_id: str) -> bool:
    """Neither tagged nor pulled by digest: what `image prune` removes without --all."""
    return not index["images"][image_id].get("repo_digests") and not tags_of(index, image_id)


def set_manifest(index: dict, image_id: str, manifest_digest: str) -> dict:
    """Point the image's record at `manifest_digest`; the record (repo digests kept).

    A new or changed record gets a fresh "added" time; an unchanged one is left as it is.
    """
    record = index["images"].get(image_id)
    if record is None or record["manifest"] != manifest_digest:
        old = record.get("repo_digests", []) if record else []
        record = index["images"][image_id] = {"manifest": manifest_digest, "added": time.time()}
        if old:
            record["repo_digests"] = old
    return record


def keep_repo_digest(record: dict, repo_digest: str) -> None:
    """Keep one digest per repository, the newest, as Docker shows RepoDigests."""
    name = repo_digest.split("@", 1)[0]
    kept = [d for d in record.get("repo_digests", []) if d.split("@", 1)[0] != name]
    record["repo_digests"] = kept + [repo_digest]


def removal(index: dict, image_id: str, tag: str | None, *, force: bool, used: bool,
            asked) -> tuple[list[str], bool]:
    """Docker's rmi rules: (the tags to remove, whether the image goes too).

    `tag` is the tag the user named (None for an id or digest), `asked` their words. Naming one
    of several tags only untags; an image a container uses is only untagged, and only with
    force; an id naming an image tagged in several repositories needs force. Conflict otherwise.
    """
    short = image_id[len("sha256:"):][:12]
    tags = tags_of(index, image_id)
    if tag is not None and len(tags) > 1:
        return [tag], False
    if used:
        if not force:
            what = f"remove repository reference {asked!r}" if tag else f"delete {short}"
            raise Conflict(f"conflict: unable to {what} (must force) - image {short} "
                           "is being used by a container")
        return tags, False
    if tag is None and len({reference.parse(t).name for t in tags}) > 1 and not force:
        raise Conflict(f"conflict: unable to delete {short} (must be forced) - "
                       "image is referenced in multiple repositories")
    return tags, True


def resolve(index: dict, text: str) -> tuple[str, str | None]:
    """(image id, matched tag or None) for a reference, id, `sha256:` id or id prefix.

    `name@sha256:...` matches an image's manifest digest or id, or one of its repo digests.
    """
    if not isinstance(text, str) or not text:
        raise InvalidArgument("empty image reference")
    images = index["images"]
    if text.startswith("sha256:"):
        return by_prefix(images, text[len("sha256:"):], text), None
    try:
        ref = reference.parse(text)
    except InvalidArgument:
        ref = None
    if ref is not None and ref.digest:
        pinned = f"{ref.name}@{ref.digest}"
        for image_id, record in images.items():
            # the repo digest may name an index the pull resolved to this image's manifest
            if (ref.digest in (record["manifest"], image_id)
                    or pinned in record.get("repo_digests", ())):
                return image_id, None
    elif ref is not None and str(ref) in index["tags"]:
        return index["tags"][str(ref)], str(ref)
    if all(c in "0123456789abcdef" for c in text):
        return by_prefix(images, text, text), None
    if ref is None:
        reference.parse(text)             # raises the InvalidArgument with its reason
    raise ImageNotFound(f"No such image: {text}")


def by_prefix(images: dict, prefix: str, text: str) -> str:
    """The one image id starting with `sha256:<prefix>`; InvalidArgument when several do."""
    matches = [i for i in images if i[len("sha256:"):].startswith(prefix)] if prefix else []
    if len(matches) > 1:
        raise InvalidArgument(f"image id prefix {text!r} is ambiguous: it matches "
                              f"{len(matches)} images")
    if not matches:
        raise ImageNotFound(f"No such image: {text}")
    return matches[0]
