"""Notebooks as environment specs: lock their environment cells, build by the lock, verify.

    lock = engine.notebooks.lock("analysis.ipynb")          # builds, writes metadata.dockyard
    report = engine.notebooks.build("analysis.ipynb")       # [Drift(...), ...] per cell
    report = engine.notebooks.verify("analysis.ipynb", nocache=True)

Environment cells (`%%dockerfile`, `%image bootstrap`, `%image pull`, `%dockyard use`) are
built or resolved headless, in notebook order; no other code of the notebook runs. Building
by the lock pins every `FROM` to its locked image (pulling a registry base by its digest when
it is missing) and uses the lock's SOURCE_DATE_EPOCH, so a deterministic cell gives the same
image id on any data root. A failure is one line naming the cell (and the Dockerfile line);
the notebook file changes only when a whole lock has been made.
"""
from __future__ import annotations

import copy
import os
import time
from pathlib import Path

from .errors import DockyardError, ImageNotFound, InvalidArgument, NotFound
from .notebook import cells as cellmod
from .notebook import drift, lockfile, nbfile, record


class Notebooks:
    """The notebook verbs of one engine."""

    def __init__(self, engine):
        self.engine = engine

    # -- reading ---------------------------------------------------------------------------

    def open(self, path):
        """(nb, environment cells, lock or None, where the lock is); InvalidArgument when the
        notebook has no environment cell."""
        nb = nbfile.read_notebook(path)
        found = cellmod.environment_cells(nb)
        if not found:
            raise InvalidArgument(f"{path}: no environment cells (%%dockerfile, %image "
                                  "bootstrap, %image pull, %dockyard use): nothing to lock")
        lock, where = lockfile.read_lock(nb, path)
        return nb, found, lock, where

    # -- the verbs ---------------------------------------------------------------------------

    def lock(self, path, *, sidecar: bool = False, nocache: bool = False, on_event=None) -> dict:
        """Build every environment cell as it is now and write the lock (into the notebook's
        metadata, or NAME.dockyard-lock.json with `sidecar`); the lock."""
        nb, found, old, where = self.open(path)
        epoch = old["source_date_epoch"] if old else _new_epoch()
        entries, _ = self._run_cells(path, found, None, epoch, nocache, on_event)
        lock = self._write(path, nb, entries, epoch, "sidecar" if sidecar else where)
        return lock

    def build(self, path, *, nocache: bool = False, on_event=None) -> drift.Report:
        """Build the environment cells by the lock; one Drift per cell (and per lock entry
        whose cell is gone). Without a lock every cell is reported missing."""
        return self._by_lock(path, nocache, on_event)[1]

    def _by_lock(self, path, nocache, on_event):
        """(entries by cell key, drift rows) of a build by the lock."""
        _, found, lock, _ = self.open(path)
        entries, moved = self._run_cells(path, found, lock, _epoch_of(lock), nocache, on_event)
        return entries, report(found, entries, lock, moved)

    def verify(self, path, *, nocache: bool = False, update: bool = False,
               on_event=None) -> drift.Report:
        """build()'s comparison; with `update`, the cells are built as they are now (bases not
        pinned) and the lock is rewritten from them."""
        if not update:
            return self.build(path, nocache=nocache, on_event=on_event)
        nb, found, lock, where = self.open(path)
        epoch = _epoch_of(lock) or _new_epoch()
        entries, _ = self._run_cells(path, found, None, epoch, nocache, on_event)
        rows = report(found, entries, lock, {})
        self._write(path, nb, entries, epoch, where or "metadata")
        return rows

    def run(self, path, *, output=None, timeout: float | None = None, kernel: str = "dockyard",
            on_event=None) -> Path:
        """Build by the lock, then execute the whole notebook headless on `kernel`; the path
        of the executed copy (`output`, default NAME.executed.ipynb). CellError names the
        cell that failed; the executed copy is written either way."""
        from .errors import CellError
        from .notebook.execute import execute
        path = Path(path)
        for row in self.build(path, on_event=on_event):
            if row.status != "same" and on_event is not None:
                on_event({"type": "warning", "text": f"{row.cell}: {row.status}: {row.reason}"})
        nb = nbfile.read_notebook(path)
        out = Path(output) if output else path.with_name(path.stem + ".executed.ipynb")
        # The kernel finds the lock through JPY_SESSION_NAME, as under JupyterLab, so its
        # %%dockerfile cells build as the lock says (and hit the cache just filled).
        env = {"DOCKYARD_DATA_ROOT": str(self.engine.root),
               "JPY_SESSION_NAME": str(path.absolute())}
        try:
            execute(nb, path.parent.absolute(), env=env, kernel=kernel, timeout=timeout)
        except CellError:
            nbfile.write_notebook(nb, out)
            raise
        nbfile.write_notebook(nb, out)
        return out

    def diff(self, first, second) -> dict:
        """Two notebooks' locks compared cell by cell (as drift), their bootstrapped package
        versions, and their final environments' image diff when both images are here."""
        from .diff.packages import package_changes
        locks = []
        for path in (first, second):
            nb = nbfile.read_notebook(path)
            lock, _ = lockfile.read_lock(nb, path)
            if lock is None:
                raise InvalidArgument(f"{path} has no lock: run `dockyard notebook lock {path}`")
            locks.append(lock)
        a, b = locks
        labels = {key: _entry_label(e).split(" (")[0]
                  for lock in locks for key, e in entries_by_key(lock).items()}
        rows = [drift.compare(old, new, _entry_label(new or old), labels=labels).to_dict()
                for old, new in pair_entries(a["cells"], b["cells"])]
        result = {"a": {"path": str(first), "cells": a["cells"]},
                  "b": {"path": str(second), "cells": b["cells"]}, "cells": rows,
                  "bootstrap": package_changes(bootstrapped(a), bootstrapped(b)),
                  "images": None, "images_missing": ""}
        if a["cells"] and b["cells"]:
            from .diff.compare import diff_images
            try:
                images = [self.engine.images.get(lock["cells"][-1]["image"]) for lock in locks]
                result["images"] = diff_images(*images, names=(str(first), str(second)))
            except ImageNotFound as exc:
                result["images_missing"] = f"{exc}; build both with `dockyard notebook build`"
        return result

    def image(self, path, tag: str, *, jupyter: bool = False, on_event=None):
        """An image whose top layer holds the notebook (and the files its cells COPY from its
        directory) on its final environment, labelled with its lock; with `jupyter`, JupyterLab
        is installed (pip) into an environment that lacks it."""
        from .notebook.ship import make_image
        return make_image(self, path, tag, jupyter=jupyter, on_event=on_event)

    def pull(self, ref: str, directory=".") -> list[Path]:
        """Take the notebook and its lock out of an image `notebook image` made (pulled first
        when it is not here); the paths written. Conflict when one exists already."""
        from .notebook.ship import take_out
        return take_out(self.engine, ref, directory)

    # -- building cells ----------------------------------------------------------------------

    def _run_cells(self, path, found, lock, epoch, nocache, on_event):
        """(entries by cell key, moved base tags by cell key) for every cell, in order."""
        emit = on_event or (lambda event: None)
        locked = entries_by_key(lock)
        entries: dict[str, dict] = {}
        moved: dict[str, dict] = {}
        made_by: dict[str, str] = {}          # image id -> the key of the cell that made it
        for cell in found:
            emit({"type": "cell-start", "cell": cell.label, "kind": cell.kind})
            old = locked.get(cell.key)
            entry, moved[cell.key] = CELL_RUNNERS[cell.kind](
                self, cell, Path(path).parent, old, made_by, epoch, nocache, emit)
            made_by.setdefault(entry["image"], cell.key)
            entries[cell.key] = entry
            emit({"type": "cell-done", "cell": cell.label, "image": entry["image"]})
        return entries, moved

    def _dockerfile(self, cell, directory, old, made_by, epoch, nocache, emit):
        opts = cell.options
        context = directory / (opts.get("context") or ".")
        buildargs = cellmod.build_args(opts.get("build_arg") or [])
        pins, moved = self._pins(cell, old, made_by) if old else ({}, {})
        recorder = record.StepRecorder(forward=emit)
        try:
            image = self.engine.images.build(
                cell.body, context=str(context), tag=opts.get("tag"), buildargs=buildargs,
                target=opts.get("target"), nocache=nocache or opts.get("no_cache", False),
                on_event=recorder, source_date_epoch=epoch, pins=pins)
        except DockyardError as exc:
            raise _naming_cell(exc, _failure(cell, recorder, exc)) from None
        bases = [record.base_entry(b["name"], self.engine.images.get(b["image"]), made_by)
                 for b in recorder.bases]
        entry = record.cell_entry(cell, image, tags=[opts["tag"]] if opts.get("tag") else [],
                                  steps=recorder.steps(), bases=bases, build_args=buildargs)
        return entry, moved

    def _pins(self, cell, old: dict, made_by: dict) -> tuple[dict, dict]:
        """(FROM name -> image id, names whose tag moved) for a locked cell: a base another
        cell made is that cell's image of this run; the others are the locked images, found
        here or pulled by digest."""
        made = {key: image for image, key in made_by.items()}
        pins, moved = {}, {}
        for base in old.get("bases", []):
            origin = base["source"].get("cell")
            if origin is not None and origin in made:
                pins[base["name"]] = made[origin]
                continue
            pins[base["name"]] = self._locked_base(cell, base).id
            try:
                now = self.engine.images.get(base["name"]).id
            except (NotFound, InvalidArgument):
                continue
            if now != base["image"]:
                moved[base["name"]] = now
        return pins, moved

    def _locked_base(self, cell, base: dict):
        """The locked image of `base`: here already, or pulled by its repository digest."""
        try:
            return self.engine.images.get(base["image"])
        except ImageNotFound:
            pass
        if base.get("repo_digest"):
            try:
                return self.engine.images.pull(base["repo_digest"])
            except DockyardError as exc:
                raise NotFound(f"{cell.label}: the locked base {base['image']} (FROM "
                               f"{base['name']}, {base['repo_digest']}) is not here and can't "
                               f"be pulled: {exc}") from None
        raise NotFound(f"{cell.label}: the locked base {base['image']} (FROM {base['name']}, "
                       f"{origin_text(base['source'])}) is not in this data root")

    def _bootstrap(self, cell, directory, old, made_by, epoch, nocache, emit):
        opts = cell.options
        extra = {k: opts[k] for k in ("suite", "include") if opts.get(k)}
        if "include" in extra:
            extra["include"] = [p for value in extra["include"] for p in value.split(",") if p]
        image = self.engine.images.bootstrap(opts["name"], opts.get("tag"), **extra)
        return record.cell_entry(cell, image), {}

    def _pull(self, cell, directory, old, made_by, epoch, nocache, emit):
        name = cell.options["name"]
        if old and old.get("repo_digest"):
            try:
                image = self.engine.images.get(old["image"])
            except ImageNotFound:
                image = self.engine.images.pull(old["repo_digest"])
            if "@" not in name:
                self.engine.images.tag(image.id, name)      # later cells see the locked one
            image = self.engine.images.get(image.id)
        else:
            image = self.engine.images.pull(name, platform=cell.options.get("platform"))
        return record.cell_entry(cell, image, tags=[name]), {}

    def _use(self, cell, directory, old, made_by, epoch, nocache, emit):
        name = cell.options["image"]
        try:
            image = self.engine.images.get(name)
        except ImageNotFound:
            raise ImageNotFound(f"{cell.label}: no image {name} (build or pull it in an "
                                "earlier cell)") from None
        return record.cell_entry(cell, image, tags=[name]), {}

    # -- writing -------------------------------------------------------------------------

    def _write(self, path, nb, entries: dict, epoch: int, where: str) -> dict:
        """Check and write the lock `where` ("metadata" or "sidecar"); the lock."""
        from .image.model import host_architecture
        lock = {"version": lockfile.VERSION,
                "engine": {"name": "dockyard", "version": engine_version(),
                           "platform": f"linux/{host_architecture()}"},
                "source_date_epoch": int(epoch), "cells": list(entries.values())}
        lockfile.check(lock, str(path))
        if where == "sidecar":
            nbfile.write_text(lockfile.sidecar_path(path), lockfile.lock_text(lock))
        else:
            lockfile.embed(nb, lock)
            nbfile.write_notebook(nb, path)
        return lock


CELL_RUNNERS = {"dockerfile": Notebooks._dockerfile, "bootstrap": Notebooks._bootstrap,
                "pull": Notebooks._pull, "use": Notebooks._use}


def entries_by_key(lock: dict | None) -> dict[str, dict]:
    """A lock's cell entries by the key EnvCell.key gives the same statement."""
    found = {}
    for entry in (lock or {}).get("cells", []):
        found[f"{entry['cell_id'] or '#' + str(entry['index'])}:{entry['line']}"] = entry
    return found


def report(found, entries: dict, lock: dict | None, moved: dict) -> drift.Report:
    """One Drift per cell in notebook order, then one per lock entry whose cell is gone."""
    locked = entries_by_key(lock)
    labels = {c.key: c.label.split(" (")[0] for c in found}
    rows = drift.Report(drift.compare(locked.get(c.key), entries[c.key], c.label,
                                      moved.get(c.key), labels) for c in found)
    keys = {c.key for c in found}
    for key, entry in locked.items():
        if key not in keys:
            label = f"cell {entry['index'] + 1} ({entry['magic']})"
            rows.append(drift.compare(entry, None, label))
    return rows


def pair_entries(a: list[dict], b: list[dict]) -> list[tuple[dict | None, dict | None]]:
    """Entries of two locks paired by cell key, else by position among the unpaired."""
    keyed_b = entries_by_key({"cells": b})
    pairs, rest_a = [], []
    for key, entry in entries_by_key({"cells": a}).items():
        if key in keyed_b:
            pairs.append((entry, keyed_b.pop(key)))
        else:
            rest_a.append(entry)
    rest_b = list(keyed_b.values())
    for i in range(max(len(rest_a), len(rest_b))):
        pairs.append((rest_a[i] if i < len(rest_a) else None,
                      rest_b[i] if i < len(rest_b) else None))
    return sorted(pairs, key=lambda p: (p[1] or p[0])["index"])


def bootstrapped(lock: dict) -> dict[str, str]:
    """Every package version a lock's bootstrapped images (cells and bases) name."""
    found = {}
    for entry in lock["cells"]:
        infos = [entry.get("bootstrap")] + [b["source"].get("bootstrap")
                                            for b in entry.get("bases", [])]
        for info in infos:
            found.update((info or {}).get("packages") or {})
    return found


def _entry_label(entry: dict) -> str:
    return f"cell {entry['index'] + 1} ({entry['magic']})"


def origin_text(source: dict) -> str:
    """Where a base came from, in words, for the line that says it is missing."""
    if "cell" in source:
        return f"made by the notebook's cell {source['cell']}"
    if "registry" in source:
        return f"pulled as {source['registry']}"
    if "bootstrap" in source:
        info = source["bootstrap"]
        suite = f" --suite {info['suite']}" if info.get("suite") else ""
        return f"made by `dockyard image bootstrap {info['kind']}{suite}`"
    return f"a local image, {source.get('local')}"


def _failure(cell, recorder, exc: DockyardError) -> str:
    """`cell 3 (%%dockerfile): Dockerfile line 4: RUN false: <what the builder said>`."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    step = recorder.failed_step()
    if step is None or text.startswith("Dockerfile line"):
        return f"{cell.label}: {text}"
    where = f"Dockerfile line {step['line']}: {step['instruction']}"
    return f"{cell.label}: {where}: {text.removeprefix(step['instruction'] + ': ')}"


def _naming_cell(exc: DockyardError, text: str) -> DockyardError:
    """`exc` (same class and attributes) whose message is `text`."""
    renamed = copy.copy(exc)
    renamed.args = (text,)
    return renamed


def _epoch_of(lock: dict | None) -> int | None:
    return lock["source_date_epoch"] if lock else None


def _new_epoch() -> int:
    """A new lock's SOURCE_DATE_EPOCH: the environment's, else now."""
    value = os.environ.get("SOURCE_DATE_EPOCH")
    try:
        return int(value) if value else int(time.time())
    except ValueError:
        raise InvalidArgument("SOURCE_DATE_EPOCH must be whole seconds") from None


def engine_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("dockyard")
    except PackageNotFoundError:
        return "unknown"
