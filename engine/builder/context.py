"""The build context: which files a COPY names, whether they may be read, and their digests.

    ctx = Context(Path("app"), ignore=["*.pyc"], memo=HashMemo(cache_dir / "filehash.json"))
    sources = ctx.resolve(["src/", "*.txt"], "COPY")   # [Source(path, rel, is_dir)]
    digest = ctx.digest(sources)                        # content + metadata, for the cache key

Sources outside the context are refused: `..` that climbs out, absolute paths and symlinks
whose target leaves the context. File digests are memoized by (path, size, mtime_ns, inode),
so a rebuild hashes only what changed.
"""
from __future__ import annotations

import concurrent.futures
import glob
import hashlib
import json
import os
import stat
from pathlib import Path
from typing import NamedTuple

from ..errors import BuildError, InvalidArgument
from .ignore import IgnoreMatcher

_WILDCARD = frozenset("*?[")


class Source(NamedTuple):
    """One COPY source on the host: its path, its context-relative name, and whether a dir."""
    path: str
    rel: str
    is_dir: bool


class HashMemo:
    """sha256 of files keyed by their stat, persisted as JSON (atomic rename, no fsync:
    a lost memo only costs a re-hash)."""

    def __init__(self, path: Path | None):
        self.path = path
        self.dirty = False
        self.entries: dict[str, list] = {}
        if path is not None:
            try:
                self.entries = json.loads(path.read_text())
            except (FileNotFoundError, ValueError):
                self.entries = {}

    def known(self, path: str, st: os.stat_result) -> str | None:
        """The remembered digest of `path` if its size, mtime and inode are unchanged."""
        entry = self.entries.get(path)
        if entry is not None and entry[0] == st.st_size and entry[1] == st.st_mtime_ns \
                and entry[2] == st.st_ino:
            return entry[3]
        return None

    def file_digest(self, path: str, st: os.stat_result) -> str:
        found = self.known(path, st)
        if found is None:
            found = self.entries[path][3] if self.learn([(path, st)]) else None
        return found

    def learn(self, files: list) -> int:
        """Hash the (path, stat) files not known yet, several at once (reads and sha256 let
        go of the GIL); returns how many were hashed."""
        missing = [(p, st) for p, st in files if self.known(p, st) is None]
        if not missing:
            return 0
        with concurrent.futures.ThreadPoolExecutor(min(4, len(missing))) as pool:
            for i in range(0, len(missing), 256):      # bounded: memory stays flat
                batch = missing[i:i + 256]
                for (path, st), digest in zip(batch, pool.map(_sha256_file,
                                                              [p for p, _ in batch])):
                    self.entries[path] = [st.st_size, st.st_mtime_ns, st.st_ino, digest]
        self.dirty = True
        return len(missing)

    def save(self) -> None:
        if not self.dirty or self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        temp.write_text(json.dumps(self.entries))
        os.replace(temp, self.path)
        self.dirty = False


def _sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


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
        key = (source, tuple(excludes.rules) if excludes else ())
        if fresh or key not in self._walked:
            self._walked[key] = list(self._visit(source, excludes))
        return iter(self._walked[key])

    def _visit(self, source: Source, excludes: IgnoreMatcher | None):
        def visit(host: str, rel: str):
            try:
                entries = sorted(os.scandir(host), key=lambda e: e.name)
            except NotADirectoryError:
                return
            for entry in entries:
                sub = f"{rel}/{entry.name}" if rel else entry.name
                ctx_rel = f"{source.rel}/{sub}" if source.rel else sub
                st = entry.stat(follow_symlinks=False)
                is_dir = stat.S_ISDIR(st.st_mode)
                skip = self.matcher.ignored(ctx_rel) or bool(excludes and excludes.ignored(sub))
                if skip and not (is_dir and (self.matcher.has_exceptions or
                                             (excludes and excludes.has_exceptions))):
                    continue
                if not skip:
                    yield entry.path, sub, st
                if is_dir:
                    yield from visit(entry.path, sub)
        yield from visit(source.path, "")

    def digest(self, sources: list[Source], excludes: IgnoreMatcher | None = None) -> str:
        """One sha256 over the names, modes, ids, link targets and content of `sources`.

        File content enters by its sha256, remembered by path, size, mtime and inode across
        builds (HashMemo), so an unchanged context costs one stat per file."""
        listed = {s: os.stat(s.path) if not s.is_dir else list(self.walk(s, excludes,
                                                                         fresh=True))
                  for s in sources}
        self.memo.learn([(s.path, found) for s, found in listed.items() if not s.is_dir] +
                        [(host, st) for s in sources if s.is_dir
                         for host, _, st in listed[s] if stat.S_ISREG(st.st_mode)])
        known, parts, h = self.memo.known, [], hashlib.sha256()
        for source in sources:
            parts.append(f"\0src {source.rel} {source.is_dir}\0")
            if not source.is_dir:
                st = listed[source]
                parts.append(f"{known(source.path, st)} {st.st_mode:o}")
                continue
            for host, rel, st in listed[source]:
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
