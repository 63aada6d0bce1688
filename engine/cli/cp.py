"""`dockyard cp` both ways and `dockyard export`, over engine/containerfs.py."""
import io
import os
import shutil
import tarfile
import tempfile

from ..errors import InvalidArgument, NotFound


def _split(arg: str):
    """'ctr:/path' -> ('ctr', '/path'); a local path -> (None, path)."""
    if ":" in arg and not arg.startswith(("/", ".")):
        name, _, path = arg.partition(":")
        return name, path or "/"
    return None, arg


def copy(engine, source: str, dest: str) -> None:
    src_ctr, src_path = _split(source)
    dst_ctr, dst_path = _split(dest)
    if bool(src_ctr) == bool(dst_ctr):
        raise InvalidArgument("cp: copying between containers or between local paths is not "
                              "supported: one side must be CONTAINER:PATH")
    if src_ctr:
        _copy_out(engine.containers.get(src_ctr), src_path, dst_path)
    else:
        _copy_in(engine.containers.get(dst_ctr), src_path, dst_path)


def _copy_out(container, path, dest):
    from ..containerfs import read_tar
    data = read_tar(container, path)
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(dest))) as tmp:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(tmp, numeric_owner=True)     # our own tar of one path: no ".." names
        (name,) = os.listdir(tmp)
        target = os.path.join(dest, name) if os.path.isdir(dest) else dest
        shutil.move(os.path.join(tmp, name), target)


def _copy_in(container, local, dest):
    from ..containerfs import write_tar
    if not os.path.exists(local):
        raise NotFound(f"no such file or directory: {local}")
    buf = io.BytesIO()
    base = os.path.basename(local.rstrip("/"))
    dest_dir, arcname = dest, base
    if not dest.endswith("/"):              # cp file ctr:/x/newname renames, as docker cp
        dest_dir, _, arcname = dest.rstrip("/").rpartition("/")
        dest_dir = dest_dir or "/"
        arcname = arcname if arcname else base
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(local, arcname=arcname)
    write_tar(container, dest_dir, buf.getvalue())


def export(container, out) -> None:
    from ..containerfs import export as export_fs
    out.flush()
    export_fs(container, out)
