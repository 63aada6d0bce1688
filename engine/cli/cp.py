"""`dockyard cp` both ways and `dockyard export`, over the Container's archive methods.

Docker's rules (docker cp's reference): a directory SRC ending in `/.` copies its contents, else
the directory itself; a missing DEST is created (its parent must exist); a DEST ending in `/`
must be an existing directory; `-` is a tar stream on stdout (SRC in a container) or stdin
(DEST in a container). Files copied in are owned by root, files copied out by the caller;
`-a` keeps the owner of the source.
"""
import io
import os
import shutil
import sys
import tarfile
import tempfile

from ..errors import InvalidArgument, NotFound
from .render import binary_stdout


def _split(arg: str):
    """'ctr:/path' -> ('ctr', '/path'); a local path (or -) -> (None, path)."""
    if ":" in arg and not arg.startswith(("/", ".")):
        name, _, path = arg.partition(":")
        return name, path or "/"
    return None, arg


def _contents_only(path: str) -> bool:
    return path == "." or path.endswith("/.")


def copy(engine, source: str, dest: str, *, archive: bool = False,
         follow_link: bool = False) -> int:
    """Copy as `docker cp` does; the bytes of the tar stream that carried it."""
    src_ctr, src_path = _split(source)
    dst_ctr, dst_path = _split(dest)
    if bool(src_ctr) == bool(dst_ctr):
        raise InvalidArgument("copying between containers or between local paths is not "
                              "supported: one side must be CONTAINER:PATH")
    if src_ctr:
        return _copy_out(engine.containers.get(src_ctr), src_path, dst_path, archive)
    return _copy_in(engine.containers.get(dst_ctr), src_path, dst_path, archive, follow_link)


def _copy_out(container, path, dest, archive):
    if dest == "-":
        data = container.read_archive(path)
        out = binary_stdout("cp")
        out.write(data)
        out.flush()
        return len(data)
    parent = os.path.dirname(os.path.abspath(dest))
    if not os.path.isdir(parent):
        raise NotFound(f"destination directory {parent} does not exist: no such directory")
    if dest.endswith("/") and not os.path.isdir(dest):
        raise NotFound(f"destination directory {dest} does not exist: no such directory")
    with tempfile.TemporaryDirectory(dir=parent, prefix=".dockyard-cp-",
                                     ignore_cleanup_errors=True) as tmp:
        data = container.read_archive(path, into=tmp,
                                      owner=None if archive else (os.getuid(), os.getgid()))
        if _contents_only(path):        # the tar holds the directory's entries under "./"
            got, name = tmp, os.path.basename(os.path.dirname(path.rstrip("/")))
            os.chmod(tmp, _top_mode(data))
        else:                           # one top entry: the path's last component
            (name,) = os.listdir(tmp)
            got = os.path.join(tmp, name)
        is_dir = os.path.isdir(got) and not os.path.islink(got)
        if is_dir and os.path.lexists(dest) and not os.path.isdir(dest):
            raise InvalidArgument(f"cannot copy a directory to a file: {dest}")
        if os.path.isdir(dest) and not (is_dir and _contents_only(path)):
            dest = os.path.join(dest, os.path.basename(path.rstrip("/")) or name)
        _move(got, dest)
    return len(data)


def _top_mode(data: bytes) -> int:
    """The permission bits of the tar's "./" entry (the directory whose contents it holds)."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar:
            if member.name in (".", "./"):
                return member.mode & 0o7777
    return 0o755


def _move(source: str, dest: str) -> None:
    """Put `source` at `dest`: a directory is merged into an existing one, a file replaces."""
    if os.path.isdir(source) and not os.path.islink(source) and os.path.isdir(dest):
        shutil.copytree(source, dest, symlinks=True, dirs_exist_ok=True)
    else:
        if os.path.isdir(dest) and not os.path.islink(dest):
            raise InvalidArgument(f"cannot overwrite directory {dest} with a file")
        os.replace(source, dest)


def _copy_in(container, local, dest, archive, follow_link):
    dest = "/" + dest.lstrip("/")
    kind = container.path_kind(dest)
    if local == "-":                # a tar on stdin, extracted into a directory
        if kind != "dir":
            raise InvalidArgument(f'destination "{container.name}:{dest}" must be a directory')
        data = sys.stdin.buffer.read()
        container.put_archive(dest, data)
        return len(data)
    if not os.path.lexists(local):
        raise NotFound(f"no such file or directory: {local}")
    if follow_link:
        local = os.path.realpath(local)
    is_dir = os.path.isdir(local) and not os.path.islink(local)
    if kind == "dir":
        into, arcname = dest, "." if is_dir and _contents_only(local) else \
            os.path.basename(local.rstrip("/"))
    elif dest.endswith("/"):
        raise NotFound(f"no such directory: {dest} in container {container.name} (cp does "
                       "not create missing parent directories)")
    elif is_dir and kind == "file":
        raise InvalidArgument(f"cannot copy a directory to a file: {container.name}:{dest}")
    else:                           # a new name in an existing directory
        into, _, arcname = dest.rstrip("/").rpartition("/")
        into = into or "/"
        if container.path_kind(into) != "dir":
            raise NotFound(f"no such directory: {into} in container {container.name} (cp "
                           "does not create missing parent directories)")
    data = _tar_of(local, arcname, archive)
    container.put_archive(into, data)
    return len(data)


def _tar_of(local: str, arcname: str, archive: bool) -> bytes:
    """A tar of `local` named `arcname`; owned by root unless archive (-a) keeps the ids."""
    def owner(info):
        if not archive:
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
        return info
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(local, arcname=arcname, filter=owner)
    return buf.getvalue()


def export(container, out) -> None:
    out.flush()
    container.export(out)
