"""A container's files seen from the host: tar streams in and out (cp, export).

The container's view is its overlay: its upper dir over the image's snapshots. We mount that
view in a private mount namespace of a short `unshare -m` child (the engine never mounts in its
own namespace, and nothing is left mounted when the child exits), and let tar read or write it.
A running container's upper dir must have one writer only, so files go into a running
container through the container itself (`tar -x` exec'd inside it).
"""
import shlex
import subprocess

from .errors import HostError, InvalidArgument, NotFound


def _overlay_options(container, writable: bool) -> str:
    lowers, bundle = lowerdirs_abs(container), container.bundle
    if writable:
        return (f"lowerdir={':'.join(lowers)},upperdir={bundle}/upper,workdir={bundle}/work,"
                "index=off,redirect_dir=off,metacopy=off")
    return f"lowerdir={bundle}/upper:{':'.join(lowers)}"


def _in_view(container, writable: bool, script: str, **popen):
    """Run `script` (sh) with the container's view mounted at $ROOT, in a private mount ns."""
    root = container.bundle / "merged"
    mount = (f"mount -t overlay overlay -o {shlex.quote(_overlay_options(container, writable))} "
             f"{shlex.quote(str(root))}")
    return subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c",
                             f"{mount} && ROOT={shlex.quote(str(root))} && {script}"], **popen)


def read_tar(container, path: str) -> bytes:
    """A tar of `path` (its last component at the top), as docker cp reads it: a running
    container's own tar sees its mounts too (/etc/hostname, volumes); a stopped one is read
    from its layers. NotFound when `path` isn't there."""
    path = "/" + path.strip("/")
    parent, _, name = path.rpartition("/")
    name = name or "."
    if container.status == "running":
        code, data = container.exec_run(["tar", "-c", "-f", "-", "-C", parent or "/", name])
        if code == 0:
            return data
    else:
        script = (f'cd "$ROOT"{shlex.quote(_inside(container, parent or "/"))} && '
                  f"exec tar --numeric-owner -cf - {shlex.quote(name)}")
        proc = _in_view(container, False, script, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        data, _ = proc.communicate()
        if proc.returncode == 0:
            return data
    raise NotFound(f"Could not find the file {path} in container {container.name}")


def export(container, out) -> None:
    """docker export: the container's whole filesystem as one tar on `out`."""
    proc = _in_view(container, False, 'cd "$ROOT" && exec tar --numeric-owner -cf - .',
                    stdout=out, stderr=subprocess.PIPE)
    _, err = proc.communicate()
    if proc.returncode:
        raise HostError(f"export {container.name}: {err.decode(errors='replace').strip()}")


def write_tar(container, dest_dir: str, tar_bytes: bytes) -> None:
    """Extract a tar into `dest_dir` inside the container (running: through the container)."""
    dest_dir = "/" + dest_dir.strip("/")
    if container.status == "running":
        code, out = container.exec_run(["tar", "-x", "-f", "-", "-C", dest_dir], stdin=tar_bytes)
        if code:
            raise InvalidArgument(f"copy into {container.name}:{dest_dir}: "
                                  f"{out.decode(errors='replace').strip()}")
        return
    script = (f'cd "$ROOT"{shlex.quote(_inside(container, dest_dir))} && '
              "exec tar --numeric-owner -xf -")
    proc = _in_view(container, True, script, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = proc.communicate(tar_bytes)
    if proc.returncode:
        raise InvalidArgument(f"copy into {container.name}:{dest_dir}: "
                              f"{err.decode(errors='replace').strip()}")


def stat(container, path: str) -> dict:
    """{"name", "mode" (st_mode), "size", "mtime" (unix), "link"} of `path` (not followed), as
    the container sees it: a running one is asked (its mounts count), a stopped one is read from
    its upper dir and layers, symlinks resolved inside the view. NotFound when absent."""
    import os
    path = "/" + path.strip("/")
    missing = NotFound(f"Could not find the file {path} in container {container.name}")
    if container.status == "running":
        code, out = container.exec_run(["stat", "-c", "%f %s %Y", path])
        if code:
            raise missing
        mode, size, mtime = out.split()
        link = ""
        if int(mode, 16) & 0o170000 == 0o120000:
            link = container.exec_run(["readlink", path])[1].decode().rstrip("\n")
        return {"name": os.path.basename(path) or "/", "mode": int(mode, 16), "size": int(size),
                "mtime": int(mtime), "link": link}
    host = _view(container).resolve(path, follow_last=False)
    if host is None:
        raise missing
    st = os.lstat(host)
    link = os.readlink(host) if os.path.islink(host) else ""
    return {"name": os.path.basename(path) or "/", "mode": st.st_mode, "size": st.st_size,
            "mtime": int(st.st_mtime), "link": link}


def _view(container):
    from .image.merged import MergedView
    return MergedView([str(container.bundle / "upper"), *lowerdirs_abs(container)])


def _inside(container, path: str) -> str:
    """`path` of a stopped container with its symlinks resolved inside the container's view,
    so that `cd "$ROOT"/...` on the host never follows one out of it (a link to /etc would
    otherwise lead a copy to or from the host's /etc). NotFound when it isn't there."""
    parts = _view(container).resolve_parts(path)
    if parts is None:
        raise NotFound(f"Could not find the file {path} in container {container.name}")
    return "/" + "/".join(parts)


def kind_in(root: str, path: str) -> str | None:
    """"dir", "file" (anything else) or None for `path` inside `root`, symlinks resolved as if
    `root` were / (`root` may be /proc/PID/root: the walk then sees the container's mounts)."""
    import os
    parts, resolved, hops = [p for p in path.split("/") if p], [], 0
    while parts:
        part = parts.pop(0)
        if part in (".", ".."):
            resolved = resolved[:-1] if part == ".." else resolved
            continue
        here = os.path.join(root, *resolved, part)
        if os.path.islink(here):
            hops += 1
            target = os.readlink(here)
            if hops > 40:
                return None
            resolved = [] if target.startswith("/") else resolved
            parts = [p for p in target.split("/") if p] + parts
            continue
        resolved.append(part)
    final = os.path.join(root, *resolved)
    return "dir" if os.path.isdir(final) else "file" if os.path.lexists(final) else None


def path_kind(container, path: str) -> str | None:
    """"dir", "file" or None: what `path` is in the container's filesystem (docker cp's stat)."""
    if container.status in ("running", "paused"):
        return kind_in(f"/proc/{container.state.pid}/root", path)
    script = (f'p="$ROOT"{shlex.quote("/" + path.strip("/"))}; '
              'if [ -d "$p" ]; then echo dir; elif [ -e "$p" ] || [ -L "$p" ]; then echo file; fi')
    proc = _in_view(container, False, script, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    if proc.returncode:
        raise HostError(f"look at {path} in {container.name}: "
                        f"{err.decode(errors='replace').strip()}")
    return out.decode().strip() or None


def extract_local(tar_bytes: bytes, root: str, *, owner: tuple[int, int] | None = None) -> None:
    """Extract a tar read from a container into the local directory `root`, refusing paths
    that lead out of it; `owner` (uid, gid): every extracted file is given to it."""
    import io
    import os
    from .image.layers import apply
    apply(io.BytesIO(tar_bytes), root, overlay=False)
    if owner:
        for top, dirs, files in os.walk(root):
            for name in dirs + files:
                os.lchown(os.path.join(top, name), *owner)


def lowerdirs_abs(container) -> list[str]:
    """The image's snapshot dirs, topmost first, as absolute paths."""
    store = container.engine.store
    return [str(store.snapshots_root / d) for d in store.lowerdirs(container.image)]


def changes(container) -> list[dict]:
    """docker diff: [{"Path", "Kind"}] with Kind 0 changed, 1 added, 2 deleted, sorted by path.

    Read from the container's upper dir: an overlay whiteout (a 0/0 character device) is a
    deletion; anything else is a change when some image layer has that path, else an addition.
    """
    import os
    import stat
    upper, lowers = str(container.bundle / "upper"), lowerdirs_abs(container)
    found = []
    for top, dirs, files in os.walk(upper):
        rel_dir = top[len(upper):] or "/"
        for name in sorted(dirs + files):
            rel = os.path.join(rel_dir, name)
            st = os.lstat(os.path.join(top, name))
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                found.append({"Path": rel, "Kind": 2})
            else:
                existed = any(os.path.lexists(lower + rel) for lower in lowers)
                found.append({"Path": rel, "Kind": 0 if existed else 1})
    return sorted(found, key=lambda c: c["Path"])
