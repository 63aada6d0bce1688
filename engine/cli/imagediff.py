"""`dockyard diff IMAGE1 IMAGE2` as text: layers, config, files, Debian and Python packages.

`dockyard diff CONTAINER` (one name) stays Docker's container diff; two names compare images.
"""
import sys

from .render import size

MARK = {"added": "+", "removed": "-", "changed": "~"}
FILE_MARK = {"added": "A", "removed": "D", "changed": "C"}


def print_image_diff(result: dict, out=None) -> None:
    """The diff of two images, section by section; a section with no change says so."""
    out = out or sys.stdout
    a, b = result["a"]["name"], result["b"]["name"]
    layers = result["layers"]
    print(f"Layers: {len(layers['shared'])} shared, {len(layers['only_a'])} only in {a}, "
          f"{len(layers['only_b'])} only in {b}", file=out)
    for side, name in (("only_a", a), ("only_b", b)):
        for layer in layers[side]:
            print(f"  {name} #{layer['index']}  {size(layer['size']):>8}  "
                  f"{layer['diff_id'][:19]}  {layer['created_by'][:70]}", file=out)
    changes = result["config"]
    print(f"Config: {len(changes) or 'no'} change{'s' if len(changes) != 1 else ''}", file=out)
    for c in changes:
        key = f" {c['key']}" if c["key"] else ""
        print(f"  {c['field']}{key}: {_value(c['old'])} -> {_value(c['new'])}", file=out)
    _files(result["files"], out)
    _packages("Debian packages", result["debian"], out)
    _packages("Python distributions", result["python"], out)


def _value(value) -> str:
    if value is None:
        return "(none)"
    return value if isinstance(value, str) else str(value)


def _files(changes: list[dict], out) -> None:
    counts = {kind: [c for c in changes if c["change"] == kind] for kind in FILE_MARK}
    print(f"Files: {len(counts['added'])} added ({size(sum(c['size'] for c in counts['added']))})"
          f", {len(counts['changed'])} changed, {len(counts['removed'])} removed "
          f"({size(sum(c['size'] for c in counts['removed']))})", file=out)
    for c in changes:
        detail = ""
        if c["change"] == "changed":
            detail = f"  {size(c['old_size'])} -> {size(c['size'])} ({c['what']})"
        elif c["type"] == "file":
            detail = f"  {size(c['size'])}"
        elif c["type"] != "file":
            detail = f"  ({c['type']})"
        print(f"  {FILE_MARK[c['change']]} {c['path']}{detail}", file=out)


def _packages(title: str, changes: list[dict], out) -> None:
    counts = {kind: sum(c["change"] == kind for c in changes) for kind in MARK}
    print(f"{title}: {counts['added']} added, {counts['changed']} changed, "
          f"{counts['removed']} removed", file=out)
    for c in changes:
        version = (f"{c['old']} -> {c['new']}" if c["change"] == "changed"
                   else c["new"] if c["change"] == "added" else c["old"])
        print(f"  {MARK[c['change']]} {c['name']} {version}", file=out)


def print_lock_diff(result: dict, out=None) -> None:
    """`dockyard notebook diff`: cell by cell, then the final environments' diff if both
    images are here."""
    out = out or sys.stdout
    print(f"Locks: {result['a']['path']} ({len(result['a']['cells'])} environment cells), "
          f"{result['b']['path']} ({len(result['b']['cells'])})", file=out)
    for row in result["cells"]:
        print(f"  {row['cell']}: {row['status']}" + (f" ({row['reason']})" if row.get("reason")
                                                     else ""), file=out)
    _packages("Bootstrapped Debian packages", result["bootstrap"], out)
    if result.get("images") is not None:
        print("Final environments:", file=out)
        print_image_diff(result["images"], out)
    elif result.get("images_missing"):
        print(f"Final environments: not compared ({result['images_missing']})", file=out)
