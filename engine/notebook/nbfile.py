"""Notebook files in and out with nbformat: one clear line for a bad file, atomic writes.

    nb = read_notebook("analysis.ipynb")          # a NotebookNode, validated
    write_notebook(nb, "analysis.ipynb")           # temp file, fsync, rename

Writing goes through nbformat (Jupyter's own layout: indent 1, sorted keys), so a notebook
saved by Jupyter changes only where its content changed.
"""
from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path

from ..errors import InvalidArgument, NotFound


def read_notebook(path):
    """The notebook at `path` as nbformat 4; InvalidArgument naming the file when it is not
    JSON or not a valid notebook, NotFound when it is absent."""
    import nbformat

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"{path}: no such notebook") from None
    except IsADirectoryError:
        raise InvalidArgument(f"{path}: is a directory, not a notebook") from None
    except UnicodeDecodeError as exc:
        raise InvalidArgument(f"{path}: not a notebook (not UTF-8 text: {exc.reason})") from None
    try:
        json.loads(text)
    except ValueError as exc:
        raise InvalidArgument(f"{path}: not a notebook (invalid JSON at line {exc.lineno}, "
                              f"column {exc.colno}: {exc.msg})") from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")       # nbformat warns about ids it would add
        try:
            nb = nbformat.reads(text, as_version=4)
            nbformat.validate(nb)
        except Exception as exc:              # noqa: BLE001 - nbformat's errors have no base
            raise InvalidArgument(f"{path}: not a valid notebook: {_first_line(exc)}") from None
    return nb


def notebook_text(nb) -> str:
    """The file content nbformat writes for `nb` (validated first)."""
    import nbformat

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nbformat.validate(nb)
        return nbformat.writes(nb) + "\n"


def write_text(path, text: str) -> None:
    """Replace `path` with `text`: temp file beside it, fsync, rename; the mode is kept."""
    path = Path(path)
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o644
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise


def write_notebook(nb, path) -> None:
    """Write `nb` to `path` atomically, as nbformat lays it out."""
    write_text(path, notebook_text(nb))


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
