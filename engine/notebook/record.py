"""What one environment statement resolved to and built, in the lock's shape (a cell entry).

    recorder = StepRecorder(forward=progress)       # the builder's on_event
    engine.images.build(text, on_event=recorder, ...)
    entry = cell_entry(cell, image, steps=recorder.steps(), bases=[...])

The builder reports each step's cache key and layer diff_id in its step-done events, and the
image a FROM resolved to; this module keeps them in step order. Pure: images arrive as values.
"""
from __future__ import annotations

BOOTSTRAP_LABEL = "org.dockyard.bootstrap."      # .kind .suite .packages (Debian bootstraps)
BUSYBOX_HISTORY = "dockyard image bootstrap busybox"


class StepRecorder:
    """A build's on_event: remembers steps and bases, and passes every event on."""

    def __init__(self, forward=None):
        self.forward = forward
        self._starts: dict[int, dict] = {}
        self._done: dict[int, dict] = {}
        self.bases: list[dict] = []
        self.failed: int | None = None

    def __call__(self, event: dict) -> None:
        kind, number = event.get("type"), event.get("step")
        if kind == "build-failed":
            self.failed = number
        elif kind == "step-start":
            self._starts[number] = event
        elif kind == "step-done" and number in self._starts:
            self._done[number] = event
            base = event.get("base")
            if base and all(b["name"] != base["name"] for b in self.bases):
                self.bases.append(base)
        if self.forward is not None:
            self.forward(event)

    def failed_step(self) -> dict | None:
        """The step-start event of the step a failed build stopped at, if it had started."""
        return self._starts.get(self.failed) if self.failed else None

    def steps(self) -> list[dict]:
        """The lock's steps, in Dockerfile order: stage, instruction, line, key, diff_id."""
        found = []
        for number in sorted(self._done):
            start, done = self._starts[number], self._done[number]
            found.append({"stage": str(start.get("stage", "")),
                          "instruction": start.get("instruction", ""),
                          "line": int(start.get("line") or 0), "key": done.get("key") or "",
                          "diff_id": done.get("diff_id")})
        return found


def bootstrap_info(config: dict) -> dict | None:
    """What bootstrap made this image (kind, suite, exact package versions), from its labels
    or history; None for an image that was not bootstrapped, an image built on one included
    (it inherits the labels, but has more than the bootstrap's one history entry)."""
    labels = (config.get("config") or {}).get("Labels") or {}
    history = config.get("history") or []
    if len(history) != 1:
        return None
    if labels.get(BOOTSTRAP_LABEL + "kind"):
        packages = dict(p.split("=", 1) for p in labels.get(BOOTSTRAP_LABEL + "packages",
                                                           "").split() if "=" in p)
        return {"kind": labels[BOOTSTRAP_LABEL + "kind"],
                "suite": labels.get(BOOTSTRAP_LABEL + "suite", ""), "packages": packages}
    first = history[0].get("created_by") or ""
    if first.startswith(BUSYBOX_HISTORY):
        return {"kind": "busybox", "created_by": first}
    return None


def base_source(name: str, image, made_by: dict[str, str]) -> dict:
    """Where a base came from: a cell of this notebook, a registry, a bootstrap, or this host."""
    if image.id in made_by:
        return {"cell": made_by[image.id]}
    if image.repo_digests:
        return {"registry": image.repo_digests[0]}
    info = bootstrap_info(image.config)
    if info is not None:
        return {"bootstrap": info}
    return {"local": name}


def base_entry(name: str, image, made_by: dict[str, str]) -> dict:
    """A lock's base: the name as written, the image id it resolved to, where it came from."""
    return {"name": name, "image": image.id,
            "repo_digest": image.repo_digests[0] if image.repo_digests else None,
            "source": base_source(name, image, made_by)}


def cell_entry(cell, image, *, tags=None, steps=(), bases=(), build_args=None) -> dict:
    """The lock entry of `cell` (an EnvCell) that made or chose `image`; `tags` are the names
    the cell gives it (default: the image's tags)."""
    entry = {"cell_id": cell.cell_id, "index": cell.index, "line": cell.line,
             "kind": cell.kind, "magic": cell.magic, "hash": cell.hash,
             "image": image.id, "tags": sorted(image.tags if tags is None else tags)}
    if cell.kind == "dockerfile":
        entry.update(build_args=dict(build_args or {}), bases=list(bases), steps=list(steps))
    if cell.kind == "pull":
        entry["repo_digest"] = image.repo_digests[0] if image.repo_digests else None
    info = bootstrap_info(image.config)
    if cell.kind == "bootstrap" and info is not None:
        entry["bootstrap"] = info
    return entry
