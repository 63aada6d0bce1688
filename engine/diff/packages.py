"""Debian packages (dpkg's status file) and Python distributions (`*.dist-info`) of an image.

    debian_packages(view)                        # {"bash": "5.2.15-2+b2", ...}
    python_dists(view, ["/usr/lib/python3/dist-packages/requests-2.28.1.dist-info"])
    package_changes(old, new)                    # [{"name", "change", "old", "new"}, ...]

Only installed packages count (dpkg Status `install ok installed`). A distribution's name and
version come from its METADATA (`Name:`, `Version:`), else from the directory's name; names
are compared in their PEP 503 form, so `Foo_Bar` and `foo-bar` are one distribution.
"""
from __future__ import annotations

import re

from ..image.merged import MergedView

DPKG_STATUS = "/var/lib/dpkg/status"
DIST_INFO = ".dist-info"


def parse_dpkg_status(text: str) -> dict[str, str]:
    """Installed packages of a dpkg status file: name (with :arch when multi-arch) -> version."""
    found = {}
    for block in re.split(r"\n\s*\n", text):
        fields = {}
        for line in block.splitlines():
            if line and not line[0].isspace() and ":" in line:
                key, _, value = line.partition(":")
                fields[key.strip().lower()] = value.strip()
        if "package" in fields and fields.get("status", "").endswith(" installed"):
            name = fields["package"]
            if fields.get("multi-arch") == "same" and fields.get("architecture"):
                name += ":" + fields["architecture"]
            found[name] = fields.get("version", "")
    return found


def debian_packages(view: MergedView) -> dict[str, str]:
    data = view.read(DPKG_STATUS)
    return parse_dpkg_status(data.decode(errors="replace")) if data else {}


def canonical(name: str) -> str:
    """PEP 503's normalized name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def dist_info_dirs(paths) -> set[str]:
    """The `*.dist-info` directories `paths` are (or lie in)."""
    found = set()
    for path in paths:
        parts = path.split("/")
        for i, part in enumerate(parts):
            if part.endswith(DIST_INFO):
                found.add("/".join(parts[:i + 1]))
                break
    return found


def python_dists(view: MergedView, dirs) -> dict[str, str]:
    """name (PEP 503 form) -> version for each of `dirs` that the image has."""
    found = {}
    for directory in dirs:
        if not view.is_dir(directory):
            continue
        base = directory.rpartition("/")[2]
        name, version = _name_version(view.read(directory + "/METADATA"), base)
        found[canonical(name)] = version
    return found


def _name_version(metadata: bytes | None, base: str) -> tuple[str, str]:
    stem = base[:-len(DIST_INFO)]
    name, _, version = stem.partition("-")
    for line in (metadata or b"").decode(errors="replace").splitlines():
        if not line.strip():
            break                     # the headers end at the first blank line
        key, _, value = line.partition(":")
        if key.lower() == "name":
            name = value.strip()
        elif key.lower() == "version":
            version = value.strip()
    return name, version


def package_changes(old: dict[str, str], new: dict[str, str]) -> list[dict]:
    """Added, removed and changed packages by name (sorted)."""
    changes = []
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        change = "added" if before is None else "removed" if after is None else "changed"
        changes.append({"name": name, "change": change, "old": before, "new": after})
    return changes
