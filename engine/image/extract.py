"""Extract a layer tar as it streams, once, into a directory, refusing anything that would leave it.

    result = extract(stream, root, overlay=True, split=SplitWriter(...))
    result.digest, result.size, result.left_out, result.moved

Every name acted on stays inside `root`: an entry's own name, the name a whiteout hides
(`.wh..`, `.wh...` and a bare `.wh.` are refused), the directory an opaque marker empties and a
hard link's target. Absolute paths, `..` that climbs out and paths through symlinks refuse the
whole layer (ContentError) before anything outside is touched; files are created with
O_EXCL|O_NOFOLLOW after the old entry is removed, so nothing is written through a symlink. Hard
links are made with linkat(2) without following, as Docker does: a link to a symlink is
another symlink, never the host file it names.

Device nodes are left out and reported, never created (see layers.py). With a `split` writer
the tar's non-content bytes are recorded beside the files (tarsplit.py); a file the same layer
replaces later is moved aside into `<root>/../orphans/` instead of deleted, so the index can
still rebuild the exact tar.
"""
from __future__ import annotations

import collections
import concurrent.futures
import os
import shutil
import stat

from ..errors import ContentError, HostError
from .tarstream import TarReader

WHITEOUT, OPAQUE, OPAQUE_XATTR = ".wh.", ".wh..wh..opq", "trusted.overlay.opaque"
META_PREFIX = ".wh..wh."            # aufs bookkeeping (.wh..wh.plnk, ...) is skipped
# xattrs a layer may set: file capabilities (ping, ...) and user data. Never trusted.* (that
# is overlayfs's own namespace) or security labels of another host.
KEPT_XATTRS = ("security.capability", "user.")
WRITERS = 2                          # threads creating small files while the tar streams on
SMALL = 1 << 20                      # files up to this size go to a writer thread
BATCH = 1 << 20                      # ... in batches of this many bytes (or BATCH_FILES files):
BATCH_FILES = 64                     # one hand-off per batch, not one per file
WINDOW = 8 << 20                     # bytes of such files held at once
_OURS = (os.geteuid(), os.getegid())  # who owns a file we create


class Extracted:
    """What an extraction did: the stream's digest and size, nodes left out, files moved."""

    def __init__(self, digest: str, size: int, left_out: list, moved: dict):
        self.digest, self.size, self.left_out, self.moved = digest, size, left_out, moved


def relative(name: str) -> str | None:
    """`name` normalized ("a/./b" -> "a/b"), or None when it is absolute or climbs out."""
    clean = os.path.normpath(name) if name else "."
    if name.startswith("/") or clean == ".." or clean.startswith("../"):
        return None
    return clean


def _inside(root: str, path: str) -> bool:
    return path == root or path.startswith(root + "/")


def extract(stream, root, *, overlay: bool = True, split=None) -> Extracted:
    """Unpack the uncompressed tar `stream` (anything with read(n)) into the existing `root`.

    overlay=True keeps `root` in overlay lower format (whiteouts as 0/0 char devices, the
    opaque xattr); overlay=False makes a flat rootfs: whiteouts delete and opaque markers empty
    the directory of what earlier layers put there. ContentError for an unsafe or corrupt tar,
    HostError when the kernel refuses a write; the caller removes a half-extracted `root`.
    """
    job = _Job(os.path.realpath(root), overlay, split)
    job.fresh = not any(os.scandir(job.root))
    if job.fresh and not os.stat(job.root).st_mode & stat.S_ISGID:
        job.umask = process_umask()
    reader = TarReader(stream)
    try:
        with concurrent.futures.ThreadPoolExecutor(WRITERS, thread_name_prefix="write") as pool:
            job.pool = pool
            try:
                for entry in reader:
                    job.entry(reader, entry)
                if split is not None:
                    split.raw(reader.take_raw())
            finally:
                job.drain()
        job.finish()
    except OSError as exc:
        raise HostError(f"extracting a layer into {root}: {exc}") from exc
    return Extracted(reader.digest, reader.size, job.left_out, job.moved)


class _Job:
    def __init__(self, root: str, overlay: bool, split):
        self.root, self.overlay, self.split = root, overlay, split
        self.extracted: set[str] = set()     # paths this layer wrote (flat opaque keeps them)
        self.records: dict[str, int] = {}    # path -> its split file record
        self.moved: dict[int, str] = {}
        self.left_out: list[str] = []
        self.dirs: list[tuple[str, object]] = []
        self.orphans = 0
        # Parent directories already checked: their path as named -> as resolved inside the
        # root. Anything removed later drops what it could have changed (see _forget).
        self.parents: dict[str, str] = {root: root}
        self.pool = None
        self.pending: dict[str, concurrent.futures.Future | None] = {}
        self.batch: list[tuple[str, bytes, object]] = []
        self.batched = self.held = 0
        self.inflight: collections.deque = collections.deque()   # (future, targets, bytes)
        # In a root that started empty only what this job made can exist: no lstat for the
        # rest. `implied` holds the directories made for entries whose parents the tar lacks.
        self.fresh = False
        self.implied: set[str] = set()
        self.umask: int | None = None            # known in a fresh root: see _create

    def drain(self) -> None:
        """Wait for every file a writer thread is still making (raising its OSError)."""
        self._submit()
        while self.inflight:
            self._finish_oldest()

    def _finish_oldest(self) -> None:
        """Wait for the oldest batch handed off: the writers keep working on the rest."""
        future, targets, size = self.inflight.popleft()
        try:
            future.result()
        finally:
            self.held -= size
            for target in targets:
                if self.pending.get(target) is future:
                    del self.pending[target]

    def _submit(self) -> None:
        if self.batch:
            future = self.pool.submit(_create_many, self.batch, self.umask)
            targets = [target for target, _, _ in self.batch]
            for target in targets:
                self.pending[target] = future
            self.inflight.append((future, targets, self.batched))
            self.batch, self.batched = [], 0

    def _may_exist(self, path: str) -> bool:
        return not self.fresh or path in self.extracted or path in self.implied

    def _parent(self, name: str, entry) -> str:
        """The real directory `name`'s entry goes in, made if needed; ContentError if it
        leads out of the root or lies under a non-directory."""
        named = os.path.join(self.root, os.path.dirname(name)).rstrip("/")
        found = self.parents.get(named)
        if found is not None:
            return found
        parent = os.path.realpath(named)
        if not _inside(self.root, parent):
            raise ContentError(f"{entry.name!r} leads out of the root through a symlink")
        if os.path.lexists(parent) and not os.path.isdir(parent):
            raise ContentError(f"{entry.name!r} lies under a file that is not a directory")
        if self.fresh:
            below = parent
            while below != self.root and below not in self.implied:
                self.implied.add(below)
                below = os.path.dirname(below)
        os.makedirs(parent, 0o755, exist_ok=True)
        self.parents[named] = parent
        return parent

    def _forget(self, path: str) -> None:
        """`path` is going: drop cached parents named or resolved at or below it."""
        below = path + "/"
        self.parents = {k: v for k, v in self.parents.items()
                        if not (k == path or k.startswith(below) or v == path
                                or v.startswith(below))}

    def entry(self, reader: TarReader, entry) -> None:
        if self.split is not None:
            self.split.raw(entry.raw)
        kept = self._place(reader, entry)
        if not kept and reader.unread:          # content nothing on disk holds: keep it raw
            data = reader.skip()
            if self.split is not None:
                self.split.raw(data)

    def _place(self, reader, entry) -> bool:
        """Act on one entry; True when its content went into a file the index may name."""
        name = relative(entry.name)
        if name is None:
            raise ContentError(f"unsafe path in layer: {entry.name!r}")
        if name == ".":
            return False
        if entry.kind in ("char", "block"):
            self.left_out.append(entry.name)
            return False
        base = os.path.basename(name)
        if base.startswith(WHITEOUT) and base != OPAQUE and not base.startswith(META_PREFIX) \
                and base[len(WHITEOUT):] in ("", ".", ".."):   # the directory or its parent
            raise ContentError(f"unsafe whiteout in layer: {entry.name!r}")
        parent = self._parent(name, entry)
        target = os.path.join(parent, base)
        if base == OPAQUE:
            if self.overlay:
                os.setxattr(parent, OPAQUE_XATTR, b"y")
            else:
                self.drain()
                for item in os.scandir(parent):
                    if item.path not in self.extracted:
                        self._remove(item.path)
            return False
        if base.startswith(META_PREFIX):
            return False
        if base.startswith(WHITEOUT):
            victim = os.path.join(parent, base[len(WHITEOUT):])
            self._remove(victim)
            if self.overlay:
                os.mknod(victim, stat.S_IFCHR | 0o600, os.makedev(0, 0))
                self.extracted.add(victim)
            return False
        link = self._link_source(entry) if entry.kind == "hardlink" else None
        if not (entry.kind == "dir" and self._may_exist(target) and os.path.isdir(target)
                and not os.path.islink(target)):
            self._remove(target)                 # never write through an existing symlink
        kept = self._make(reader, entry, target, link)
        self.extracted.add(target)
        return kept

    def _link_source(self, entry) -> str:
        self.drain()                             # the file it names may still be in writing
        link = relative(entry.linkname)
        source = os.path.join(self.root, link) if link not in (None, ".") else None
        if source is None or not _inside(self.root, os.path.realpath(os.path.dirname(source))):
            raise ContentError(f"hard link out of the root: {entry.name!r} -> "
                               f"{entry.linkname!r}")
        if not os.path.lexists(source) or os.path.isdir(source) and not os.path.islink(source):
            raise ContentError(f"hard link to a file the layer lacks: {entry.name!r} -> "
                               f"{entry.linkname!r}")
        # The checked, normalized form: link(2) would walk "a/.." through a symlinked `a`.
        return os.path.join(os.path.realpath(os.path.dirname(source)), os.path.basename(source))

    def _make(self, reader, entry, target: str, link: str | None) -> bool:
        kind = entry.kind
        if kind == "dir":
            if not (self._may_exist(target) and os.path.isdir(target)):
                os.mkdir(target, 0o700)
            self.dirs.append((target, entry))
            return False
        if kind == "hardlink":
            os.link(link, target, follow_symlinks=False)
            return False
        if kind == "symlink":
            os.symlink(entry.linkname, target)
        elif kind == "fifo":
            os.mkfifo(target, 0o600)
        else:
            self._write(reader, entry, target)
            return True
        self._attributes(target, entry)
        return False

    def _write(self, reader, entry, target: str) -> None:
        if self.split is not None:
            rel = target[len(self.root) + 1:]
            self.records[target] = self.split.file("diff/" + rel, entry.size)
        if entry.size <= SMALL:                  # a writer thread makes it; we read on
            data = reader.skip()
            self.batch.append((target, data, entry))
            self.pending[target] = None          # its future once the batch is handed off
            self.batched += len(data)
            self.held += len(data)
            if self.batched >= BATCH or len(self.batch) >= BATCH_FILES:
                self._submit()
            while self.held > WINDOW and self.inflight:
                self._finish_oldest()
        else:
            _create(target, reader.content(), entry, self.umask)

    def _attributes(self, path: str, entry) -> None:
        _attributes(path, entry)

    def _remove(self, path: str) -> None:
        """Remove what is at `path`, moving aside files the index still names."""
        if not self._may_exist(path):
            return
        if self.pending and (path in self.pending or os.path.lexists(path)):
            self.drain()
        if not os.path.lexists(path):
            return
        self._forget(path)
        is_dir = os.path.isdir(path) and not os.path.islink(path)
        if is_dir:
            named = [p for p in self.records if p.startswith(path + "/")]
        else:
            named = [path] if path in self.records else []
        if named:
            self.orphans += 1
            aside = os.path.join(os.path.dirname(self.root), "orphans", str(self.orphans))
            os.makedirs(os.path.dirname(aside), exist_ok=True)
            os.rename(path, aside)
            for p in named:
                self.moved[self.records.pop(p)] = os.path.relpath(aside + p[len(path):],
                                                                  os.path.dirname(self.root))
        elif is_dir:
            shutil.rmtree(path)
        else:
            os.unlink(path)
        self.extracted.discard(path)

    def finish(self) -> None:
        self.drain()
        """Directory owners, modes and times last: writing into them changed their mtimes."""
        for path, entry in reversed(self.dirs):
            if os.path.isdir(path) and not os.path.islink(path):
                self._attributes(path, entry)


def _create_many(batch, umask: int | None) -> None:
    for path, data, entry in batch:
        _create(path, (data,), entry, umask)


def _create(path: str, chunks, entry, umask: int | None = None) -> None:
    """A new regular file at `path` (never through a symlink) with `chunks` and the entry's
    owner, mode, xattrs and mtime. With the process's `umask` (a root that started empty,
    so no directory passes its group on), a file whose owner is ours and whose mode open(2)
    gives exactly is made without chown and chmod: two syscalls of six, per file."""
    mode = entry.mode & 0o7777
    exact = umask is not None and not mode & (0o7000 | umask) and \
        (entry.uid, entry.gid) == _OURS
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                 mode if exact else 0o600)
    try:
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view):]
        if exact:
            _xattrs(fd, entry, {})
            os.utime(fd, (entry.mtime, entry.mtime))
        else:
            _attributes(fd, entry)
    finally:
        os.close(fd)


def _attributes(where, entry) -> None:
    """Owner, mode, kept xattrs and mtime of `where` (a path, not followed, or an open fd)."""
    by_path = {"follow_symlinks": False} if isinstance(where, str) else {}
    try:
        os.chown(where, entry.uid, entry.gid, **by_path)
    except PermissionError:
        pass                                     # not root: keep our own ids, as tarfile does
    if entry.kind != "symlink":
        os.chmod(where, entry.mode & 0o7777)     # not a symlink; after chown (setuid bits)
        _xattrs(where, entry, by_path)
    os.utime(where, (entry.mtime, entry.mtime), **by_path)


def _xattrs(where, entry, by_path: dict) -> None:
    for key, value in entry.xattrs.items():
        if key.startswith(KEPT_XATTRS):
            try:
                os.setxattr(where, key, value, **by_path)
            except OSError:
                pass                             # a filesystem without xattrs: not fatal


def process_umask() -> int:
    """The umask, read without changing it (os.umask would, for every thread at once)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o777                                 # unknown: never trust open(2)'s mode

