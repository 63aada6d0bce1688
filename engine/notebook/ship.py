"""A notebook shipped as an image: its files on top of its final environment, and back out.

    image = make_image(engine.notebooks, "analysis.ipynb", "me/analysis:1", jupyter=True)
    take_out(engine, "me/analysis:1", "copy/")      # copy/analysis.ipynb (and its lock)

The image's top layer holds /notebook/<the notebook> (its lock in its metadata, or the sidecar
beside it) and the files its `%%dockerfile` cells COPY from its directory; its labels name the
notebook and carry the lock. The default command starts JupyterLab on port 8888 when the
environment has it, so `dockyard run -p 8888:8888 NAME` (or docker, podman) opens the notebook.
"""
from __future__ import annotations

import glob
import json
import os
import shutil
import tempfile
from pathlib import Path

from ..errors import Conflict, ImageNotFound, InvalidArgument
from ..image.reference import familiar
from . import lockfile, nbfile

WORKDIR = "/notebook"
LABEL = "org.dockyard.notebook"              # the notebook's file name
LOCK_LABEL = "org.dockyard.notebook.lock"    # the lock, compact JSON
JUPYTER_CMD = ["jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser", "--allow-root",
               f"--ServerApp.root_dir={WORKDIR}"]
JUPYTER_INSTALL = "python3 -m pip install --no-cache-dir --break-system-packages jupyterlab"


def copied_files(env_cells, notebook_dir: Path) -> list[str]:
    """Paths, relative to the notebook's directory, that its %%dockerfile cells COPY or ADD
    from there (not from a stage, an image or a URL); sorted, existing ones only."""
    from ..dockerfile import parse
    found = set()
    base = Path(notebook_dir).absolute()
    for cell in env_cells:
        if cell.kind != "dockerfile":
            continue
        context = (base / (cell.options.get("context") or ".")).resolve()
        for stage in parse(cell.body).stages:
            for ins in stage.instructions:
                if ins.cmd not in ("copy", "add") or getattr(ins, "from_", None):
                    continue
                for source in ins.source_words:
                    if "://" in source:
                        continue
                    for match in glob.glob(str(context / source.lstrip("/"))):
                        rel = os.path.relpath(match, base)
                        if not rel.startswith(".."):
                            found.add(rel)
    return sorted(found)


def on_path(view, env: list[str], program: str) -> bool:
    """Whether `program` is on the image's PATH."""
    path = next((e[5:] for e in env or [] if e.startswith("PATH=")),
                "/usr/local/bin:/usr/bin:/bin")
    return any(view.resolve(f"{d.rstrip('/')}/{program}") for d in path.split(":") if d)


def dockerfile_for(base: str, *, jupyter: bool, install: bool) -> str:
    """The Dockerfile of the shipped image: the staged context goes to /notebook."""
    lines = [f"FROM {base}"]
    if install:
        lines.append(f"RUN {JUPYTER_INSTALL}")
    lines += [f"COPY . {WORKDIR}/", f"WORKDIR {WORKDIR}"]
    if jupyter:
        lines += ["EXPOSE 8888", f"CMD {json.dumps(JUPYTER_CMD)}"]
    return "\n".join(lines) + "\n"


def labels_for(nb_name: str, lock: dict) -> dict:
    return {LABEL: nb_name, LOCK_LABEL: json.dumps(lock, sort_keys=True, separators=(",", ":"))}


def notebook_files(view, labels: dict) -> dict[str, bytes]:
    """The notebook (and its sidecar lock, when it has one) from a shipped image's files."""
    name = labels.get(LABEL)
    if not name or "/" in name:
        raise InvalidArgument("the image holds no notebook (no org.dockyard.notebook label): "
                              "make one with `dockyard notebook image`")
    found = {}
    data = view.read(f"{WORKDIR}/{name}")
    if data is None:
        raise InvalidArgument(f"the image's label names {name}, but {WORKDIR}/{name} is missing")
    found[name] = data
    sidecar = Path(name).stem + lockfile.SIDECAR_SUFFIX
    side = view.read(f"{WORKDIR}/{sidecar}")
    if side is not None:
        found[sidecar] = side
    return found


def make_image(notebooks, path, tag: str, *, jupyter: bool, on_event=None):
    """Build by the lock, then the shipped image on the final environment (the last
    `%dockyard use` image, else the last environment cell's); the Image."""
    from ..diff.compare import view_of
    path = Path(path)
    _, found, lock, where = notebooks.open(path)
    if lock is None:
        raise InvalidArgument(f"{path} has no lock: run `dockyard notebook lock {path}` first")
    entries = list(notebooks._by_lock(path, False, on_event)[0].values())
    uses = [e for e in entries if e["kind"] == "use"]
    env = notebooks.engine.images.get((uses or entries)[-1]["image"])
    view, variables = view_of(env.layers), (env.config.get("config") or {}).get("Env")
    has = on_path(view, variables, "jupyter-lab")
    name = familiar(env.tags[0]) if env.tags else env.short_id
    if jupyter and not has and not on_path(view, variables, "python3"):
        raise InvalidArgument(f"--jupyter: {name} has no python3 to install JupyterLab into "
                              "(start the environment from a Python image, e.g. `%image "
                              "bootstrap python`)")
    if not has and not jupyter and on_event is not None:
        on_event({"type": "warning", "text": f"{name} has no JupyterLab, so the image won't "
                  "start Jupyter: add --jupyter"})
    stage = _stage(notebooks.engine.root, path, where, copied_files(found, path.parent))
    try:
        text = dockerfile_for(env.id, jupyter=has or jupyter, install=jupyter and not has)
        return notebooks.engine.images.build(
            text, context=str(stage), tag=tag, labels=labels_for(path.name, lock),
            source_date_epoch=lock["source_date_epoch"], on_event=on_event)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _stage(root: Path, path: Path, where: str, files: list[str]) -> Path:
    """A scratch build context holding the notebook, its sidecar lock and `files`."""
    base = root / "buildcache" / "tmp"
    base.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix="notebook-", dir=base))
    try:
        shutil.copy2(path, stage / path.name)
        if where == "sidecar":
            side = lockfile.sidecar_path(path)
            shutil.copy2(side, stage / side.name)
        for rel in files:
            source, target = path.parent / rel, stage / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir() and not source.is_symlink():
                shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
            else:
                shutil.copy2(source, target, follow_symlinks=False)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return stage


def take_out(engine, ref: str, directory) -> list[Path]:
    """Write the notebook (and its lock, as a sidecar when the notebook doesn't carry it)
    of a shipped image into `directory`; Conflict before anything is written if a file
    exists there."""
    from ..diff.compare import view_of
    try:
        image = engine.images.get(ref)
    except ImageNotFound:
        image = engine.images.pull(ref)
    labels = (image.config.get("config") or {}).get("Labels") or {}
    found = notebook_files(view_of(image.layers), labels)
    name = labels[LABEL]
    sidecar = Path(name).stem + lockfile.SIDECAR_SUFFIX
    if sidecar not in found and LOCK_LABEL in labels:
        meta = (json.loads(found[name]).get("metadata") or {}).get("dockyard") or {}
        if "lock" not in meta:
            lock = lockfile.check(json.loads(labels[LOCK_LABEL]), f"{ref} (its lock label)")
            found[sidecar] = lockfile.lock_text(lock).encode()
    directory = Path(directory)
    for file in found:
        if (directory / file).exists():
            raise Conflict(f"{directory / file} exists: pull into another directory")
    directory.mkdir(parents=True, exist_ok=True)
    for file, data in found.items():
        nbfile.write_text(directory / file, data.decode("utf-8"))
    return [directory / file for file in found]
