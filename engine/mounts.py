"""Parse `-v`, `--mount` and `--tmpfs` values into MountRequest values, as Docker's CLI does.

Pure: no files are read or made here. `Volumes.resolve` (engine/volumes.py) turns requests into
the runtime's mount entries, creating volumes and bind sources where Docker would.

    >>> parse_volume_flag("data:/srv:ro")
    MountRequest(type='volume', target='/srv', source='data', readonly=True, ...)
"""
import csv
import posixpath
import re
from dataclasses import dataclass

from .errors import InvalidArgument
from .runtime.spec import Mount

VOLUME_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
PROPAGATIONS = ("private", "rprivate", "shared", "rshared", "slave", "rslave")
# tmpfs(5) filesystem options go into mount(2)'s data; the flag options become mount flags.
TMPFS_DATA_KEYS = ("size", "mode", "nr_inodes", "nr_blocks", "uid", "gid", "huge", "mpol")
TMPFS_FLAGS = ("ro", "rw", "exec", "noexec", "suid", "nosuid", "dev", "nodev", "atime",
               "noatime", "diratime", "nodiratime", "relatime", "norelatime", "strictatime",
               "nostrictatime", "sync", "async", "dirsync", "mand", "nomand")
# Docker mounts every tmpfs noexec,nosuid,nodev unless the user asks otherwise (keyed by the
# flag's positive name, so a later "exec" replaces "noexec").
DEFAULT_TMPFS_FLAGS = (("exec", "noexec"), ("suid", "nosuid"), ("dev", "nodev"))
_SIZE = re.compile(r"(\d+(?:\.\d+)?) ?([kmgtp])?i?b?", re.IGNORECASE)


@dataclass(frozen=True)
class MountRequest:
    """One mount a user asked for, before any volume or directory exists.

    type: "volume" (source = volume name, "" for an anonymous volume), "bind" (source = absolute
    host path) or "tmpfs" (no source; `data` holds tmpfs options such as "size=65536,mode=1777");
    Volumes.resolve also plans "inherited" ones (--volumes-from: source = the other's source).
    create_source: a missing bind source is created (`-v`) instead of refused (`--mount`).
    nocopy: don't fill a new volume with the image's content at `target` (volume-nocopy).
    flags: extra mount flags the user gave (noexec, nosuid, ...), kept for the runtime.
    """

    type: str
    target: str
    source: str = ""
    readonly: bool = False
    create_source: bool = False
    nocopy: bool = False
    propagation: str = ""
    data: str = ""
    flags: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()


def check_volume_name(name: str) -> str:
    """Return `name` if it is a valid local volume name, else raise InvalidArgument."""
    if not VOLUME_NAME.fullmatch(name):
        if len(name) < 2 and re.fullmatch(r"[a-zA-Z0-9]?", name):
            raise InvalidArgument(f"volume name is too short, names should be at least two "
                                  f"alphanumeric characters: {name!r}")
        raise InvalidArgument(f"{name!r} includes invalid characters for a local volume name, "
                              "only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed; to mount a host "
                              "directory, use an absolute path")
    return name


def check_target(path: str, spec: str = "") -> str:
    """The normalised absolute container path `path`; InvalidArgument if relative or "/"."""
    spec = spec or path
    if not path:
        raise InvalidArgument(f"invalid mount spec {spec!r}: a target path is required")
    if not path.startswith("/"):
        raise InvalidArgument(f"invalid mount spec {spec!r}: mount path must be absolute: {path}")
    path = posixpath.normpath(path)
    if path.startswith("//"):
        path = "/" + path.lstrip("/")
    if path == "/":
        raise InvalidArgument(f"invalid mount spec {spec!r}: destination can't be '/'")
    return path


def _bind_source(path: str, spec: str) -> str:
    if not path.startswith("/"):
        raise InvalidArgument(f"invalid mount spec {spec!r}: bind source must be an absolute "
                              f"host path: {path}")
    return posixpath.normpath(path)


def parse_volume_flag(spec: str) -> MountRequest:
    """Parse a `-v`/`--volume` value: NAME:/path[:opts], /host:/path[:opts] or /path.

    opts is a comma list of at most one each of ro|rw, z|Z, a propagation mode and nocopy.
    A source starting with "/" is a bind mount (created if missing, as Docker does); anything
    else is a volume name. A lone path is an anonymous volume.
    """
    parts = spec.split(":")
    if len(parts) == 1:
        return MountRequest("volume", check_target(parts[0], spec))
    if len(parts) > 3 or (len(parts) == 2 and _is_mode(parts[1])) or not parts[0]:
        raise InvalidArgument(f"invalid volume specification: {spec!r}")
    source, target = parts[0], check_target(parts[1], spec)
    mode = _parse_mode(parts[2] if len(parts) == 3 else "", spec)
    if source.startswith("/"):
        if mode.get("copy"):
            raise InvalidArgument(f"invalid volume specification: {spec!r}: "
                                  "nocopy applies only to volumes")
        return MountRequest("bind", target, _bind_source(source, spec), mode["ro"],
                            create_source=True, propagation=mode.get("propagation", ""))
    if source.startswith("."):
        raise InvalidArgument(f"invalid volume specification: {spec!r}: a host path must be "
                              f"absolute: {source}")
    if "propagation" in mode:
        raise InvalidArgument(f"invalid volume specification: {spec!r}: "
                              "propagation applies only to bind mounts")
    return MountRequest("volume", target, check_volume_name(source), mode["ro"],
                        nocopy=bool(mode.get("copy")))


def _is_mode(text: str) -> bool:
    try:
        _parse_mode(text, text)
    except InvalidArgument:
        return False
    return True


def _parse_mode(text: str, spec: str) -> dict:
    """Docker's mount mode: {"ro": bool, "label"?, "propagation"?, "copy"?}; each kind once."""
    seen: dict = {}
    for opt in filter(None, text.split(",")):
        kind = ("rw" if opt in ("ro", "rw") else "label" if opt in ("z", "Z")
                else "propagation" if opt in PROPAGATIONS else "copy" if opt == "nocopy" else None)
        if kind is None or kind in seen:
            raise InvalidArgument(f"invalid mode: {text!r} in {spec!r}")
        seen[kind] = opt
    return {"ro": seen.pop("rw", "rw") == "ro", **seen}


def _bool(key: str, value: str | None) -> bool:
    if value is None:
        return True
    lowered = value.lower()
    if lowered in ("1", "true"):
        return True
    if lowered in ("0", "false"):
        return False
    raise InvalidArgument(f"invalid value for {key}: {value!r} (want true or false)")


def parse_size(text: str) -> int:
    """Parse a size like 64m, 1g, 512k, 100 (bytes) into bytes, binary units as Docker does."""
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise InvalidArgument(f"invalid size: {text!r}")
    power = " kmgtp".index((match.group(2) or " ").lower())
    return int(float(match.group(1)) * 1024 ** power)


def _mode_bits(text: str) -> int:
    try:
        mode = int(text, 8)
    except ValueError:
        raise InvalidArgument(f"invalid tmpfs mode: {text!r} (want octal, like 1777)") from None
    if not 0 <= mode <= 0o7777:
        raise InvalidArgument(f"invalid tmpfs mode: {text!r} (want octal, like 1777)")
    return mode


def parse_mount_flag(spec: str) -> MountRequest:
    """Parse a `--mount` value: comma-separated key=value fields, quoted like CSV.

    Keys: type=volume|bind|tmpfs, source|src, target|dst|destination, readonly|ro[=bool],
    volume-nocopy[=bool], volume-label=K=V, bind-propagation, bind-nonrecursive, tmpfs-size,
    tmpfs-mode, consistency. A bind source that doesn't exist is an error at resolve time.
    """
    fields = next(csv.reader([spec]), [])
    opts: dict = {"type": "volume"}
    labels, kinds = [], set()
    for field in fields:
        key, eq, value = field.partition("=")
        key = key.strip().lower()
        value = value if eq else None
        if key in ("source", "src", "target", "dst", "destination", "type", "bind-propagation",
                   "tmpfs-size", "tmpfs-mode", "volume-driver", "volume-label", "volume-opt"):
            if value is None:
                raise InvalidArgument(f"invalid field {field!r} in --mount {spec!r}: "
                                      "must be a key=value pair")
        if key == "type":
            opts["type"] = value
        elif key in ("source", "src"):
            opts["source"] = value
        elif key in ("target", "dst", "destination"):
            opts["target"] = value
        elif key in ("readonly", "ro"):
            opts["readonly"] = _bool(key, value)
        elif key == "consistency":
            pass    # a Docker Desktop hint; meaningless on Linux
        elif key.startswith(("volume-", "bind-", "tmpfs-")):
            kinds.add(key.split("-")[0])
            if key == "volume-nocopy":
                opts["nocopy"] = _bool(key, value)
            elif key == "volume-label":
                name, _, label = value.partition("=")
                labels.append((name, label))
            elif key == "bind-propagation":
                if value not in PROPAGATIONS:
                    raise InvalidArgument(f"invalid bind-propagation: {value!r}")
                opts["propagation"] = value
            elif key == "bind-nonrecursive":
                _bool(key, value)
            elif key == "tmpfs-size":
                opts["size"] = parse_size(value)
            elif key == "tmpfs-mode":
                opts["mode"] = _mode_bits(value)
            else:
                raise InvalidArgument(f"unsupported --mount option {key!r} in {spec!r}")
        else:
            raise InvalidArgument(f"unexpected key {key!r} in --mount {spec!r}")
    return _mount_request(opts, kinds, tuple(labels), spec)


def _mount_request(opts: dict, kinds: set, labels: tuple, spec: str) -> MountRequest:
    kind = opts["type"]
    if kind not in ("volume", "bind", "tmpfs"):
        raise InvalidArgument(f"unsupported mount type {kind!r} in --mount {spec!r} "
                              "(want volume, bind or tmpfs)")
    if kinds - {kind}:
        raise InvalidArgument(f"cannot mix '{sorted(kinds - {kind})[0]}-*' options with mount "
                              f"type {kind!r} in --mount {spec!r}")
    target = check_target(opts.get("target", ""), spec)
    source, readonly = opts.get("source", ""), opts.get("readonly", False)
    if kind == "tmpfs":
        if source:
            raise InvalidArgument(f"source is not supported for tmpfs mounts: {spec!r}")
        data = _tmpfs_data(opts.get("size"), opts.get("mode"))
        return MountRequest("tmpfs", target, readonly=readonly, data=data,
                            flags=tuple(sorted(flag for _, flag in DEFAULT_TMPFS_FLAGS)))
    if kind == "bind":
        if not source:
            raise InvalidArgument(f"source is required for a bind mount: {spec!r}")
        return MountRequest("bind", target, _bind_source(source, spec), readonly,
                            propagation=opts.get("propagation", ""))
    if source:
        check_volume_name(source)
    return MountRequest("volume", target, source, readonly, nocopy=opts.get("nocopy", False),
                        labels=labels)


def _tmpfs_data(size: int | None, mode: int | None) -> str:
    data = [f"size={size}"] if size is not None else []
    return ",".join(data + ([f"mode={mode:o}"] if mode is not None else []))


def parse_tmpfs_flag(spec: str) -> MountRequest:
    """Parse a `--tmpfs` value: /path[:opts], opts being tmpfs(5) options and mount flags.

    Docker's default flags (noexec, nosuid, nodev) apply unless the user gives their opposite;
    sizes are normalised to bytes: "/run:size=64m,mode=1777" -> data "size=67108864,mode=1777".
    """
    path, _, text = spec.partition(":")
    target = check_target(path, spec)
    data, flags, readonly = [], dict(DEFAULT_TMPFS_FLAGS), False
    for opt in filter(None, text.split(",")):
        key, eq, value = opt.partition("=")
        if key in TMPFS_DATA_KEYS and eq:
            if key == "size" and not value.endswith("%"):
                value = str(parse_size(value))
            elif key == "mode":
                value = f"{_mode_bits(value):o}"
            data.append(f"{key}={value}")
        elif opt in ("ro", "rw"):
            readonly = opt == "ro"
        elif opt in TMPFS_FLAGS:
            # The last of a pair wins, as mount(8) does: "exec" undoes the default "noexec".
            flags[opt.removeprefix("no")] = opt
        else:
            raise InvalidArgument(f"invalid tmpfs option {opt!r} in --tmpfs {spec!r}")
    return MountRequest("tmpfs", target, readonly=readonly, data=",".join(data),
                        flags=tuple(sorted(flags.values())))


def parse_volumes_from_flag(spec: str) -> tuple[str, str]:
    """Parse a `--volumes-from` value, CONTAINER[:ro|rw], into (container, mode or "")."""
    container, _, mode = spec.partition(":")
    if not container or mode not in ("", "ro", "rw"):
        raise InvalidArgument(f"invalid --volumes-from {spec!r}: want CONTAINER[:ro|rw]")
    return container, mode


def mount_from_record(record: dict, readonly: bool | None = None) -> Mount:
    """A runtime-shaped mount from a container record's "Mounts" entry (as docker inspect)."""
    kind = "tmpfs" if record.get("Type") == "tmpfs" else "bind"
    return Mount(kind, record["Source"], record["Destination"],
                     not record.get("RW", True) if readonly is None else readonly)
