"""Named and anonymous volumes under <root>/volumes, and mount requests resolved into mounts.

A volume is a directory `<root>/volumes/<name>/_data` plus `volume.json`. Volumes appear and
disappear by rename, under a lock, so a reader never sees one half-made or half-removed.
`resolve` turns parsed `-v`/`--mount`/`--tmpfs` requests, the image's VOLUME paths and
`--volumes-from` into the runtime's mount entries, creating what Docker would create.

    vols = Volumes(root)
    mounts, names = vols.resolve([parse_volume_flag("data:/srv")], image_volumes=["/var/lib/x"],
                                 image_reader=layer_dirs)
"""
from __future__ import annotations

import contextlib
import datetime
import json
import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, NamedTuple, Sequence

from . import events
from .errors import Conflict, HostError, InvalidArgument, VolumeNotFound
from .image.lock import file_lock
from .image.merged import copy_from_layers
from .mounts import (VOLUME_NAME, MountRequest, check_target, check_volume_name,
                     mount_from_record, parse_mount_flag, parse_tmpfs_flag, parse_volume_flag,
                     parse_volumes_from_flag)
from .runtime.spec import Mount

__all__ = ["Volumes", "Volume", "Resolved", "MountRequest", "parse_volume_flag",
           "parse_mount_flag", "parse_tmpfs_flag", "copy_from_layers"]

META = "volume.json"
DATA = "_data"
# Docker (23+) marks anonymous volumes with this label; `volume prune` removes only those
# unless asked for all.
ANONYMOUS_LABEL = "com.docker.volume.anonymous"


@dataclass(frozen=True)
class Volume:
    """A volume as stored: its data lives in `mountpoint`."""

    name: str
    mountpoint: Path
    created: str
    driver: str = "local"
    labels: dict = field(default_factory=dict, compare=False)
    options: dict = field(default_factory=dict, compare=False)

    @property
    def anonymous(self) -> bool:
        return ANONYMOUS_LABEL in self.labels

    def inspect(self) -> dict:
        """The `docker volume inspect` object."""
        return {"CreatedAt": self.created, "Driver": self.driver, "Labels": dict(self.labels),
                "Mountpoint": str(self.mountpoint), "Name": self.name,
                "Options": dict(self.options), "Scope": "local"}


class Resolved(NamedTuple):
    """What `Volumes.resolve` gives: the runtime's mounts in binding order, and volume names."""

    mounts: list
    volumes: list[str]


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_json(path: Path, value: dict) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    with open(tmp, "w") as f:
        json.dump(value, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


def tree_size(path: Path) -> int:
    """Bytes of regular files under `path`, each hard-linked file once (as Docker counts)."""
    seen, total = set(), 0
    for top, dirs, files in os.walk(path):
        for name in files:
            st = os.lstat(os.path.join(top, name))
            if (st.st_dev, st.st_ino) not in seen and not os.path.islink(os.path.join(top, name)):
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total


class Volumes:
    """The volume store of one data root: <root>/volumes/<name>/{_data,volume.json}."""

    def __init__(self, root: Path, engine=None):
        self.root = Path(root)
        self.dir = self.root / "volumes"
        # The Engine whose containers use these volumes (--volumes-from, what is in use);
        # only the calls that look at containers need it.
        self.engine = engine

    def in_use(self) -> frozenset[str]:
        """Names of the volumes some container (running or not) mounts, as Docker counts."""
        return frozenset(m["Name"] for c in self.engine.containers.list(all=True)
                         for m in c.record.get("Mounts") or () if m.get("Name"))

    def _locked(self):
        # One lock for all volumes: create, remove and prune are rare and fast.
        return file_lock(self.dir / ".lock")

    def create(self, name: str | None = None, *, driver: str = "local",
               labels: dict | None = None, options: dict | None = None) -> Volume:
        """Create a volume (a random 64-hex name when `name` is None); an existing name is
        returned as it is, as `docker volume create` does."""
        if driver != "local":
            raise InvalidArgument(f"volume driver {driver!r} is not supported (only local)")
        if options:
            raise InvalidArgument(f"volume options are not supported by the local driver: "
                                  f"{', '.join(sorted(options))}")
        return self._create(name, labels)[0]

    def _create(self, name: str | None, labels: dict | None) -> tuple[Volume, bool]:
        """(the volume, whether this call made it): an existing one is returned as it is."""
        labels = dict(labels or {})
        if name is None:
            name = secrets.token_hex(32)
            labels[ANONYMOUS_LABEL] = ""
        check_volume_name(name)
        with self._locked():
            with contextlib.suppress(VolumeNotFound):
                return self.get(name), False
            return self._make(name, labels), True

    def _make(self, name: str, labels: dict) -> Volume:
        staging = self.dir / f".new-{secrets.token_hex(8)}"
        try:
            (staging / DATA).mkdir(parents=True)
            os.chmod(staging / DATA, 0o755)
            meta = {"Name": name, "Driver": "local", "Labels": labels, "Options": {},
                    "CreatedAt": _now(), "Filled": False}
            _write_json(staging / META, meta)
            os.rename(staging, self.dir / name)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise HostError(f"create volume {name}: {exc.strerror or exc}") from exc
        events.record(self.root, "volume", "create", name, {"driver": "local"})
        return self.get(name)

    def get(self, name: str) -> Volume:
        """The volume called `name`; VolumeNotFound if there is none."""
        meta = self._meta(name)
        return Volume(name=name, mountpoint=self.dir / name / DATA, created=meta["CreatedAt"],
                      driver=meta.get("Driver", "local"), labels=meta.get("Labels") or {},
                      options=meta.get("Options") or {})

    def _meta(self, name: str) -> dict:
        if not isinstance(name, str) or not VOLUME_NAME.fullmatch(name):
            raise VolumeNotFound(f"no such volume: {name}")
        try:
            with open(self.dir / name / META) as f:
                return json.load(f)
        except (FileNotFoundError, NotADirectoryError):
            raise VolumeNotFound(f"no such volume: {name}") from None

    def list(self, filters=None) -> list[Volume]:
        """Every volume, sorted by name; `filters` as `docker volume ls --filter` applies them."""
        try:
            names = sorted(n for n in os.listdir(self.dir) if VOLUME_NAME.fullmatch(n))
        except FileNotFoundError:
            return []
        found = []
        for name in names:
            with contextlib.suppress(VolumeNotFound):   # removed meanwhile
                found.append(self.get(name))
        if filters:
            from .filters import select_volumes      # ~5 ms: filtered lists only
            return select_volumes(found, filters, self.in_use)
        return found

    def remove(self, name: str, *, force: bool = False, in_use: Iterable[str] | None = None):
        """Delete a volume and its data; Conflict if a container uses it (in_use None: ask the
        engine's containers). `force` makes a missing volume no error, never one in use."""
        in_use = self.in_use() if in_use is None else in_use
        with self._locked():
            try:
                self.get(name)
            except VolumeNotFound:
                if force:
                    return
                raise
            if name in set(in_use):
                raise Conflict(f"remove {name}: volume is in use")
            self._delete(name)

    def _delete(self, name: str) -> None:
        # Rename first: the volume vanishes at once, and a crash mid-delete leaves only trash.
        trash = self.dir / f".trash-{secrets.token_hex(8)}"
        try:
            os.rename(self.dir / name, trash)
        except OSError as exc:
            raise HostError(f"remove volume {name}: {exc.strerror or exc}") from exc
        shutil.rmtree(trash, ignore_errors=True)
        events.record(self.root, "volume", "destroy", name, {"driver": "local"})

    def prune(self, in_use: Iterable[str] | None = None, *, all: bool = False) -> dict:
        """Remove unused anonymous volumes (every unused volume with all=True), as Docker 23+;
        in_use None: ask the engine's containers."""
        in_use = set(self.in_use() if in_use is None else in_use)
        deleted, reclaimed = [], 0
        with self._locked():
            for volume in self.list():
                if volume.name in in_use or not (all or volume.anonymous):
                    continue
                reclaimed += tree_size(volume.mountpoint)
                self._delete(volume.name)
                deleted.append(volume.name)
            for leftover in self.dir.glob(".trash-*"):   # from a crashed remove
                shutil.rmtree(leftover, ignore_errors=True)
        return {"VolumesDeleted": deleted, "SpaceReclaimed": reclaimed}

    def name_of(self, path: str | Path) -> str | None:
        """The volume whose data directory is `path`, or None."""
        path = Path(path)
        if path.name == DATA and path.parent.parent == self.dir:
            return path.parent.name
        return None

    def resolve_for(self, image, options) -> tuple[list, dict[str, str], Callable[[], None]]:
        """resolve() for `docker create`: the mounts for RunOptions `options` on `image`,
        {mount source: volume name} for the volume-backed ones, and a function that removes the
        volumes and bind sources this call made (for a create that fails later)."""
        requests = ([parse_volume_flag(s) for s in options.volumes]
                    + [parse_mount_flag(s) for s in options.mounts]
                    + [parse_tmpfs_flag(s) for s in options.tmpfs])
        volumes_from = []
        for spec in options.volumes_from:
            name, mode = parse_volumes_from_flag(spec)
            records = self.engine.containers.get(name).record.get("Mounts") or ()
            volumes_from.append(([mount_from_record(r) for r in records], mode))
        config = (getattr(image, "config", None) or {}).get("config") or {}
        mounts, undo = self._resolve(
            requests, sorted(config.get("Volumes") or {}), volumes_from,
            lambda: [layer.snapshot for layer in reversed(image.layers)])
        names = {m.source: self.name_of(m.source) for m in mounts if self.name_of(m.source)}
        return mounts, names, undo

    def remove_anonymous(self, records: Iterable[dict]) -> list[str]:
        """`docker rm -v`: remove the anonymous volumes among a removed container's mount
        records that no other container uses; named volumes stay. Returns the names removed."""
        in_use, removed = self.in_use(), []
        for record in records:
            name = record.get("Name")
            if not name or name in in_use:
                continue
            with contextlib.suppress(VolumeNotFound):
                if self.get(name).anonymous:
                    self.remove(name, in_use=in_use)
                    removed.append(name)
        return removed

    def resolve(self, requests: Sequence[MountRequest], *, image_volumes: Sequence[str] = (),
                volumes_from: Iterable = (), image_reader=None) -> Resolved:
        """Turn mount requests into the runtime's mounts, creating volumes and `-v` bind
        sources on demand; all checks run first, and on failure what was made is removed.

        volumes_from: per source container, its mounts (runtime mount entries) or a
        (mounts, "ro"|"rw"|"") pair. image_reader: the image's layer dirs, topmost first, or a
        callable giving them; read only when a new volume is filled from the image.
        Mounts come parents first, so /a is bound before /a/b.
        """
        mounts, _ = self._resolve(requests, image_volumes, volumes_from, image_reader)
        names = list(dict.fromkeys(n for n in map(self.name_of, (m.source for m in mounts))
                                   if n))
        return Resolved(mounts, names)

    def _resolve(self, requests, image_volumes, volumes_from, image_reader):
        """(mounts, undo): undo() removes what this call made; called here on failure."""
        plan = self._plan(requests, image_volumes, volumes_from)
        made_volumes, made_dirs = [], []

        def undo():
            for name in made_volumes:       # made by this call: no container uses them yet
                with contextlib.suppress(VolumeNotFound, HostError):
                    self.remove(name, in_use=())
            for path in reversed(made_dirs):
                shutil.rmtree(path, ignore_errors=True)
        try:
            return [self._realize(req, image_reader, made_volumes, made_dirs) for req in plan], undo
        except BaseException:
            undo()
            raise

    def _plan(self, requests, image_volumes, volumes_from) -> list[MountRequest]:
        """Requests by target: --volumes-from, then image VOLUMEs, then the user's, later
        ones replacing earlier ones at the same target; checked without touching anything."""
        plan: dict[str, MountRequest] = {}
        for item in volumes_from:
            mounts, mode = item if _is_pair(item) else (item, "")
            for m in mounts:
                if m.type == "tmpfs":
                    continue    # Docker doesn't share tmpfs mounts through --volumes-from
                readonly = m.readonly if mode not in ("ro", "rw") else mode == "ro"
                plan[m.target] = MountRequest("inherited", m.target, m.source, readonly,
                                              data=m.data)
        for path in image_volumes:
            target = check_target(path)
            plan.setdefault(target, MountRequest("volume", target))
        own: set[str] = set()
        for req in requests:
            if req.target in own:
                raise InvalidArgument(f"duplicate mount point: {req.target}")
            own.add(req.target)
            if req.type == "bind" and not req.create_source and not os.path.lexists(req.source):
                raise InvalidArgument(f"bind source path does not exist: {req.source}")
            plan[req.target] = req
        return sorted(plan.values(), key=lambda r: r.target.rstrip("/").count("/"))

    def _realize(self, req: MountRequest, image_reader, made_volumes: list, made_dirs: list):
        if req.type == "tmpfs":
            return Mount("tmpfs", "tmpfs", req.target, req.readonly, req.data)
        if req.type in ("bind", "inherited"):
            if req.type == "inherited" and not os.path.lexists(req.source):
                raise InvalidArgument(f"--volumes-from: source of {req.target} is gone: "
                                      f"{req.source}")
            if not os.path.lexists(req.source):
                made_dirs.extend(_makedirs(Path(req.source)))
            return Mount("bind", req.source, req.target, req.readonly)
        volume, made = self._create(req.source or None, dict(req.labels))
        if made:
            made_volumes.append(volume.name)
        if not req.nocopy and image_reader is not None:
            self._fill(volume, req.target, image_reader)
        return Mount("bind", str(volume.mountpoint), req.target, req.readonly)

    def _fill(self, volume: Volume, target: str, image_reader) -> None:
        """Docker's copy-up: a never-filled, empty volume gets the image's content at target."""
        meta = self._meta(volume.name)
        if meta.get("Filled") or any(volume.mountpoint.iterdir()):
            return
        layers = image_reader() if callable(image_reader) else image_reader
        try:
            copied = copy_from_layers(layers, target, volume.mountpoint)
        except OSError as exc:
            for child in list(volume.mountpoint.iterdir()):    # leave it empty, as it was
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
            raise HostError(f"fill volume {volume.name} from the image's {target}: "
                            f"{exc.strerror or exc}") from exc
        if copied:
            _write_json(self.dir / volume.name / META, {**meta, "Filled": True})


def _is_pair(item) -> bool:
    return isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], str)


def _makedirs(path: Path) -> list[Path]:
    """mkdir -p `path` (mode 0755); returns the topmost directory it created, for undoing."""
    missing = path
    while not missing.parent.exists():
        missing = missing.parent
    try:
        path.mkdir(mode=0o755, parents=True, exist_ok=True)
    except OSError as exc:
        raise HostError(f"create bind source {path}: {exc.strerror or exc}") from exc
    return [missing]
