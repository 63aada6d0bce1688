"""The notebook's lock inside the kernel: `%dockyard lock`, and `%%dockerfile` against the lock.

    %dockyard lock              # table: cell, locked digest, current digest, same/drifted/...
    %dockyard lock --sidecar    # write NAME.dockyard-lock.json instead of into the notebook

The kernel knows its notebook through JPY_SESSION_NAME (JupyterLab sets it, and so does
`dockyard notebook run`). When the notebook has a lock, `%%dockerfile` builds with the lock's
SOURCE_DATE_EPOCH and its base digests (`build_options`), and its result says whether it
matches the lock. The work is the engine's (engine.notebooks); this module tracks which cells
this kernel built and renders tables.
"""
from __future__ import annotations

import os
from html import escape
from pathlib import Path

import ipywidgets as widgets
from IPython.display import display
from traitlets import Int, Unicode

from dockyard.engine import environment_cells, peek_lock
from dockyard.engine.cli.main import ArgumentParser
from dockyard.engine.errors import InvalidArgument

from .htmlkit import code, short_digest, table
from .static import StaticSnapshot

STATUS_COLOURS = {"same": "#2e7d32", "drifted": "#c62828", "not built": "#757575",
                  "new": "#1565c0"}


def notebook_path() -> Path | None:
    """The kernel's notebook file, from JPY_SESSION_NAME (absolute, or a server path whose
    file lies in the kernel's working directory); None when unknown."""
    name = os.environ.get("JPY_SESSION_NAME")
    if not name:
        return None
    path = Path(name) if os.path.isabs(name) else Path.cwd() / Path(name).name
    return path if path.suffix == ".ipynb" and path.is_file() else None


class LockState:
    """What this kernel knows about environment cells: the cell running now, and the image
    each %%dockerfile cell built (by lock key and by source hash)."""

    def __init__(self, magics):
        self.magics = magics
        self.cell_id = ""
        self.raw = ""
        self.built: dict[str, str] = {}          # lock key -> image id
        self.built_hash: dict[str, str] = {}     # cell source hash -> image id
        self.magic: dict[str, str] = {}          # lock key -> the magic line

    def pre_run_cell(self, info) -> None:
        self.cell_id = getattr(info, "cell_id", None) or ""
        self.raw = getattr(info, "raw_cell", "") or ""

    def running_cell(self):
        """The running cell as an EnvCell when it is a %%dockerfile cell, else None."""
        if not self.raw.lstrip().startswith("%%dockerfile"):
            return None
        try:
            found = environment_cells({"cells": [{"cell_type": "code", "source": self.raw,
                                                  "id": self.cell_id}]})
        except InvalidArgument:
            return None
        return found[0] if found else None

    def entry(self, lock: dict | None, cell) -> dict | None:
        """The lock's entry for `cell`: by cell id, else by the same source hash."""
        entries = [e for e in (lock or {}).get("cells", []) if e.get("kind") == "dockerfile"]
        return (next((e for e in entries if cell.cell_id and e["cell_id"] == cell.cell_id
                      and e["line"] == cell.line), None)
                or next((e for e in entries if e["hash"] == cell.hash), None))

    def post_run_cell(self, result) -> None:
        """After a %%dockerfile cell: remember its image, and say how it compares to the lock."""
        image = getattr(result, "result", None)
        cell = self.running_cell()
        if cell is None or type(image).__name__ != "Image":
            return
        self.built[cell.key] = self.built_hash[cell.hash] = image.id
        self.magic[cell.key] = cell.magic
        path = notebook_path()
        lock = lock_of(path)
        if lock is None:
            return
        entry = self.entry(lock, cell)
        display(LockNote(entry, image, self.magics.engine))


def lock_of(path: Path | None) -> dict | None:
    return peek_lock(path) if path is not None else None


def build_options(magics) -> dict:
    """Extra build arguments for the running %%dockerfile cell of a locked notebook: the
    lock's SOURCE_DATE_EPOCH, and its base images where this data root has them."""
    state = getattr(magics, "lock_state", None)
    lock = lock_of(notebook_path()) if state is not None else None
    if lock is None:
        return {}
    cell = state.running_cell()
    entry = state.entry(lock, cell) if cell is not None else None
    pins = {}
    for base in (entry or {}).get("bases", []):
        if "cell" in base["source"]:
            continue                # made by an earlier cell: its tag is this session's build
        try:
            pins[base["name"]] = magics.engine.images.get(base["image"]).id
        except Exception:           # noqa: BLE001 - not here: build from the tag, and say so
            continue
    return {"source_date_epoch": lock["source_date_epoch"], "pins": pins}


def difference(entry: dict, image, engine) -> str:
    """Where a build differs from its lock entry, in words: its base, the first locked layer
    it lacks, or its config."""
    for base in entry.get("bases", []):
        try:
            locked = engine.images.get(base["image"])
        except Exception:           # noqa: BLE001 - a base not here can't be compared
            continue
        chain = [layer.chain_id for layer in image.layers[:len(locked.layers)]]
        if chain != [layer.chain_id for layer in locked.layers]:
            return f"the base differs (FROM {base['name']})"
    steps = entry.get("steps", [])
    final = [s for s in steps if s["stage"] == steps[-1]["stage"]] if steps else []
    have = {layer.diff_id for layer in image.layers}
    for step in final:
        if step["diff_id"] and step["diff_id"] not in have:
            return f"first at line {step['line']}: {step['instruction']}"
    return "the image config differs"


class LockNote:
    """One line under a %%dockerfile result: it matches the lock, or where it differs."""

    def __init__(self, entry: dict | None, image, engine):
        if entry is None:
            self.matches, self.text = False, "not in the lock (run %dockyard lock to add it)"
        elif entry["image"] == image.id:
            self.matches, self.text = True, f"matches the lock ({short_digest(image.id)})"
        else:
            self.matches = False
            self.text = (f"differs from the lock: locked {short_digest(entry['image'])}, built "
                         f"{short_digest(image.id)}; {difference(entry, image, engine)}")

    def __repr__(self):
        return self.text

    def _repr_html_(self):
        colour = "#2e7d32" if self.matches else "#c62828"
        return (f"<div class='dy-lock-note' style='border-left:3px solid {colour};"
                f"padding:2px 8px'>{escape(self.text)}</div>")


def lock_parser():
    p = ArgumentParser(prog="%dockyard lock", add_help=False)
    p.add_argument("--sidecar", action="store_true",
                   help="write NAME.dockyard-lock.json beside the notebook instead")
    return p


def lock_magic(magics, words: list[str]):
    """`%dockyard lock`: the table of environment cells against the lock, and the lock
    written (or, when the kernel doesn't know its notebook, how to write it)."""
    args = lock_parser().parse_args(words)
    state = magics.lock_state
    path = notebook_path()
    if path is None:
        rows = [[state.magic[key], None, image, "new"] for key, image in state.built.items()]
        return LockTable(rows, "This kernel doesn't know its notebook's file (JupyterLab gives "
                         "kernels JPY_SESSION_NAME): run `dockyard notebook lock NOTEBOOK.ipynb`.")
    old = {e["cell_id"] + ":" + str(e["line"]): e for e in (lock_of(path) or {}).get("cells", [])}
    new = magics.engine.notebooks.lock(path, sidecar=args.sidecar)
    rows = []
    for entry in new["cells"]:
        key = f"{entry['cell_id']}:{entry['line']}"
        locked = old.get(key, {}).get("image")
        current = (state.built.get(key) or state.built_hash.get(entry["hash"])
                   if entry["kind"] == "dockerfile" else entry["image"])
        status = ("new" if locked is None else "not built" if current is None
                  else "same" if current == locked else "drifted")
        rows.append([f"cell {entry['index'] + 1} ({entry['magic']})", locked, current, status])
    where = (f"{path.stem}.dockyard-lock.json" if args.sidecar else
             f"{path.name} on disk; JupyterLab still holds the notebook as it opened it, so "
             "reload it (File › Reload Notebook from Disk) before you save again")
    return LockTable(rows, f"Locked {len(new['cells'])} environment cells into {where}.",
                     written=str(path))


def lock_html(rows: list[list], note: str) -> str:
    body = []
    for cell, locked, current, status in rows:
        colour = STATUS_COLOURS.get(status, "#455a64")
        body.append([escape(cell), code(short_digest(locked) or "-"),
                     code(short_digest(current) or "-"),
                     f"<span class='dy-lock-{status.replace(' ', '-')}' "
                     f"style='color:{colour};font-weight:bold'>{escape(status)}</span>"])
    return (f"<div class='dy-lock'>{table(['cell', 'locked', 'current', 'status'], body, 'dy-lock-table')}"
            f"<div class='dy-lock-message'>{escape(note)}</div></div>")


class LockTable(StaticSnapshot, widgets.VBox):
    """The environment cells against the lock; its HTML is also its static copy."""

    cells = Int(help="Environment cells in the table.").tag(sync=True)
    drifted = Int(help="Cells whose current image differs from the locked one.").tag(sync=True)
    written = Unicode(help="The notebook whose lock was written, or empty.").tag(sync=True)

    def __init__(self, rows: list[list], note: str, written: str = "", **kwargs):
        self.html = lock_html(rows, note)
        self.note = note
        super().__init__(children=[widgets.HTML(value=self.html)], **kwargs)
        self.add_class("dy-lock-widget")
        self.cells = len(rows)
        self.drifted = sum(1 for row in rows if row[3] == "drifted")
        self.written = written

    def static_html(self) -> str:
        return self.html

    def summary(self) -> str:
        return self.note


def report_html(report) -> str:
    """A drift report (engine.notebooks.build/verify) as a table: cell, digests, status, why."""
    rows = []
    for row in report:
        colour = STATUS_COLOURS.get(row.status, "#455a64")
        rows.append([escape(row.cell), code(short_digest(row.locked) or "-"),
                     code(short_digest(row.current) or "-"),
                     f"<span class='dy-lock-{row.status}' style='color:{colour};"
                     f"font-weight:bold'>{escape(row.status)}</span>",
                     code(row.step) if row.step else "", escape(row.reason)])
    return table(["cell", "locked", "current", "status", "first step that differs", "why"],
                 rows, "dy-drift-table")


REPORT = ("dockyard.engine.notebook.drift", "Report")


def register(ipython, magics) -> None:
    """Track cells for the lock (the IPython events of `magics`' shell); show drift reports
    as tables."""
    magics.lock_state = LockState(magics)
    ipython.events.register("pre_run_cell", magics.lock_state.pre_run_cell)
    ipython.events.register("post_run_cell", magics.lock_state.post_run_cell)
    ipython.display_formatter.formatters["text/html"].for_type_by_name(*REPORT, report_html)


def unregister(ipython, magics) -> None:
    state = getattr(magics, "lock_state", None)
    if state is not None:
        ipython.events.unregister("pre_run_cell", state.pre_run_cell)
        ipython.events.unregister("post_run_cell", state.post_run_cell)
    formatter = ipython.display_formatter.formatters["text/html"]
    formatter.deferred_printers.pop(REPORT, None)
    formatter.type_printers = {t: f for t, f in formatter.type_printers.items()
                               if (t.__module__, t.__name__) != REPORT}
