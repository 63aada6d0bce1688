"""COPY and ADD: the files a step adds, laid out in a fresh tree that becomes one layer.

    plan = plan_copy(ins, workdir="/app", context=ctx, source_view=None, base_view=view,
                     temp_dir=session.temp_dir)
    plan.digest                       # inputs for the cache key (content + metadata)
    fill_tree(plan, tree, ids=(0, 0), epoch=None)

Docker's rules: a directory source copies its contents; several sources, wildcards or a
trailing `/` make the destination a directory; a relative destination is under WORKDIR; files
from the context belong to 0:0 unless `--chown`; `--chmod` sets modes; `--parents` keeps the
source path; `--exclude` leaves paths out; ADD unpacks local tar archives (plain, gzip, bzip2,
xz) and downloads URLs (a clear error when offline), checking `--checksum`.
"""
from __future__ import annotations

import concurrent.futures
import errno
import fcntl
import fnmatch
import hashlib
import os
import posixpath
import stat
import tarfile
import tempfile

from ..errors import BuildError
from .context import Context, Source
from .ignore import IgnoreMatcher
from .rootfs import MergedView

_TAR_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")
FICLONE = 0x40049409                        # ioctl_ficlone(2)
COPIERS = 4                                 # files copied at once: the kernel does the work


# Plain classes, not dataclasses: building a dataclass at import costs ~0.5 ms, and this
# module is on the path of a fully cached build.
class Item:
    """One thing to place: a host file or directory (or heredoc text) at an image path.

    dest: absolute path in the image; host: the source's host path; text: heredoc content;
    is_dir: copy the directory's contents; unpack: ADD extracts this tar archive into dest;
    walker: yields (host, rel, lstat) for a directory source.
    """
    __slots__ = ("dest", "host", "text", "is_dir", "unpack", "walker")

    def __init__(self, dest: str, host: str | None = None, text: bytes | None = None,
                 is_dir: bool = False, unpack: bool = False, walker=None):
        self.dest, self.host, self.text = dest, host, text
        self.is_dir, self.unpack, self.walker = is_dir, unpack, walker


class CopyPlan:
    """The items of one COPY/ADD, its input digest, --chmod, and whether owners are kept."""

    def __init__(self, chmod: int | None = None, keep_ids: bool = False,
                 excludes: IgnoreMatcher | None = None):
        self.items: list[Item] = []
        self.digest = ""
        self.chmod, self.keep_ids, self.excludes = chmod, keep_ids, excludes


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def _looks_like_tar(path: str) -> bool:
    with open(path, "rb") as f:
        head = f.read(6)
    if head.startswith(_TAR_MAGIC):
        return True
    return tarfile.is_tarfile(path)


def parse_chmod(text: str) -> int | None:
    if not text:
        return None
    try:
        mode = int(text, 8)
    except ValueError:
        raise BuildError(f"invalid --chmod={text}: only octal modes are supported") from None
    if mode > 0o7777:
        raise BuildError(f"invalid --chmod={text}: mode out of range")
    return mode


def plan_copy(ins, *, workdir: str, context: Context, source_view: MergedView | None,
              source_key: str = "", base_view: MergedView | None = None,
              temp_dir) -> CopyPlan:
    """Resolve an expanded COPY/ADD into items and an input digest; nothing is written but
    ADD's downloads, into a folder from `temp_dir()` (the build's, removed after it)."""
    what = ins.cmd.upper()
    dest = ins.dest
    if not dest.startswith("/"):
        dest = posixpath.join(workdir or "/", dest)
    dest_slash = dest.endswith("/") or ins.dest in (".", "./")
    excludes = IgnoreMatcher(ins.excludes) if ins.excludes else None
    plan = CopyPlan(chmod=parse_chmod(ins.chmod), keep_ids=source_view is not None,
                    excludes=excludes)
    h = hashlib.sha256(f"{source_key}\0".encode())
    sources = ins.sources
    wildcard = any(set("*?[") & set(s) for s in sources)
    heredocs = ins.heredoc_files
    many = len(sources) + len(heredocs) > 1 or wildcard
    into_dir = dest_slash or many or (base_view is not None and base_view.is_dir(dest))
    if many and not into_dir:
        raise BuildError(f"{what} failed: when using {what} with more than one source file, "
                         f"the destination must be a directory and end with a /", ins.original)
    for name, content, _ in heredocs:
        target = posixpath.join(dest, name) if into_dir else dest
        data = content.encode()
        plan.items.append(Item(target, text=data))
        h.update(f"\0heredoc {target}\0".encode() + data)
    checksum = ins.checksum if ins.cmd == "add" else ""
    local = [s for s in sources if not (ins.cmd == "add" and _is_url(s))]
    if checksum and local:
        raise BuildError(f"{what} failed: checksum can't be specified for non-HTTP(S) "
                         f"sources: {local[0]}", ins.original)
    for url in sources:
        if ins.cmd == "add" and _is_url(url):
            path = _download(url, checksum, ins.original, temp_dir())
            name = posixpath.basename(url.split("?", 1)[0].rstrip("/")) or "index.html"
            target = posixpath.join(dest, name) if into_dir else dest
            plan.items.append(Item(target, host=path))
            with open(path, "rb") as f:
                h.update(f"\0url {url} {target}\0".encode() + hashlib.sha256(f.read()).digest())
    if not local:
        plan.digest = "sha256:" + h.hexdigest()
        return plan
    if source_view is not None:
        resolved = _from_view(source_view, local, what, ins.original)
    else:
        resolved = context.resolve(local, what)
        h.update(context.digest(resolved, excludes).encode())
    unpack_default = ins.cmd == "add" and ins.unpack is not False
    for source in resolved:
        rel_dest = source.rel if ins.parents else posixpath.basename(source.rel)
        if source.is_dir:
            target = posixpath.join(dest, source.rel) if ins.parents else dest
            walker = (source_view.walk(source.path) if source_view is not None
                      else context.walk(source, excludes))
            plan.items.append(Item(target, host=source.path, is_dir=True, walker=walker))
        elif unpack_default and source_view is None and _looks_like_tar(source.path):
            plan.items.append(Item(dest, host=source.path, unpack=True))
        else:
            target = posixpath.join(dest, rel_dest) if into_dir or ins.parents else dest
            plan.items.append(Item(target, host=source.path))
        h.update(f"\0{source.rel} -> {plan.items[-1].dest}".encode())
    plan.digest = "sha256:" + h.hexdigest()
    return plan


def _from_view(view: MergedView, sources: list[str], what: str, original: str) -> list[Source]:
    out = []
    for raw in sources:
        if set("*?[") & set(raw):
            parent, pattern = posixpath.split(raw)
            parts = view.resolve_parts(parent or "/")
            names = [n for n in (view.listdir(parts) if parts is not None else {})
                     if fnmatch.fnmatchcase(n, pattern)]
            candidates = [posixpath.join(parent or "/", n) for n in names]
        else:
            candidates = [raw]
        if not candidates:
            raise BuildError(f"{what} failed: no source files were specified "
                             f"(nothing matches {raw!r})", original)
        for path in candidates:
            host = view.resolve(path)
            if host is None:
                raise BuildError(f"{what} failed: {path}: not found", original)
            out.append(Source(path, posixpath.normpath(path).lstrip("/"),
                              stat.S_ISDIR(os.stat(host).st_mode)))
            if not out[-1].is_dir:
                out[-1] = Source(host, out[-1].rel, False)
    return out


def _download(url: str, checksum: str, original: str, folder: str) -> str:
    """Fetch an ADD URL into a file in `folder`; a clear BuildError when offline or mismatched."""
    import urllib.error
    import urllib.request
    fd, path = tempfile.mkstemp(prefix="add-", dir=folder)
    h = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=15) as response:
            while chunk := response.read(1 << 20):
                h.update(chunk)
                out.write(chunk)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        os.unlink(path)
        reason = getattr(exc, "reason", exc)
        raise BuildError(f"ADD failed: can't download {url}: {reason} (is this machine "
                         f"offline?)", original) from None
    if checksum and checksum != "sha256:" + h.hexdigest():
        os.unlink(path)
        raise BuildError(f"ADD failed: digest mismatch for {url}: expected {checksum}, got "
                         f"sha256:{h.hexdigest()}", original)
    return path


def fill_tree(plan: CopyPlan, tree: str, *, ids: tuple[int, int] | None,
              base_view: MergedView | None, dir_time: float) -> float:
    """Write the plan's files under `tree` (the layer's root), with owners and modes set;
    returns the newest source mtime (0 when there were only heredocs).

    Regular files are copied in the kernel, several at once (copy_file() says how); a file
    from another stage or image, whose owner, mode and times the copy keeps, is hard-linked
    instead: both sides are immutable snapshots on one filesystem."""
    with concurrent.futures.ThreadPoolExecutor(COPIERS) as pool:
        copies: dict[str, concurrent.futures.Future] = {}
        newest, dirs, made = _fill(plan, tree, ids, base_view, dir_time, pool, copies)
        for copy in copies.values():
            copy.result()                   # raises the first failure
    # Directory mtimes last: writing files into them changed them.
    for path, st in reversed(dirs):
        os.utime(path, ns=(st.st_mtime_ns, st.st_mtime_ns))
    for path in reversed(made):
        os.utime(path, (dir_time, dir_time))
    return newest


def _fill(plan, tree, ids, base_view, dir_time, pool, copies):
    """Place the plan's items under `tree`, regular files through `pool` (their futures go
    to `copies`, by path); (newest source mtime, dirs copied, dirs made)."""
    made: list[str] = []
    newest = [0.0]
    link_ok = plan.keep_ids and ids is None and plan.chmod is None

    def parent_dirs(path: str) -> None:
        parts = [p for p in posixpath.dirname(path).split("/") if p]
        for i in range(1, len(parts) + 1):
            rel = "/".join(parts[:i])
            host = os.path.join(tree, rel)
            if os.path.isdir(host):
                continue
            os.mkdir(host)
            existing = base_view.resolve("/" + rel) if base_view is not None else None
            if existing is not None and os.path.isdir(existing):
                st = os.stat(existing)      # keep what the image has for an existing dir
                os.chmod(host, stat.S_IMODE(st.st_mode))
                os.chown(host, st.st_uid, st.st_gid)
                os.utime(host, ns=(st.st_atime_ns, st.st_mtime_ns))
            else:
                os.chmod(host, 0o755)
                if ids:
                    os.chown(host, *ids)
                made.append(host)

    pending = copies                        # copies in flight, oldest first

    def place(host_src: str | None, st: os.stat_result | None, target: str,
              text: bytes | None = None) -> None:
        out = os.path.join(tree, target.lstrip("/"))
        if out in pending:                  # the same path again: the later source wins
            pending.pop(out).result()
        parent_dirs(target)
        if os.path.lexists(out) and not os.path.isdir(out):
            os.unlink(out)
        if text is not None:
            with open(out, "wb") as f:
                f.write(text)
            mode, owner, times = 0o644, ids or (0, 0), (dir_time, dir_time)
        elif stat.S_ISLNK(st.st_mode):
            newest[0] = max(newest[0], st.st_mtime)
            os.symlink(os.readlink(host_src), out)
            owner = ids or ((st.st_uid, st.st_gid) if plan.keep_ids else (0, 0))
            os.lchown(out, *owner)
            os.utime(out, ns=(st.st_mtime_ns, st.st_mtime_ns), follow_symlinks=False)
            return
        elif stat.S_ISDIR(st.st_mode):
            os.makedirs(out, exist_ok=True)
            mode = stat.S_IMODE(st.st_mode)
            owner = ids or ((st.st_uid, st.st_gid) if plan.keep_ids else (0, 0))
            times = None
        elif stat.S_ISREG(st.st_mode):
            newest[0] = max(newest[0], st.st_mtime)
            if link_ok and _link(host_src, out):
                return
            mode = plan.chmod if plan.chmod is not None else stat.S_IMODE(st.st_mode)
            owner = ids or ((st.st_uid, st.st_gid) if plan.keep_ids else (0, 0))
            pending[out] = pool.submit(_copy_regular, host_src, out, owner, mode, st.st_mtime_ns)
            while len(pending) > 4 * COPIERS:   # bounded: memory stays flat
                pending.pop(next(iter(pending))).result()
            return
        else:
            return                          # devices, fifos, sockets: not copied
        os.chown(out, *owner)
        os.chmod(out, plan.chmod if plan.chmod is not None else mode)
        if times is None:
            newest[0] = max(newest[0], st.st_mtime)
            os.utime(out, ns=(st.st_mtime_ns, st.st_mtime_ns))
        else:
            os.utime(out, times)

    dirs: list[tuple[str, os.stat_result]] = []
    for item in plan.items:
        if item.text is not None:
            place(None, None, item.dest, item.text)
        elif item.unpack:
            for copy in pending.values():   # the archive may hold paths being copied
                copy.result()
            pending.clear()
            _unpack(item.host, tree, item.dest, parent_dirs)
        elif item.is_dir:
            if item.dest.rstrip("/"):
                parent_dirs(item.dest.rstrip("/") + "/x")
            for host, rel, st in item.walker:
                target = posixpath.join(item.dest, rel)
                place(host, st, target)
                if stat.S_ISDIR(st.st_mode):
                    dirs.append((os.path.join(tree, target.lstrip("/")), st))
        else:
            st = os.stat(item.host)
            if item.dest.endswith("/"):
                item.dest = posixpath.join(item.dest, posixpath.basename(item.host))
            place(item.host, st, item.dest)
    return newest[0], dirs, made


def _link(source: str, out: str) -> bool:
    try:
        os.link(source, out, follow_symlinks=False)
        return True
    except OSError:                         # another filesystem, too many links: copy
        return False


def _copy_regular(source: str, out: str, owner, mode: int, mtime_ns: int) -> None:
    copy_file(source, out)
    os.chown(out, *owner)
    os.chmod(out, mode)                     # after chown, which clears setuid bits
    os.utime(out, ns=(mtime_ns, mtime_ns))


def copy_file(source: str, out: str) -> None:
    """Copy a regular file's bytes into a new file without passing them through Python: a
    reflink where the filesystem shares blocks (btrfs, XFS), else copy_file_range(2), else
    sendfile(2)."""
    fd_in = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fd_out = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW |
                         os.O_CLOEXEC, 0o600)
        try:
            if _clone(fd_in, fd_out):
                return
            left = os.fstat(fd_in).st_size
            copy = os.copy_file_range
            while left > 0:
                try:
                    done = copy(fd_in, fd_out, left)
                except OSError as exc:
                    if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL,
                                         errno.EOPNOTSUPP) or copy is os.sendfile:
                        raise
                    copy = lambda i, o, n: os.sendfile(o, i, None, n)    # noqa: E731
                    continue
                if done == 0:
                    break                   # the source shrank: copy what is there
                left -= done
        finally:
            os.close(fd_out)
    finally:
        os.close(fd_in)


_CLONES: dict = {}                          # st_dev -> whether FICLONE works there


def _clone(fd_in: int, fd_out: int) -> bool:
    device = os.fstat(fd_out).st_dev
    if _CLONES.get(device) is False:
        return False
    try:
        fcntl.ioctl(fd_out, FICLONE, fd_in)
    except OSError:
        _CLONES[device] = False
        return False
    _CLONES[device] = True
    return True


def _unpack(archive: str, tree: str, dest: str, parent_dirs) -> None:
    """ADD's tar auto-extraction, refusing unsafe members like a layer does."""
    from ..errors import ContentError
    from ..image.layers import apply
    parent_dirs(dest.rstrip("/") + "/x")
    target = os.path.join(tree, dest.strip("/"))
    os.makedirs(target, exist_ok=True)
    try:
        apply(archive, target, overlay=False)
    except ContentError as exc:
        raise BuildError(f"ADD failed: can't extract {os.path.basename(archive)}: {exc}") from exc
