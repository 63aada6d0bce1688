"""The merged view of an image's layer directories, topmost first, as overlayfs shows it.

    view = MergedView([top_diff, ..., base_diff])
    view.resolve("/usr/bin/env")     # the host path a container would see there, or None
    view.read("/etc/passwd")         # its bytes, or None
    for host, rel, st in view.walk("/app"): ...
    copy_from_layers(layer_dirs, "/data", volume_dir)     # Docker's volume copy-up

The dirs are overlay lower dirs: a 0/0 character device is a whiteout, a directory with
trusted.overlay.opaque=y hides what the layers below hold there, and a non-directory hides
every lower entry of its name. Symlinks in a path resolve inside the view, never on the host.
Nothing is mounted. Every lookup is one step, `_visible`, from a directory's *stack* (the host
directories that merge into it, topmost first) to a child's stack, so nothing below a layer's
non-directory is ever looked up: a lower layer's symlink can't lead the walk onto the host.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import stat
from pathlib import Path
from typing import Iterator, Sequence

from .layers import OPAQUE_XATTR, is_whiteout

__all__ = ["MergedView", "read_merged", "copy_from_layers", "MAX_SYMLINKS"]

MAX_SYMLINKS = 40   # as the kernel's path walk

# What one name is in the view: its stack (the directories that merge into it, or the one
# non-directory that hides the rest) and the lstat of the topmost; ([], None) when absent.
_Found = tuple[list[str], "os.stat_result | None"]


def _opaque(path: str) -> bool:
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def _split(path: str) -> list[str]:
    return [p for p in path.split("/") if p not in ("", ".")]


def _visible(stack: Sequence[str], name: str) -> _Found:
    """`name` inside the directory whose stack is `stack`, as overlayfs's lookup finds it.

    A whiteout ends the search; a directory merges with the directories below it until an
    opaque one; a non-directory under a directory is hidden, as is everything under one.
    """
    found: list[str] = []
    top = None
    for directory in stack:
        path = os.path.join(directory, name)
        try:
            st = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            continue
        if is_whiteout(st):
            break
        if not stat.S_ISDIR(st.st_mode):
            return (found, top) if found else ([path], st)
        found.append(path)
        if top is None:
            top = st
        if _opaque(path):
            break
    return found, top


def _children(stack: Sequence[str]) -> dict[str, _Found]:
    """name -> what it is, for each visible entry of the directory `stack`, sorted by name."""
    names = sorted({name for directory in stack for name in os.listdir(directory)})
    found = {name: _visible(stack, name) for name in names}
    return {name: entry for name, entry in found.items() if entry[0]}


def _is_dir(stack: Sequence[str]) -> bool:
    return bool(stack) and stat.S_ISDIR(os.lstat(stack[0]).st_mode)


class MergedView:
    """The union of `diffs` (topmost first) as a container's root would show it."""

    def __init__(self, diffs: Sequence[str | os.PathLike]):
        self.diffs = [os.fspath(d) for d in diffs]

    def _resolve(self, path: str, follow_last: bool = True) -> tuple[list[str], list[str]] | None:
        """(symlink-free parts, their stack) naming `path`, or None if nothing is there."""
        parts = _split(path)
        resolved: list[str] = []
        stacks = [self.diffs]       # stacks[i]: the stack of resolved[:i]
        hops = 0
        while parts:
            part = parts.pop(0)
            if part == "..":        # resolved is symlink-free: its parent is the real one
                if resolved:
                    resolved.pop()
                    stacks.pop()
                continue
            stack, st = _visible(stacks[-1], part)
            if not stack:
                return None
            if stat.S_ISLNK(st.st_mode) and (parts or follow_last):
                hops += 1
                if hops > MAX_SYMLINKS:
                    return None
                target = os.readlink(stack[0])
                if target.startswith("/"):      # the image's root, as in a chroot
                    resolved, stacks = [], [self.diffs]
                parts = _split(target) + parts
                continue
            if parts and not stat.S_ISDIR(st.st_mode):
                return None
            resolved.append(part)
            stacks.append(stack)
        return resolved, stacks[-1]

    def _stack(self, parts: list[str]) -> list[str]:
        """The stack of symlink-free `parts`; [] when absent or under a non-directory."""
        stack = self.diffs
        for part in parts:
            if not _is_dir(stack):
                return []
            stack = _visible(stack, part)[0]
        return stack

    def resolve_parts(self, path: str, follow_last: bool = True) -> list[str] | None:
        """The symlink-free parts naming `path` in the view, or None if it doesn't exist."""
        found = self._resolve(path, follow_last)
        return None if found is None else found[0]

    def resolve(self, path: str, follow_last: bool = True) -> str | None:
        """The host path of what a container sees at `path`, or None."""
        found = self._resolve(path, follow_last)
        return found[1][0] if found and found[1] else None

    def is_dir(self, path: str) -> bool:
        found = self.resolve(path)
        return found is not None and os.path.isdir(found)

    def read(self, path: str) -> bytes | None:
        """The bytes of the regular file at `path` (symlinks followed), or None."""
        found = self.resolve(path)
        if found is None or not os.path.isfile(found):
            return None
        with open(found, "rb") as f:
            return f.read()

    def listdir(self, parts: list[str]) -> dict[str, str]:
        """name -> host path of each visible entry of the directory `parts`."""
        stack = self._stack(parts)
        if not _is_dir(stack):
            return {}
        return {name: found[0] for name, (found, _) in _children(stack).items()}

    def walk(self, path: str) -> Iterator[tuple[str, str, os.stat_result]]:
        """(host path, path relative to `path`, lstat) below the directory `path`, sorted,
        parents first."""
        found = self._resolve(path)
        if found is None or not _is_dir(found[1]):
            return

        def visit(stack: list[str], rel: str):
            for name, (sub, st) in _children(stack).items():
                rel_name = f"{rel}/{name}" if rel else name
                yield sub[0], rel_name, st
                if stat.S_ISDIR(st.st_mode):
                    yield from visit(sub, rel_name)
        yield from visit(found[1], "")


def read_merged(diffs: Sequence[str | os.PathLike], path: str) -> bytes | None:
    """Read `path` from the view of `diffs` as a container would; None when the path is
    absent or not a regular file."""
    return MergedView(diffs).read(path)


# --- Docker's volume copy-up: the view of a directory copied into a fresh volume ---

def copy_from_layers(layer_dirs: Sequence[str | Path], path: str, dest: str | Path) -> bool:
    """Copy the merged view of directory `path` of an image into the existing directory `dest`,
    keeping modes, owners, times, symlinks, hard links and device nodes; `dest` takes the
    mode and owner of `path`. Returns False (copying nothing) if `path` is not a directory.
    """
    found = MergedView(layer_dirs)._resolve(path)
    if found is None or not _is_dir(found[1]):
        return False
    stack = found[1]
    dest = Path(dest)
    _merge_into(stack, dest, {})
    _copy_meta(stack[0], dest)
    return True


def _merge_into(stack: list[str], dest: Path, links: dict) -> None:
    for name, (sub, st) in _children(stack).items():
        target = dest / name
        if stat.S_ISDIR(st.st_mode):
            target.mkdir()
            _merge_into(sub, target, links)
        else:
            _copy_entry(sub[0], target, links)
        _copy_meta(sub[0], target)     # a directory's times after its content is made


def _copy_entry(src: str, dest: Path, links: dict) -> None:
    st = os.lstat(src)
    if st.st_nlink > 1 and (st.st_dev, st.st_ino) in links:
        os.link(links[(st.st_dev, st.st_ino)], dest)
        return
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(src), dest)
    elif stat.S_ISREG(st.st_mode):
        shutil.copyfile(src, dest, follow_symlinks=False)
    elif stat.S_ISFIFO(st.st_mode):
        os.mkfifo(dest)
    elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        os.mknod(dest, st.st_mode, st.st_rdev)
    else:
        return      # a socket means nothing once copied
    links[(st.st_dev, st.st_ino)] = dest


def _copy_meta(src: str, dest: Path) -> None:
    st = os.lstat(src)
    os.chown(dest, st.st_uid, st.st_gid, follow_symlinks=False)
    if not stat.S_ISLNK(st.st_mode):
        os.chmod(dest, stat.S_IMODE(st.st_mode))     # after chown, which clears setuid bits
        for key in _xattrs(src):
            if not key.startswith("trusted.overlay."):
                with contextlib.suppress(OSError):
                    os.setxattr(dest, key, os.getxattr(src, key))
    os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def _xattrs(path: str) -> list[str]:
    try:
        return os.listxattr(path, follow_symlinks=False)
    except OSError:
        return []
