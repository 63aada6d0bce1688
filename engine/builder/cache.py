"""The build cache: step key -> the step's result, as small JSON files under `buildcache/`.

    key = step_key(parent_key, "RUN /bin/sh -c make", inputs="sha256:...")
    cache.put(key, {"layer": chain_id | None, "config": {...}, "history": {...}})
    cache.get(key)        # the dict, or None

Files appear by atomic rename, so processes sharing a data root share the cache safely. There
is no fsync: a cache entry lost in a crash costs a rebuild of that step, never a wrong image,
because a hit is used only when the layer snapshot it names still exists.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


def step_key(parent: str, description: str, inputs: str = "") -> str:
    """A step's cache key: its parent's key, its expanded instruction and its inputs' digest."""
    h = hashlib.sha256()
    for part in (parent, description, inputs):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


class BuildCache:
    """Step results of one data root (`<root>/buildcache/steps/<key>.json`)."""

    def __init__(self, root: Path):
        self.root = Path(root) / "buildcache"
        self.steps = self.root / "steps"

    def get(self, key: str) -> dict | None:
        try:
            with open(self.steps / f"{key}.json") as f:
                return json.load(f)
        except (FileNotFoundError, ValueError):
            return None

    def put(self, key: str, value: dict) -> None:
        self.steps.mkdir(parents=True, exist_ok=True)
        temp = self.steps / f".{key}.{os.getpid()}"
        with open(temp, "w") as f:
            json.dump(value, f, separators=(",", ":"))
        os.replace(temp, self.steps / f"{key}.json")

    def mount_dir(self, mount_id: str) -> Path:
        """The persistent directory of `RUN --mount=type=cache,id=...`."""
        name = hashlib.sha256(mount_id.encode()).hexdigest()[:32]
        return self.root / "mounts" / name

    def prune(self) -> int:
        """Forget every cached step; returns how many entries were removed."""
        count = 0
        if self.steps.is_dir():
            for entry in os.scandir(self.steps):
                os.unlink(entry.path)
                count += 1
        return count
