"""OCI layer tars from and to directories in overlayfs lower format.

overlayfs marks a deleted path with a 0/0 character device and a replaced directory with the
xattr trusted.overlay.opaque=y; an OCI layer uses `.wh.<name>` and `.wh..wh..opq` files instead.

`diff()` writes a tree as a tar: entries sorted by name, numeric uid/gid without user names, and
mtimes clamped to `epoch` when given, so the same tree always gives the same bytes; with a
tar-split writer it records the headers so the tar can be rebuilt from the tree later
(tarsplit.py). `apply()` extracts a tar (plain or compressed) with extract.py. Every name it
acts on stays inside the target: an entry's own name, the name a
whiteout hides (`.wh..`, `.wh...` and a bare `.wh.` are refused), the directory an opaque
marker empties and a hard link's target. Absolute paths, `..` that climbs out and paths through
symlinks refuse the whole layer before anything outside is touched.

Device nodes (character and block, a 0/0 one too: tars carry whiteouts as `.wh.` files) are
left out and reported, never created: a container's /dev is a fresh tmpfs the runtime fills, so
a node in an image's /dev is never seen there (Debian's rootfs tarballs carry /dev/console,
/dev/null...), and a node elsewhere in an image would hand a container a host device whatever
the devices cgroup allows. Docker, as root, creates them; leaving them out costs an image
nothing it could use and never refuses it.
"""
import hashlib
import os
import stat

from .extract import META_PREFIX, OPAQUE, OPAQUE_XATTR, WHITEOUT, extract  # noqa: F401
from .readahead import read_ahead

RECORD = 10240                       # tarfile's record size: the end of a tar is padded to it


class HashingSink:
    """A write-only file that hashes and counts bytes before passing them on to `sink`
    (None: hash only)."""

    def __init__(self, sink=None):
        self._sink, self._hash, self.size = sink, hashlib.sha256(), 0

    def write(self, data) -> int:
        self._hash.update(data)
        self.size += len(data)
        return self._sink.write(data) if self._sink is not None else len(data)

    def flush(self) -> None:
        pass

    @property
    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest()


def is_whiteout(st: os.stat_result) -> bool:
    """True for overlayfs's whiteout: a character device with device number 0/0."""
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def diff(tree, sink, *, epoch: int | None = None, overlay: bool = True, split=None,
         prefix: str = "diff/") -> None:
    """Write `tree` as an uncompressed layer tar to the binary file `sink`, in sorted order.

    overlay=True reads an overlay upper dir: 0/0 char devices become `.wh.<name>` and opaque
    directories get a `.wh..wh..opq` entry. overlay=False reads a plain tree (a COPY source).
    Other device nodes and sockets are left out, as apply() leaves them out. With `split` (a
    tarsplit.SplitWriter) file content is recorded as `prefix + name`, everything else raw.
    """
    import tarfile          # here, not at the top: starting a container needs no tar code
    tree = os.fspath(tree)
    split_raw = split.raw if split is not None else (lambda data: None)
    links: dict = {}
    written = 0

    def emit(info: tarfile.TarInfo, path: str | None = None):
        """(TarInfo, the file holding its content or None), for walk() to yield."""
        return info, path if info.size else None

    def write(info: tarfile.TarInfo, path: str | None, data: bytes | None) -> None:
        nonlocal written
        info.mtime = int(info.mtime)
        if epoch is not None and info.mtime > epoch:
            info.mtime = int(epoch)
        header = info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
        sink.write(header)
        split_raw(header)
        written += len(header)
        if path is None:
            return
        if data is not None:
            sink.write(data)
        else:
            _copy_content(path, info.size, sink)
        if split is not None:
            split.file(prefix + info.name, info.size)
        padding = -info.size % tarfile.BLOCKSIZE
        sink.write(bytes(padding))
        split_raw(bytes(padding))
        written += info.size + padding

    def entry(name: str, st: os.stat_result, kind=tarfile.REGTYPE) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.type, info.mtime = kind, st.st_mtime
        info.mode, info.uid, info.gid = stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid
        return info

    def walk(rel: str):
        for item in sorted(os.scandir(os.path.join(tree, rel)), key=lambda e: e.name):
            name, st = rel + item.name, item.stat(follow_symlinks=False)
            mode = st.st_mode
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                if overlay and is_whiteout(st):
                    marker = tarfile.TarInfo(rel + WHITEOUT + item.name)
                    marker.mtime = st.st_mtime
                    yield emit(marker)
                continue
            if stat.S_ISREG(mode):
                key = (st.st_dev, st.st_ino)
                if st.st_nlink > 1 and key in links:          # a second sighting links
                    info = entry(name, st, tarfile.LNKTYPE)
                    info.linkname = links[key]
                    yield emit(info)
                    continue
                if st.st_nlink > 1:
                    links.setdefault(key, name)
                info = entry(name, st)
                info.size = st.st_size
                yield emit(info, item.path)
            elif stat.S_ISDIR(mode):
                yield emit(entry(name, st, tarfile.DIRTYPE))
                if overlay and _xattr(item.path, OPAQUE_XATTR) == b"y":
                    marker = tarfile.TarInfo(f"{name}/{OPAQUE}")
                    marker.mtime = st.st_mtime
                    yield emit(marker)
                yield from walk(name + "/")
            elif stat.S_ISLNK(mode):
                info = entry(name, st, tarfile.SYMTYPE)
                info.linkname = os.readlink(item.path)
                yield emit(info)
            elif stat.S_ISFIFO(mode):
                yield emit(entry(name, st, tarfile.FIFOTYPE))
    for (info, path), data in read_ahead(walk(""), lambda e: (e[1], e[0].size) if e[1]
                                         else None):
        write(info, path, data)
    # The end: two zero blocks, then zeros up to a whole record, as tarfile writes it.
    end = bytes(2 * tarfile.BLOCKSIZE + (-(written + 2 * tarfile.BLOCKSIZE) % RECORD))
    sink.write(end)
    split_raw(end)


def _copy_content(path: str, size: int, sink) -> None:
    """Write the first `size` bytes of `path` to `sink`; ContentError-free: a file that
    changed size under us is a host problem (OSError)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        left = size
        while left:
            data = os.read(fd, min(left, 1 << 20))
            if not data:
                raise OSError(f"{path} shrank while it was read")
            sink.write(data)
            left -= len(data)
    finally:
        os.close(fd)


def _xattr(path, key):
    try:
        return os.getxattr(path, key, follow_symlinks=False)
    except OSError:
        return None


def apply(source, root, *, overlay: bool = True) -> list[str]:
    """Extract the layer tar `source` (path or binary stream; plain, gzip, zstd, bzip2 or xz)
    into the existing directory `root`; returns the names of the device nodes it left out.

    Refuses (ContentError) absolute paths, `..`, whiteouts of `.`/`..`/nothing, paths through
    symlinks and hard links out of the root, each before it touches anything (extract.py);
    the caller removes a half-extracted `root`. overlay=True keeps `root` in overlay lower
    format; overlay=False makes a flat rootfs where whiteouts delete.
    """
    from .compression import Decompressed
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as f:
            return extract(Decompressed(f), root, overlay=overlay).left_out
    return extract(Decompressed(source), root, overlay=overlay).left_out


def left_out_note(names: list[str], shown: int = 3) -> str:
    """One line naming the device nodes a layer left out."""
    listed = ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown
                                         else "")
    return (f"left out {len(names)} device node{'s' if len(names) > 1 else ''} ({listed}): "
            "a container's /dev is made when it starts")


