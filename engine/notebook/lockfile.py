"""The lock: a versioned JSON document, in the notebook or beside it, checked by its schema.

    lock = read_lock(nb, nb_path)          # {"version": 1, "cells": [...]} or None
    embed(nb, lock)                         # nb.metadata.dockyard.lock = lock
    sidecar_path("a/analysis.ipynb")        # a/analysis.dockyard-lock.json

The format is `lock.schema.json` beside this module (JSON Schema 2020-12), described field by
field in docs/notebook-lock.md. A lock from a newer format version, or one the schema refuses,
is one InvalidArgument line naming the file and what is wrong; reading a lock runs no code.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from ..errors import InvalidArgument

VERSION = 1
SCHEMA = Path(__file__).with_name("lock.schema.json")
SIDECAR_SUFFIX = ".dockyard-lock.json"


@lru_cache(maxsize=1)
def schema() -> dict:
    return json.loads(SCHEMA.read_text())


def sidecar_path(nb_path) -> Path:
    """`NAME.dockyard-lock.json` beside `NAME.ipynb`."""
    path = Path(nb_path)
    return path.with_name(path.stem + SIDECAR_SUFFIX)


def check(lock, where: str) -> dict:
    """`lock` if it is a lock this dockyard reads; InvalidArgument naming `where` otherwise."""
    import jsonschema

    if not isinstance(lock, dict):
        raise InvalidArgument(f"{where}: the lock is corrupted (not a JSON object)")
    version = lock.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > VERSION:
        raise InvalidArgument(f"{where}: the lock was written by a newer dockyard (format "
                              f"version {version}; this one reads up to {VERSION}): upgrade "
                              "dockyard")
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema()).iter_errors(lock))
    if error is not None:
        at = "/".join(str(p) for p in error.absolute_path) or "the top level"
        raise InvalidArgument(f"{where}: the lock is corrupted ({at}: {error.message})")
    return lock


def read_lock(nb, nb_path) -> tuple[dict | None, str]:
    """(the lock, where it is: "metadata" or "sidecar"); (None, "") when there is none.

    The notebook's own metadata wins; a sidecar file is read when the metadata has no lock.
    """
    meta = (nb.get("metadata") or {}).get("dockyard") or {}
    if "lock" in meta:
        return check(meta["lock"], f"{nb_path} (metadata.dockyard.lock)"), "metadata"
    side = sidecar_path(nb_path)
    try:
        text = side.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, ""
    try:
        lock = json.loads(text)
    except ValueError as exc:
        raise InvalidArgument(f"{side}: the lock is corrupted (invalid JSON at line "
                              f"{exc.lineno}: {exc.msg})") from None
    return check(lock, str(side)), "sidecar"


def embed(nb, lock: dict) -> None:
    """Put `lock` into the notebook's metadata (`metadata.dockyard.lock`), nothing else."""
    nb.setdefault("metadata", {}).setdefault("dockyard", {})["lock"] = lock


def lock_text(lock: dict) -> str:
    """A sidecar file's content: stable key order, one field per line, so diffs are small."""
    return json.dumps(lock, indent=1, sort_keys=True) + "\n"


def peek(nb_path) -> dict | None:
    """The lock of the notebook file at `nb_path` (metadata, else sidecar) read quickly: plain
    JSON and the version, without the schema (a kernel reads it at every build; the verbs that
    act on a lock check it whole). None when there is none, or none this dockyard reads."""
    path = Path(nb_path)
    try:
        meta = (json.loads(path.read_text(encoding="utf-8")).get("metadata") or {})
        lock = (meta.get("dockyard") or {}).get("lock")
        if lock is None and sidecar_path(path).exists():
            lock = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, AttributeError):
        return None
    ok = isinstance(lock, dict) and lock.get("version") == VERSION and \
        isinstance(lock.get("cells"), list) and isinstance(lock.get("source_date_epoch"), int)
    return lock if ok else None
