"""OCI layer tars from and to directories in overlayfs lower format.

overlayfs marks a deleted path with a 0/0 character device and a replaced directory with the
xattr trusted.overlay.opaque=y; an OCI layer uses `.wh.<name>` and `.wh..wh..opq` files instead.

`diff()` writes a tree as a tar: entries sorted by name, numeric uid/gid without user names, and
mtimes clamped to `epoch` when given, so the same tree always gives the same bytes. `apply()`
extracts a tar. Every name it acts on stays inside the target: an entry's own name, the name a
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
import shutil
import stat
import zlib

from ..errors import ContentError, HostError

WHITEOUT, OPAQUE, OPAQUE_XATTR = ".wh.", ".wh..wh..opq", "trusted.overlay.opaque"
META_PREFIX = ".wh..wh."            # aufs bookkeeping (.wh..wh.plnk, ...) is skipped
GZIP_LEVEL = 6                      # Go's gzip.DefaultCompression, what docker uses


class HashingSink:
    """A write-only file that hashes and counts bytes before passing them on to `sink`."""

    def __init__(self, sink):
        self._sink, self._hash, self.size = sink, hashlib.sha256(), 0

    def write(self, data) -> int:
        self._hash.update(data)
        self.size += len(data)
        return self._sink.write(data)

    def flush(self) -> None:
        pass

    @property
    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest()


def is_whiteout(st: os.stat_result) -> bool:
    """True for overlayfs's whiteout: a character device with device number 0/0."""
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def diff(tree, sink, *, epoch: int | None = None, overlay: bool = True) -> None:
    """Write `tree` as an uncompressed layer tar to the binary file `sink`, in sorted order.

    overlay=True reads an overlay upper dir: 0/0 char devices become `.wh.<name>` and opaque
    directories get a `.wh..wh..opq` entry. overlay=False reads a plain tree (a COPY source).
    Other device nodes and sockets are left out: `apply()` would refuse them.
    """
    import tarfile          # here, not at the top: starting a container needs no tar code
    tree = os.fspath(tree)
    with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        def clamp(info: tarfile.TarInfo) -> tarfile.TarInfo:
            info.mtime = int(info.mtime)
            if epoch is not None and info.mtime > epoch:
                info.mtime = int(epoch)
            info.uname = info.gname = ""
            return info

        def marker(name: str, st: os.stat_result) -> tarfile.TarInfo:
            info = tarfile.TarInfo(name)
            info.mtime = st.st_mtime
            return clamp(info)

        def walk(rel: str) -> None:
            entries = sorted(os.scandir(os.path.join(tree, rel)), key=lambda e: e.name)
            for entry in entries:
                name, st = rel + entry.name, entry.stat(follow_symlinks=False)
                if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                    if overlay and is_whiteout(st):
                        tar.addfile(marker(rel + WHITEOUT + entry.name, st))
                    continue
                info = tar.gettarinfo(entry.path, name)
                if info is None:                         # a socket
                    continue
                if info.isreg():
                    with open(entry.path, "rb") as f:
                        tar.addfile(clamp(info), f)
                else:
                    tar.addfile(clamp(info))
                if info.isdir():
                    if overlay and _xattr(entry.path, OPAQUE_XATTR) == b"y":
                        tar.addfile(marker(f"{name}/{OPAQUE}", st))
                    walk(name + "/")
        walk("")


def write_gzip_layer(tree, sink, *, epoch: int | None = None, overlay: bool = True):
    """diff() gzipped into `sink` deterministically; returns (diff_id, uncompressed size)."""
    import gzip
    with gzip.GzipFile(filename="", mode="wb", fileobj=sink, mtime=0,
                       compresslevel=GZIP_LEVEL) as gz:
        raw = HashingSink(gz)
        diff(tree, raw, epoch=epoch, overlay=overlay)
    return raw.digest, raw.size


def _xattr(path, key):
    try:
        return os.getxattr(path, key, follow_symlinks=False)
    except OSError:
        return None


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def _inside(root, path):
    return path == root or path.startswith(root + "/")


def open_tar(source):
    """A TarFile reading `source` (a path or a binary file object), plain or compressed."""
    import gzip
    import tarfile
    try:
        if isinstance(source, (str, os.PathLike)):
            return tarfile.open(source, "r:*")
        return tarfile.open(fileobj=source, mode="r|*")
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise ContentError(f"not a tar archive: {exc}") from exc


def apply(source, root, *, overlay: bool = True) -> list[str]:
    """Extract the layer tar `source` (path or file object) into the existing directory `root`;
    returns the names of the device nodes it left out.

    Refuses (ContentError) absolute paths, `..`, whiteouts of `.`/`..`/nothing, paths through
    symlinks and hard links out of the root, each before it touches anything; the caller
    removes a half-extracted `root`. overlay=True keeps `root` in overlay lower format
    (whiteouts as 0/0 char devices, the opaque xattr); with overlay=False `root` is a flat
    rootfs: whiteouts delete and opaque markers empty the directory of what lower layers put
    there.
    """
    import gzip
    import tarfile
    root, extracted, left_out = os.path.realpath(root), set(), []
    try:
        with open_tar(source) as tar:
            for member in tar:
                _apply_member(tar, member, root, overlay, extracted, left_out)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise ContentError(f"corrupt layer archive: {exc}") from exc
    except OSError as exc:
        raise HostError(f"extracting a layer into {root}: {exc}") from exc
    return left_out


def left_out_note(names: list[str], shown: int = 3) -> str:
    """One line naming the device nodes a layer left out."""
    listed = ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown
                                         else "")
    return (f"left out {len(names)} device node{'s' if len(names) > 1 else ''} ({listed}): "
            "a container's /dev is made when it starts")


def _relative(name: str) -> str | None:
    """`name` normalized ("a/./b" -> "a/b"), or None when it is absolute or climbs out."""
    clean = os.path.normpath(name) if name else "."
    if name.startswith("/") or clean == ".." or clean.startswith("../"):
        return None
    return clean


def _apply_member(tar, member, root, overlay, extracted, left_out) -> None:
    name = _relative(member.name)
    if name is None:
        raise ContentError(f"unsafe path in layer: {member.name!r}")
    if name == ".":
        return
    if member.ischr() or member.isblk():           # FIFOs are fine; isdev() counts them too
        left_out.append(member.name)
        return
    parent = os.path.realpath(os.path.join(root, os.path.dirname(name)))
    if not _inside(root, parent):
        raise ContentError(f"{member.name!r} leads out of the root through a symlink")
    if os.path.lexists(parent) and not os.path.isdir(parent):
        raise ContentError(f"{member.name!r} lies under a file that is not a directory")
    base = os.path.basename(name)
    target = os.path.join(parent, base)
    if base == OPAQUE:
        os.makedirs(parent, exist_ok=True)
        if overlay:
            os.setxattr(parent, OPAQUE_XATTR, b"y")
        else:
            for entry in os.scandir(parent):
                if entry.path not in extracted:
                    _remove(entry.path)
    elif base.startswith(META_PREFIX):
        return
    elif base.startswith(WHITEOUT):
        hidden = base[len(WHITEOUT):]
        if hidden in ("", ".", ".."):       # would delete the directory or its parent
            raise ContentError(f"unsafe whiteout in layer: {member.name!r}")
        victim = os.path.join(parent, hidden)
        _remove(victim)
        if overlay:
            os.makedirs(parent, exist_ok=True)
            os.mknod(victim, stat.S_IFCHR | 0o600, os.makedev(0, 0))
    else:
        if member.islnk():
            link = _relative(member.linkname)
            if link in (None, ".") or not _inside(root, os.path.realpath(os.path.join(root, link))):
                raise ContentError(f"hard link out of the root: {member.name!r} -> "
                                   f"{member.linkname!r}")
            if not os.path.lexists(os.path.join(root, link)):
                raise ContentError(f"hard link to a file the layer lacks: {member.name!r} -> "
                                   f"{member.linkname!r}")
            # link(2) resolves "a/.." through a symlinked `a`: hand tarfile the checked form.
            member.linkname = link
        if not (member.isdir() and os.path.isdir(target) and not os.path.islink(target)):
            _remove(target)             # never write through an existing symlink
        member.name = name
        # Checks done above; numeric_owner: ids from the tar, not the host's user names.
        # The "data"/"tar" filters refuse absolute symlinks and drop the sticky bit of /tmp.
        # Extraction filters arrived in 3.11.4; without them tarfile is already fully_trusted.
        trusted = {"filter": "fully_trusted"} if hasattr(tar, "extraction_filter") else {}
        tar.extract(member, root, numeric_owner=True, **trusted)
        extracted.add(target)
