"""What a build remembers about context files across builds, so an unchanged context is not
read again.

    memo = HashMemo(cache_dir / "filehash.json")
    memo.tree(fingerprint)               # the digest of a whole listing seen before, or None
    memo.learn([(path, lstat), ...])     # hashes only files whose stat changed
    memo.known(path, lstat)              # their sha256
    memo.save()

Two levels, as BuildKit's contenthash keeps one per directory: a whole source's digest keyed by
the fingerprint of its listing (every entry's name, mode, owner, size, mtime, ctime, inode and
device), and each file's sha256 keyed by size, mtime, ctime and inode. A change to a file's
bytes moves its ctime, which nobody can set back, so a matching stat means matching content.
Both are JSON, replaced atomically without fsync: a lost memo only costs a re-hash. The file
memo is read only when a listing's fingerprint is new.
"""
from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
from pathlib import Path

TREES_KEPT = 64                          # listings remembered: a few contexts, a few edits each


class HashMemo:
    """sha256 of files keyed by their stat, and digests of whole listings by fingerprint."""

    def __init__(self, path: Path | None):
        self.path = path
        self.trees_path = path.with_name("treehash.json") if path is not None else None
        self.dirty = self.trees_dirty = False
        self._entries: dict[str, list] | None = None if path is not None else {}
        self.trees: dict[str, str] = _load(self.trees_path) if path is not None else {}

    @property
    def entries(self) -> dict[str, list]:
        """path -> [size, mtime_ns, ctime_ns, inode, sha256 hex], read on first use."""
        if self._entries is None:
            self._entries = _load(self.path)
        return self._entries

    def tree(self, fingerprint: str) -> str | None:
        """The digest remembered for a listing with this fingerprint, or None."""
        return self.trees.get(fingerprint)

    def remember_tree(self, fingerprint: str, digest: str) -> None:
        self.trees.pop(fingerprint, None)
        self.trees[fingerprint] = digest                 # newest last; the oldest go first
        while len(self.trees) > TREES_KEPT:
            del self.trees[next(iter(self.trees))]
        self.trees_dirty = True

    def known(self, path: str, st: os.stat_result) -> str | None:
        """The remembered digest of `path` if its size, mtime, ctime and inode are unchanged."""
        entry = self.entries.get(path)
        if entry is not None and len(entry) == 5 and entry[0] == st.st_size \
                and entry[1] == st.st_mtime_ns and entry[2] == st.st_ctime_ns \
                and entry[3] == st.st_ino:
            return entry[4]
        return None

    def file_digest(self, path: str, st: os.stat_result) -> str:
        found = self.known(path, st)
        if found is None:
            found = self.entries[path][4] if self.learn([(path, st)]) else None
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
                    self.entries[path] = [st.st_size, st.st_mtime_ns, st.st_ctime_ns,
                                          st.st_ino, digest]
        self.dirty = True
        return len(missing)

    def save(self) -> None:
        if self.path is None:
            return
        if self.dirty:
            _store(self.path, self.entries)
            self.dirty = False
        if self.trees_dirty:
            _store(self.trees_path, self.trees)
            self.trees_dirty = False


def _load(path: Path) -> dict:
    try:
        found = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _store(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    temp.write_text(json.dumps(data))
    os.replace(temp, path)


def _sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()
