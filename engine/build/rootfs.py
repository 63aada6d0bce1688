"""A read-only merged view of an image's layer snapshots, without mounting anything.

    view = MergedView([top_diff, ..., base_diff])
    view.resolve("/usr/bin/env")     # the host path a container would see there, or None
    for host, rel, st in view.walk("/app"): ...

Whiteouts (0/0 char devices) and opaque directories hide lower entries, as overlayfs does;
symlinks in a path resolve inside the view, never on the host. COPY --from, the check for an
existing destination directory and `--chown` name lookups read images through this.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from ..image.layers import OPAQUE_XATTR, is_whiteout

_MAX_SYMLINKS = 40


def _opaque(path: str) -> bool:
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


class MergedView:
    """The union of `diffs` (topmost first) as a container's root would show it."""

    def __init__(self, diffs: list[Path]):
        self.diffs = [os.fspath(d) for d in diffs]

    def _lookup(self, parts: list[str]) -> str | None:
        """Host path of the topmost visible entry for resolved `parts` (no symlinks followed)."""
        if not parts:
            return self.diffs[0] if self.diffs else None
        rel = "/".join(parts)
        for layer in self.diffs:
            candidate = os.path.join(layer, rel)
            try:
                st = os.lstat(candidate)
            except (FileNotFoundError, NotADirectoryError):
                st = None
            if st is not None:
                return None if is_whiteout(st) else candidate
            if self._hides_below(layer, parts):
                return None
        return None

    @staticmethod
    def _hides_below(layer: str, parts: list[str]) -> bool:
        for i in range(1, len(parts)):
            ancestor = os.path.join(layer, *parts[:i])
            try:
                st = os.lstat(ancestor)
            except (FileNotFoundError, NotADirectoryError):
                return False
            if not stat.S_ISDIR(st.st_mode) or _opaque(ancestor):
                return True
        return False

    def resolve_parts(self, path: str, follow_last: bool = True) -> list[str] | None:
        """The symlink-free parts naming `path` in the view, or None if it doesn't exist."""
        parts = [p for p in path.split("/") if p not in ("", ".")]
        resolved: list[str] = []
        hops = 0
        while parts:
            part = parts.pop(0)
            if part == "..":
                if resolved:
                    resolved.pop()
                continue
            found = self._lookup(resolved + [part])
            if found is None:
                return None
            st = os.lstat(found)
            if stat.S_ISLNK(st.st_mode) and (parts or follow_last):
                hops += 1
                if hops > _MAX_SYMLINKS:
                    return None
                target = os.readlink(found)
                if target.startswith("/"):
                    resolved = []
                parts = [p for p in target.split("/") if p not in ("", ".")] + parts
                continue
            if parts and not stat.S_ISDIR(st.st_mode):
                return None
            resolved.append(part)
        return resolved

    def resolve(self, path: str, follow_last: bool = True) -> str | None:
        parts = self.resolve_parts(path, follow_last)
        return None if parts is None else self._lookup(parts)

    def is_dir(self, path: str) -> bool:
        found = self.resolve(path)
        return found is not None and os.path.isdir(found)

    def read(self, path: str) -> bytes | None:
        found = self.resolve(path)
        if found is None or not os.path.isfile(found):
            return None
        with open(found, "rb") as f:
            return f.read()

    def listdir(self, parts: list[str]) -> dict[str, str]:
        """name -> host path of each visible entry of the directory `parts`."""
        seen: dict[str, str | None] = {}
        rel = "/".join(parts)
        for layer in self.diffs:
            directory = os.path.join(layer, rel) if rel else layer
            try:
                st = os.lstat(directory)
            except (FileNotFoundError, NotADirectoryError):
                if self._hides_below(layer, parts) if parts else False:
                    break
                continue
            if not stat.S_ISDIR(st.st_mode):
                break
            for entry in os.scandir(directory):
                if entry.name not in seen:
                    est = entry.stat(follow_symlinks=False)
                    seen[entry.name] = None if is_whiteout(est) else entry.path
            if _opaque(directory) or (parts and self._hides_below(layer, parts)):
                break
        return {k: v for k, v in sorted(seen.items()) if v is not None}

    def walk(self, path: str):
        """(host path, path relative to `path`, lstat) below the directory `path`, sorted,
        parents first."""
        parts = self.resolve_parts(path)
        if parts is None:
            return

        def visit(parts: list[str], rel: str):
            for name, host in self.listdir(parts).items():
                st = os.lstat(host)
                sub = f"{rel}/{name}" if rel else name
                yield host, sub, st
                if stat.S_ISDIR(st.st_mode):
                    yield from visit(parts + [name], sub)
        yield from visit(parts, "")


def lookup_ids(view: MergedView | None, user: str, group: str | None) -> tuple[int, int]:
    """uid, gid for `--chown=user[:group]` (names from the image's /etc/passwd, /etc/group)."""
    from ..errors import BuildError

    def table(path: str) -> list[list[str]]:
        data = view.read(path) if view is not None else None
        return [line.split(":") for line in (data or b"").decode(errors="replace").splitlines()]

    if user.isdigit():
        uid, gid = int(user), int(user) if group is None else None
    else:
        rows = [r for r in table("/etc/passwd") if r[0] == user and len(r) > 3]
        if not rows:
            raise BuildError(f"unable to find user {user}: no matching entries in passwd file")
        uid, gid = int(rows[0][2]), int(rows[0][3])
    if group is not None:
        if group.isdigit():
            gid = int(group)
        else:
            rows = [r for r in table("/etc/group") if r[0] == group and len(r) > 2]
            if not rows:
                raise BuildError(f"unable to find group {group}: no matching entries in "
                                 "group file")
            gid = int(rows[0][2])
    return uid, gid
