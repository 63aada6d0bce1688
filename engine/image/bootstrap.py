"""Base images without a registry: `busybox:latest` from the host's static busybox, and `import`.

    image = bootstrap_busybox(store)                         # same binary -> same image id
    image = import_tarball(store, "rootfs.tar.gz", "me/base:1", changes=["CMD [\\"sh\\"]"])
"""
import io
import json
import os
import shlex
import shutil
import subprocess
import tarfile
import time

from ..errors import InvalidArgument, NotFound
from .layers import left_out_note
from .model import host_architecture, rfc3339

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")

PASSWD = """root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
"""
GROUP = """root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
tty:x:5:
wheel:x:10:root
www-data:x:33:
users:x:100:
nogroup:x:65534:
"""
DIRECTORIES = {"bin": 0o755, "etc": 0o755, "home": 0o755, "root": 0o700, "tmp": 0o1777,
               "usr": 0o755, "usr/bin": 0o755, "usr/sbin": 0o755, "sbin": 0o755,
               "var": 0o755, "var/spool": 0o755, "var/www": 0o755}


def source_date_epoch() -> int:
    """SOURCE_DATE_EPOCH from the environment, else 0: the bootstrap image's fixed `created`."""
    try:
        return int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    except ValueError:
        raise InvalidArgument("SOURCE_DATE_EPOCH must be an integer number of seconds") from None


def find_busybox() -> str:
    """The host's busybox binary (Debian's busybox-static); NotFound with the fix if absent."""
    for candidate in BUSYBOX_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("busybox")
    if found:
        return found
    raise NotFound("no busybox binary on this host: apt-get install busybox-static")


def busybox_rootfs_tar(busybox: str, epoch: int) -> tuple[bytes, str]:
    """An uncompressed rootfs tar (bytes) around `busybox`, and its version line.

    The applet links are written straight into the tar from `busybox --list`, so nothing runs
    chrooted and the output depends only on the binary and `epoch`.
    """
    listing = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True)
    applets = sorted({a for a in listing.stdout.split() if a and a != "busybox" and "/" not in a})
    version = subprocess.run([busybox], capture_output=True, text=True).stdout.split("\n", 1)[0]
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def entry(name, kind, mode, **extra):
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime = kind, mode, epoch
            for key, value in extra.items():
                setattr(info, key, value)
            return info

        files = {"bin/busybox": (open(busybox, "rb").read(), 0o755),
                 "etc/passwd": (PASSWD.encode(), 0o644),
                 "etc/group": (GROUP.encode(), 0o644)}
        links = {f"bin/{a}": "/bin/busybox" for a in applets}
        names = sorted(set(DIRECTORIES) | set(files) | set(links))
        for name in names:
            if name in DIRECTORIES:
                tar.addfile(entry(name, tarfile.DIRTYPE, DIRECTORIES[name]))
            elif name in files:
                data, mode = files[name]
                tar.addfile(entry(name, tarfile.REGTYPE, mode, size=len(data)), io.BytesIO(data))
            else:
                tar.addfile(entry(name, tarfile.SYMTYPE, 0o777, linkname=links[name]))
    return out.getvalue(), version


def bootstrap_busybox(store, tag: str = "busybox:latest", *, busybox: str | None = None):
    """Create (or find again) a single-layer busybox image from the host binary; returns it."""
    busybox = busybox or find_busybox()
    epoch = source_date_epoch()
    data, version = busybox_rootfs_tar(busybox, epoch)
    layer = store.add_layer_from_tar(io.BytesIO(data), None)
    created = rfc3339(epoch)
    config = {
        "architecture": host_architecture(),
        "os": "linux",
        "created": created,
        "config": {"Env": [DEFAULT_PATH], "Cmd": ["sh"]},
    }
    history = [{"created": created,
                "created_by": f"dockyard image bootstrap busybox ({version or 'busybox'})",
                "comment": "made from the host's static busybox"}]
    return store.create_image(config, [layer], tags=[tag] if tag else [], history=history)


def import_tarball(store, path_or_fileobj, reference: str | None = None, changes=None,
                   message: str | None = None, on_event=None):
    """`docker import`: a rootfs tar (plain or compressed) becomes a single-layer image.

    `changes` are Dockerfile instructions applied to the config (CMD, ENTRYPOINT, ENV, EXPOSE,
    LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL, ONBUILD), as `docker import --change` does.
    Device nodes in the tar are left out (layers.py says why) and named in one
    `{"type": "note", "message": ...}` event.
    """
    settings = apply_changes({}, changes or [])
    left_out: list[str] = []
    layer = store.add_layer_from_tar(path_or_fileobj, None, left_out=left_out)
    if left_out and on_event is not None:
        on_event({"type": "note", "message": left_out_note(left_out)})
    created = rfc3339(time.time())
    source = path_or_fileobj if isinstance(path_or_fileobj, (str, os.PathLike)) else "-"
    comment = message or f"Imported from {source}"
    config = {"architecture": host_architecture(), "os": "linux", "created": created,
              "config": settings, "comment": comment}
    history = [{"created": created, "created_by": "", "comment": comment}]
    return store.create_image(config, [layer], tags=[reference] if reference else [],
                              history=history)


def apply_changes(config: dict, changes) -> dict:
    """Apply `--change` Dockerfile instructions to a Docker-style container config dict."""
    config = json.loads(json.dumps(config))
    for change in changes:
        keyword, _, args = change.strip().partition(" ")
        keyword, args = keyword.upper(), args.strip()
        if not args:
            raise InvalidArgument(f"--change {change!r}: {keyword or 'instruction'} needs "
                                  "arguments")
        if keyword in ("CMD", "ENTRYPOINT"):
            config["Cmd" if keyword == "CMD" else "Entrypoint"] = _exec_form(args)
        elif keyword == "ENV":
            env = {e.split("=", 1)[0]: e for e in config.get("Env", [])}
            for key, value in _pairs(args, change):
                env[key] = f"{key}={value}"
            config["Env"] = list(env.values())
        elif keyword == "LABEL":
            config.setdefault("Labels", {}).update(_pairs(args, change))
        elif keyword == "EXPOSE":
            for port in args.split():
                config.setdefault("ExposedPorts", {})[port if "/" in port else port + "/tcp"] = {}
        elif keyword == "VOLUME":
            paths = json.loads(args) if args.startswith("[") else args.split()
            for path in paths:
                config.setdefault("Volumes", {})[path] = {}
        elif keyword in ("USER", "WORKDIR", "STOPSIGNAL"):
            config[{"USER": "User", "WORKDIR": "WorkingDir", "STOPSIGNAL": "StopSignal"}[keyword]] \
                = args
        elif keyword == "ONBUILD":
            config.setdefault("OnBuild", []).append(args)
        else:
            raise InvalidArgument(f"--change {change!r}: {keyword} is not one of CMD, "
                                  "ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, "
                                  "VOLUME, WORKDIR")
    return config


def _exec_form(args: str) -> list[str]:
    if args.startswith("["):
        try:
            value = json.loads(args)
        except ValueError:
            value = None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
    return ["/bin/sh", "-c", args]


def _pairs(args: str, change: str) -> list[tuple[str, str]]:
    words = shlex.split(args)
    if "=" not in words[0]:                        # legacy `ENV key value with spaces`
        key, _, value = args.partition(" ")
        return [(key, value.strip())]
    pairs = []
    for word in words:
        key, eq, value = word.partition("=")
        if not eq or not key:
            raise InvalidArgument(f"--change {change!r}: expected key=value, got {word!r}")
        pairs.append((key, value))
    return pairs
