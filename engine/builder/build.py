"""Build an image from a Dockerfile: stages, steps, the step cache, and progress events.

    image = build(engine, "FROM busybox\\nRUN echo hi > /hi\\n", tag="me/hi", on_event=print)

Each instruction is one step. A step's cache key is its parent's key, the instruction after
expansion (with the build args it sees) and the digest of its inputs (COPY/ADD file content
and metadata); a hit reuses the recorded layer and config and costs no container. RUN runs in
a real container (runplan.py, runcontainer.py), COPY/ADD fill a fresh tree (copy.py), the
rest only change the config and add an `empty_layer` history entry. Events, in order, are dicts:

    {"type": "step-start", "step", "total", "stage", "instruction", "line"}
    {"type": "cache-hit", "step"}
    {"type": "output", "step", "stream", "line"}
    {"type": "step-done", "step", "digest", "diff_id", "key", "size", "seconds", "cached"}
        (a FROM of an image adds "base": {"name", "image", "repo_digests", "pinned"})
    {"type": "build-done", "image", "tags", "seconds"} | {"type": "build-failed", "step", "error"}
"""
from __future__ import annotations

import time
from pathlib import Path

from ..errors import DockyardError, InvalidArgument
from .cache import BuildCache
from .context import Context, HashMemo
from .ignore import read_ignore_file
from .stages import meta_arg_values, needed_stages


def _read_dockerfile(dockerfile, fileobj, context, dockerfile_path) -> str:
    if dockerfile is not None:
        return dockerfile
    if fileobj is not None:
        data = fileobj.read()
        return data.decode() if isinstance(data, bytes) else data
    if context is None:
        raise InvalidArgument("build needs Dockerfile text, a file object or a context directory")
    path = Path(context, dockerfile_path)
    try:
        return path.read_text()
    except FileNotFoundError:
        raise InvalidArgument(f"no Dockerfile at {path}") from None


def _epoch(source_date_epoch, buildargs) -> int | None:
    value = source_date_epoch
    if value is None and "SOURCE_DATE_EPOCH" in buildargs:
        value = buildargs["SOURCE_DATE_EPOCH"]
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidArgument(f"SOURCE_DATE_EPOCH must be whole seconds, not {value!r}") from None


def build(engine, dockerfile: str | None = None, *, path=None, fileobj=None, context=".",
          dockerfile_path: str = "Dockerfile", tag=None, buildargs=None, target=None,
          nocache: bool = False, quiet: bool = False, on_event=None, labels=None,
          source_date_epoch=None, cell=None, secrets=None, rm=True, pins=None, **ignored):
    """Build the Dockerfile (text, file object, or `<context>/<dockerfile_path>`); the Image.

    `path` is docker-py's name for the context directory; `secrets` maps a secret id to a host
    file for `RUN --mount=type=secret`; `pins` maps a `FROM` name (as written, after ARG
    expansion) to the image id to start from instead (a notebook lock's digests). BuildError
    names the failing step.
    """
    from ..dockerfile import parse
    from ..image import reference
    started = time.monotonic()
    root = path if path is not None else context
    ctx_dir = Path(root).absolute() if root is not None else None
    if ctx_dir is not None and not ctx_dir.is_dir():
        raise InvalidArgument(f"unable to prepare context: path {str(root)!r} not found")
    text = _read_dockerfile(dockerfile, fileobj, ctx_dir, dockerfile_path)
    tags = [tag] if isinstance(tag, str) else list(tag or [])
    for name in tags:
        reference.parse(name)                          # a bad tag fails before any work
    buildargs = {k: ("" if v is None else str(v)) for k, v in (buildargs or {}).items()}
    parsed = parse(text)
    if not parsed.stages:
        raise InvalidArgument("the Dockerfile has no FROM instruction")
    cache = BuildCache(engine.root)
    ignore = read_ignore_file(ctx_dir, dockerfile_path) if ctx_dir else []
    memo = HashMemo(cache.root / "filehash.json")
    ctx = Context(ctx_dir, ignore, memo)
    from .session import Session
    session = Session(engine, parsed, ctx, cache, buildargs=buildargs, nocache=nocache,
                      on_event=on_event, epoch=_epoch(source_date_epoch, buildargs), cell=cell,
                      secrets=dict(secrets or {}), pins=pins)
    meta = meta_arg_values(parsed, buildargs)
    session.meta = meta
    target_index = parsed.stage(target).index if target else len(parsed.stages) - 1
    order = needed_stages(parsed, target_index, meta)
    session.total = sum(1 + len(parsed.stages[i].instructions) for i in order)
    try:
        state = session.stage_state(target_index)
        image = session.finish(state, tags, labels or {})
    except DockyardError as exc:
        session.emit({"type": "build-failed", "step": session.step, "error": str(exc)})
        raise
    finally:
        memo.save()
        session.cleanup()
    session.emit({"type": "build-done", "image": image.id, "tags": tags,
                  "seconds": time.monotonic() - started})
    return image

