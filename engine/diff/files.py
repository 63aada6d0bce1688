"""Files that differ between two images, read from their unpacked layers (nothing is extracted).

    paths = touched_paths(own_layers_a + own_layers_b, view_a, view_b)
    changes = file_changes(view_a, view_b, paths)
    # [{"path": "/app/x", "change": "added", "type": "file", "size": 12}, ...]

Layers the two images share (the same chain, from the bottom) hold the same files in both, so
only the paths the other layers touch can differ: a layer's own entries, its whiteouts, and for
an opaque directory everything either image has below it. A path is then looked up in both
merged views; the same host file on both sides is unchanged without reading it, and two
regular files of one size are compared byte for byte.
"""
from __future__ import annotations

import filecmp
import os
import stat

from ..image.layers import OPAQUE_XATTR, is_whiteout
from ..image.merged import MergedView

TYPES = {stat.S_IFREG: "file", stat.S_IFDIR: "dir", stat.S_IFLNK: "symlink",
         stat.S_IFIFO: "fifo", stat.S_IFCHR: "char", stat.S_IFBLK: "block",
         stat.S_IFSOCK: "socket"}


def layer_entries(diff_dir) -> list[tuple[str, os.stat_result, bool]]:
    """(absolute path in the image, lstat, opaque) for every entry of one layer's diff dir,
    parents first; whiteouts are included (is_whiteout tells them)."""
    found = []
    base = os.fspath(diff_dir)
    for directory, dirs, files in os.walk(base):
        dirs.sort()
        rel = os.path.relpath(directory, base)
        prefix = "/" if rel == "." else "/" + rel + "/"
        for name in sorted(dirs + files):
            host = os.path.join(directory, name)
            st = os.lstat(host)
            found.append((prefix + name, st, stat.S_ISDIR(st.st_mode) and _opaque(host)))
    return found


def touched_paths(diff_dirs, view_a: MergedView, view_b: MergedView) -> set[str]:
    """Every path the layers `diff_dirs` touch, plus what either view holds below an opaque
    directory among them."""
    paths = set()
    for diff_dir in diff_dirs:
        for path, _, opaque in layer_entries(diff_dir):
            paths.add(path)
            if opaque:
                for view in (view_a, view_b):
                    paths.update(path + "/" + rel for _, rel, _ in view.walk(path))
    return paths


def entry(view: MergedView, path: str) -> tuple[str, os.stat_result] | None:
    """(host path, lstat) of what the image holds at `path`, the last part not followed."""
    host = view.resolve(path, follow_last=False)
    if host is None:
        return None
    try:
        return host, os.lstat(host)
    except FileNotFoundError:
        return None


def kind(st: os.stat_result) -> str:
    return TYPES.get(stat.S_IFMT(st.st_mode), "other")


def size_of(st: os.stat_result) -> int:
    return st.st_size if stat.S_ISREG(st.st_mode) else 0


def what_changed(a: tuple[str, os.stat_result], b: tuple[str, os.stat_result]) -> str | None:
    """How the entry at one path differs between the images, or None when it doesn't.

    Directories differ only by mode or owner (their mtime follows whatever changed inside).
    """
    (host_a, sa), (host_b, sb) = a, b
    if host_a == host_b:
        return None
    if stat.S_IFMT(sa.st_mode) != stat.S_IFMT(sb.st_mode):
        return f"{kind(sa)} -> {kind(sb)}"
    parts = []
    if stat.S_IMODE(sa.st_mode) != stat.S_IMODE(sb.st_mode):
        parts.append(f"mode {stat.S_IMODE(sa.st_mode):o} -> {stat.S_IMODE(sb.st_mode):o}")
    if (sa.st_uid, sa.st_gid) != (sb.st_uid, sb.st_gid):
        parts.append(f"owner {sa.st_uid}:{sa.st_gid} -> {sb.st_uid}:{sb.st_gid}")
    if stat.S_ISLNK(sa.st_mode) and os.readlink(host_a) != os.readlink(host_b):
        parts.append(f"target {os.readlink(host_a)} -> {os.readlink(host_b)}")
    if stat.S_ISREG(sa.st_mode) and (sa.st_size != sb.st_size
                                     or not filecmp.cmp(host_a, host_b, shallow=False)):
        parts.insert(0, "content")
    return ", ".join(parts) or None


def file_changes(view_a: MergedView, view_b: MergedView, paths) -> list[dict]:
    """Added, removed and changed entries at `paths`, sorted by path."""
    changes = []
    for path in sorted(paths):
        a, b = entry(view_a, path), entry(view_b, path)
        if a is None and b is None:
            continue
        if a is None:
            changes.append({"path": path, "change": "added", "type": kind(b[1]),
                            "size": size_of(b[1])})
        elif b is None:
            changes.append({"path": path, "change": "removed", "type": kind(a[1]),
                            "size": size_of(a[1])})
        else:
            why = what_changed(a, b)
            if why:
                changes.append({"path": path, "change": "changed", "type": kind(b[1]),
                                "old_size": size_of(a[1]), "size": size_of(b[1]), "what": why})
    return changes


def layer_changes(diff_dir, lower: MergedView) -> list[dict]:
    """What one layer does on top of the layers below it (`lower`): each path it adds,
    changes or removes (a whiteout), parents first; directories only when new."""
    found = []
    entries = layer_entries(diff_dir)
    own = {path for path, _, _ in entries}
    for path, st, opaque in entries:
        below = entry(lower, path)
        if opaque and below is not None:         # what the layers below held here is gone
            for _, rel, lst in lower.walk(path):
                if f"{path}/{rel}" not in own:
                    found.append({"path": f"{path}/{rel}", "change": "removed",
                                  "type": kind(lst), "size": size_of(lst)})
        if is_whiteout(st):
            if below is not None:
                found.append({"path": path, "change": "removed", "type": kind(below[1]),
                              "size": size_of(below[1])})
        elif below is None:
            found.append({"path": path, "change": "added", "type": kind(st), "size": size_of(st)})
        elif not stat.S_ISDIR(st.st_mode):
            found.append({"path": path, "change": "changed", "type": kind(st),
                          "old_size": size_of(below[1]), "size": size_of(st)})
    return found


def _opaque(path: str) -> bool:
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False
