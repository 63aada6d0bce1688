"""Two images compared: layers, config, files, Debian packages and Python distributions.

    result = diff_images(image_a, image_b)        # Image values from the store
    result["files"]      # [{"path", "change": added|removed|changed, "type", "size", ...}]
    result["debian"]     # [{"name", "change", "old", "new"}]   (likewise "python")
    result["config"]     # [{"field": "Env", "key": "PATH", "old", "new"}]
    result["layers"]     # {"shared": [...], "only_a": [...], "only_b": [...]}

The layers the images share from the bottom up are not read at all; see files.py.
"""
from __future__ import annotations

from ..image.merged import MergedView
from . import files, packages

CONFIG_FIELDS = ("Env", "Cmd", "Entrypoint", "WorkingDir", "User", "Labels", "ExposedPorts")


def view_of(layers) -> MergedView:
    return MergedView([layer.snapshot for layer in reversed(layers)])


def shared_prefix(a, b) -> int:
    """How many layers, from the bottom, the two images have in common (same chain id)."""
    count = 0
    for la, lb in zip(a.layers, b.layers):
        if la.chain_id != lb.chain_id:
            break
        count += 1
    return count


def layer_rows(image, layers_from: int) -> list[dict]:
    """The image's layers from `layers_from` up: diff_id, size and the step that made each."""
    made_by = [h.get("created_by", "") for h in image.config.get("history") or []
               if not h.get("empty_layer")]
    rows = []
    for index, layer in enumerate(image.layers):
        if index >= layers_from:
            rows.append({"index": index, "diff_id": layer.diff_id, "size": layer.size,
                         "created_by": made_by[index] if index < len(made_by) else ""})
    return rows


def config_changes(a: dict, b: dict) -> list[dict]:
    """Differences in the config fields a user sees (Env and Labels key by key)."""
    changes = []
    for field in CONFIG_FIELDS:
        old, new = a.get(field), b.get(field)
        if field == "Env":
            old, new = _env(old), _env(new)
        if field in ("Env", "Labels", "ExposedPorts"):
            old, new = old or {}, new or {}
            for key in sorted(set(old) | set(new)):
                if old.get(key) != new.get(key) or (key in old) != (key in new):
                    changes.append({"field": field, "key": key,
                                    "old": old.get(key) if key in old else None,
                                    "new": new.get(key) if key in new else None})
        elif (old or None) != (new or None):
            changes.append({"field": field, "key": None, "old": old, "new": new})
    return changes


def _env(entries) -> dict:
    return dict(e.partition("=")[::2] for e in entries or [])


def diff_images(a, b, names: tuple[str, str] | None = None) -> dict:
    """Everything that differs from image `a` to image `b` (the JSON of `dockyard diff`)."""
    shared = shared_prefix(a, b)
    view_a, view_b = view_of(a.layers), view_of(b.layers)
    own = [layer.snapshot for layer in (*a.layers[shared:], *b.layers[shared:])]
    paths = files.touched_paths(own, view_a, view_b)
    debian = []
    if packages.DPKG_STATUS in paths:
        debian = packages.package_changes(packages.debian_packages(view_a),
                                          packages.debian_packages(view_b))
    dists = packages.dist_info_dirs(paths)
    python = packages.package_changes(packages.python_dists(view_a, dists),
                                      packages.python_dists(view_b, dists))
    names = names or (a.id, b.id)
    return {
        "a": {"name": names[0], "id": a.id}, "b": {"name": names[1], "id": b.id},
        "layers": {"shared": [{"index": i, "diff_id": layer.diff_id, "size": layer.size}
                              for i, layer in enumerate(a.layers[:shared])],
                   "only_a": layer_rows(a, shared), "only_b": layer_rows(b, shared)},
        "config": config_changes(a.config.get("config") or {}, b.config.get("config") or {}),
        "files": files.file_changes(view_a, view_b, paths),
        "debian": debian,
        "python": python,
    }


def layer_contents(image, index: int) -> list[dict]:
    """What layer `index` of `image` adds, changes and removes on top of the layers below."""
    if not 0 <= index < len(image.layers):
        from ..errors import InvalidArgument
        raise InvalidArgument(f"layer {index}: the image has {len(image.layers)} layers")
    return files.layer_changes(image.layers[index].snapshot, view_of(image.layers[:index]))
