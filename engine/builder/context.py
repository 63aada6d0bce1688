"""The build context: which files a COPY names, whether they may be read, and their digests.

    ctx = Context(Path("app"), ignore=["*.pyc"], memo=HashMemo(cache_dir / "filehash.json"))
    sources = ctx.resolve(["src/", "*.txt"], "COPY")   # [Source(path, rel, is_dir)]
    digest = ctx.digest(sources)                        # content + metadata, for the cache key

Sources outside the context are refused: `..` that climbs out, absolute paths and symlinks
whose target leaves the context. A source's digest is memoized by the fingerprint of its
listing's stats, and file digests by (path, size, mtime, ctime, inode) (HashMemo), so an
unchanged context costs one lstat per file and a changed one hashes only what changed.
"""
from __future__ import annotations

import glob
import hashlib
import operator
import os
import stat
from pathlib import Path
from typing import NamedTuple

from ..errors import BuildError, InvalidArgument
from .hashmemo import HashMemo
from .ignore import IgnoreMatcher

__all__ = ["Context", "HashMemo", "Source"]
_by_name = operator.attrgetter("name")

_WILDCARD = frozenset("*?[")


class Source(NamedTuple):
    """One COPY source on the host: its path, its context-relative name, and whether a dir."""
    path: str
    rel: str
    is_dir: bool


class Context:
    """A build context directory with its .dockerignore applied."""

    def __init__(self, root: Path | None, ignore: list[str] = (), memo: HashMemo | None = None):
        self.root = os.path.realpath(root) if root is not None else None
        self.matcher = IgnoreMatcher(list(ignore))
        self.memo = memo or HashMemo(None)
        self._walked: dict = {}

    def _inside(self, path: str) -> bool:
        return path == self.root or path.startswith(self.root + "/")

    def resolve(self, sources: list[str], what: str = "COPY") -> list[Source]:
        """The host files each source names (wildcards expanded); BuildError if none or unsafe."""
        if self.root is None:
            raise InvalidArgument(f"{what} needs a build context, and this build has none")
        found: list[Source] = []
        for raw in sources:
            if raw.startswith("/"):
                raise BuildError(f"{what} failed: forbidden path outside the build context: "
                                 f"{raw} (absolute source paths are not allowed)", what)
            clean = os.path.normpath(raw)
            if clean == ".." or clean.startswith("../"):
                raise BuildError(f"{what} failed: forbidden path outside the build context: "
                                 f"{raw}", what)
            if _WILDCARD & set(clean):
                names = sorted(glob.glob(clean, root_dir=self.root))
                matched = [self._source(n, raw, what) for n in names
                           if not self.matcher.ignored(os.path.normpath(n))]
                if not matched:
                    raise BuildError(f"{what} failed: no source files were specified "
                                     f"(nothing matches {raw!r})", what)
                found.extend(matched)
            else:
                if clean != "." and self.matcher.ignored(clean):
                    raise BuildError(f"{what} failed: file not found in build context or "
                                     f"excluded by .dockerignore: {raw}", what)
                found.append(self._source(clean, raw, what))
        return found

    def _source(self, rel: str, raw: str, what: str) -> Source:
        path = os.path.join(self.root, rel) if rel != "." else self.root
        real = os.path.realpath(path)
        if not self._inside(real):
            raise BuildError(f"{what} failed: forbidden path outside the build context: {raw} "
                             f"(a symlink leads to {real})", what)
        try:
            st = os.stat(real)
        except FileNotFoundError:
            raise BuildError(f"{what} failed: file not found in build context or excluded by "
                             f".dockerignore: stat {raw}: no such file or directory",
                             what) from None
        rel = os.path.relpath(real, self.root)
        return Source(real, "" if rel == "." else rel, stat.S_ISDIR(st.st_mode))

    def walk(self, source: Source, excludes: IgnoreMatcher | None = None, *,
             fresh: bool = False):
        """(host path, path relative to the source, lstat) for everything a directory source
        holds that isn't ignored, parents before children, names sorted. The listing of the
        last digest() is reused: a step's cache key and its copy see the same files, for one
        stat each; fresh=True lists again."""
        return iter(self._listing(source, excludes, fresh))

    def _listing(self, source: Source, excludes: IgnoreMatcher | None, fresh: bool) -> list:
        key = (source, tuple(excludes.rules) if excludes else ())
        if fresh or key not in self._walked:
            self._walked[key] = self._visit(source, excludes)
        return self._walked[key]

    def _visit(self, source: Source, excludes: IgnoreMatcher | None) -> list:
        listing: list = []
        append, is_dir = listing.append, stat.S_ISDIR
        filtered = bool(self.matcher) or bool(excludes)
        keep_below = self.matcher.has_exceptions or bool(excludes and excludes.has_exceptions)
        prefix = f"{source.rel}/" if source.rel else ""

        def visit(host: str, rel: str):             # rel: "" or "sub/dir/"
            try:
                with os.scandir(host) as found:
                    entries = sorted(found, key=_by_name)
            except NotADirectoryError:
                return
            for entry in entries:
                sub = rel + entry.name
                st = entry.stat(follow_symlinks=False)
                if filtered and (self.matcher.ignored(prefix + sub) or
                                 bool(excludes and excludes.ignored(sub))):
                    if keep_below and is_dir(st.st_mode):
                        visit(entry.path, sub + "/")
                    continue
                append((entry.path, sub, st))
                if is_dir(st.st_mode):
                    visit(entry.path, sub + "/")
        visit(source.path, "")
        return listing

    def digest(self, sources: list[Source], excludes: IgnoreMatcher | None = None) -> str:
        """One sha256 over the names, modes, ids, link targets and content of `sources`.

        A listing whose every stat (name, mode, owner, size, mtime, ctime, inode, device) was
        seen before gets the digest it had then, read from nothing but the lstats; otherwise
        file content enters by its sha256, remembered per file across builds (HashMemo)."""
        listed = {s: [(s.path, "", os.stat(s.path))] if not s.is_dir
                  else self._listing(s, excludes, True) for s in sources}
        fingerprint = _fingerprint(listed)
        found = self.memo.tree(fingerprint)
        if found is None:
            found = self._content_digest(listed)
            self.memo.remember_tree(fingerprint, found)
        return found

    def _content_digest(self, listed: dict) -> str:
        self.memo.learn([(host, st) for entries in listed.values()
                         for host, _, st in entries if stat.S_ISREG(st.st_mode)])
        known, parts, h = self.memo.known, [], hashlib.sha256()
        for source, entries in listed.items():
            parts.append(f"\0src {source.rel} {source.is_dir}\0")
            if not source.is_dir:
                st = entries[0][2]
                parts.append(f"{known(source.path, st)} {st.st_mode:o}")
                continue
            for host, rel, st in entries:
                parts.append(f"\0{rel} {st.st_mode:o} {st.st_uid}:{st.st_gid}")
                if stat.S_ISREG(st.st_mode):
                    parts.append(known(host, st))
                elif stat.S_ISLNK(st.st_mode):
                    parts.append(os.readlink(host))
                if len(parts) > 4096:
                    h.update("".join(parts).encode("utf-8", "surrogateescape"))
                    parts.clear()
        h.update("".join(parts).encode("utf-8", "surrogateescape"))
        return "sha256:" + h.hexdigest()


def _fingerprint(listed: dict) -> str:
    """sha256 over every listed entry's name and the stat fields any change of it moves."""
    h = hashlib.sha256()
    for source, entries in listed.items():
        h.update(f"\0src {source.rel} {source.is_dir}\0".encode("utf-8", "surrogateescape"))
        h.update("".join([f"{rel}\0{st.st_mode} {st.st_uid} {st.st_gid} {st.st_size} "
                          f"{st.st_mtime_ns} {st.st_ctime_ns} {st.st_ino} {st.st_dev}\n"
                          for _, rel, st in entries]).encode("utf-8", "surrogateescape"))
    return h.hexdigest()
