"""The volume store and the resolution of mount requests, on tmp_path without root."""
import os
import re

import pytest

from dockyard.engine.errors import Conflict, HostError, InvalidArgument, VolumeNotFound
from dockyard.engine.volumes import (Volumes, parse_mount_flag, parse_tmpfs_flag,
                                     parse_volume_flag)


@pytest.fixture
def vols(data_root):
    return Volumes(data_root)


def leftovers(vols):
    return [n for n in os.listdir(vols.dir) if n.startswith((".new-", ".trash-"))]


def test_create_named_volume(vols, data_root):
    v = vols.create("data", labels={"team": "x"})
    assert v.mountpoint == data_root / "volumes" / "data" / "_data" and v.mountpoint.is_dir()
    assert not v.anonymous
    info = v.inspect()
    assert info == {"CreatedAt": info["CreatedAt"], "Driver": "local", "Labels": {"team": "x"},
                    "Mountpoint": str(v.mountpoint), "Name": "data", "Options": {},
                    "Scope": "local"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", info["CreatedAt"])
    (v.mountpoint / "f").write_text("kept")
    again = vols.create("data")          # docker volume create is idempotent
    assert again.created == v.created and (again.mountpoint / "f").read_text() == "kept"
    assert vols.get("data").labels == {"team": "x"}
    assert leftovers(vols) == []


def test_anonymous_volume(vols):
    v = vols.create()
    assert re.fullmatch(r"[0-9a-f]{64}", v.name) and v.anonymous
    assert v.inspect()["Labels"] == {"com.docker.volume.anonymous": ""}
    assert vols.create().name != v.name


@pytest.mark.parametrize("kwargs,message", [
    ({"name": "a"}, "too short"),
    ({"name": "../etc"}, "invalid characters"),
    ({"name": "ok", "driver": "nfs"}, "volume driver 'nfs' is not supported"),
    ({"name": "ok", "options": {"type": "tmpfs"}}, "volume options are not supported"),
])
def test_create_refuses_bad_input(vols, kwargs, message):
    with pytest.raises(InvalidArgument, match=message):
        vols.create(**kwargs)
    assert vols.list() == []


def test_get_and_list(vols):
    with pytest.raises(VolumeNotFound, match="no such volume: nope"):
        vols.get("nope")
    with pytest.raises(VolumeNotFound):
        vols.get("../volumes")
    for name in ("b2", "a1", "c3"):
        vols.create(name)
    (vols.dir / ".trash-123").mkdir()
    assert [v.name for v in vols.list()] == ["a1", "b2", "c3"]


def test_remove(vols):
    v = vols.create("data")
    (v.mountpoint / "f").write_text("x")
    with pytest.raises(Conflict, match="remove data: volume is in use"):
        vols.remove("data", in_use={"data"})
    assert (v.mountpoint / "f").exists()
    with pytest.raises(Conflict):
        vols.remove("data", force=True, in_use={"data"})
    vols.remove("data", in_use=())
    assert not (vols.dir / "data").exists() and leftovers(vols) == []
    with pytest.raises(VolumeNotFound):
        vols.remove("data", in_use=())
    vols.remove("data", force=True, in_use=())      # -f: a missing volume is no error


def test_prune_removes_unused_anonymous_volumes(vols):
    named, used, unused = vols.create("named"), vols.create(), vols.create()
    (unused.mountpoint / "f").write_bytes(b"x" * 1000)
    os.link(unused.mountpoint / "f", unused.mountpoint / "hardlink")   # counted once
    os.symlink("f", unused.mountpoint / "link")
    report = vols.prune(in_use={used.name})
    assert report == {"VolumesDeleted": [unused.name], "SpaceReclaimed": 1000}
    assert {v.name for v in vols.list()} == {named.name, used.name}
    assert vols.prune(in_use={used.name}, all=True)["VolumesDeleted"] == ["named"]
    assert [v.name for v in vols.list()] == [used.name]


# --- resolve ---

def layer(tmp_path, name, files):
    root = tmp_path / "layers" / name
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        if text is not None:
            (root / path).write_text(text)
        else:
            (root / path).mkdir(exist_ok=True)
    return root


def test_named_volume_created_on_demand(vols):
    mounts, names = vols.resolve([parse_volume_flag("data:/srv:ro")])
    (m,) = mounts
    assert (m.type, m.source, m.target, m.readonly) == ("bind", str(vols.get("data").mountpoint),
                                                        "/srv", True)
    assert names == ["data"]


def test_bind_sources(vols, tmp_path):
    missing = tmp_path / "host" / "made"
    mounts, names = vols.resolve([parse_volume_flag(f"{missing}:/a")])
    assert missing.is_dir() and mounts[0].source == str(missing) and names == []
    gone = tmp_path / "gone"
    with pytest.raises(InvalidArgument, match=f"bind source path does not exist: {gone}$"):
        vols.resolve([parse_volume_flag("new:/n"), parse_mount_flag(f"type=bind,src={gone},dst=/b")])
    assert not gone.exists() and vols.list() == []      # nothing half-made


def test_duplicate_mount_point(vols):
    with pytest.raises(InvalidArgument, match="duplicate mount point: /d"):
        vols.resolve([parse_volume_flag("a1:/d"), parse_tmpfs_flag("/d/")])
    assert vols.list() == []


def test_tmpfs_entry(vols):
    (m,) = vols.resolve([parse_tmpfs_flag("/run:size=1m")]).mounts
    assert (m.type, m.source, m.target, m.readonly, m.data) == ("tmpfs", "tmpfs", "/run", False,
                                                                "size=1048576")


def test_image_volumes_and_order(vols, tmp_path):
    mounts, names = vols.resolve([parse_volume_flag("/x/y/z"), parse_volume_flag("named:/x")],
                                 image_volumes=["/x", "/var/lib/db"])
    targets = [m.target for m in mounts]
    assert sorted(targets) == ["/var/lib/db", "/x", "/x/y/z"]
    assert targets.index("/x") < targets.index("/x/y/z")                    # parents first
    assert mounts[0].source == str(vols.get("named").mountpoint)           # user's replaces VOLUME
    anonymous = [v.name for v in vols.list() if v.anonymous]
    assert len(anonymous) == 2 and set(names) == {"named", *anonymous}


def test_new_volume_filled_from_image(vols, tmp_path):
    lower = layer(tmp_path, "0", {"srv/a.txt": "from image", "srv/sub/b.txt": "b"})
    upper = layer(tmp_path, "1", {"srv/c.txt": "upper"})
    os.chmod(lower / "srv", 0o700)
    os.chmod(upper / "srv", 0o711)      # the topmost directory's mode is the merged one
    mounts, _ = vols.resolve([parse_volume_flag("web:/srv")], image_reader=[upper, lower])
    data = vols.get("web").mountpoint
    assert sorted(p.name for p in data.iterdir()) == ["a.txt", "c.txt", "sub"]
    assert (data / "sub" / "b.txt").read_text() == "b"
    assert os.stat(data).st_mode & 0o7777 == 0o711     # the volume root takes the dir's mode
    # Filled once: emptied by a container, it is not filled again.
    for p in ("a.txt", "c.txt", "sub/b.txt", "sub"):
        (data / p).rmdir() if (data / p).is_dir() else (data / p).unlink()
    vols.resolve([parse_volume_flag("web:/srv")], image_reader=[upper, lower])
    assert list(data.iterdir()) == []


def test_copy_up_skips(vols, tmp_path):
    lower = layer(tmp_path, "0", {"srv/a.txt": "image", "file": "not a dir"})
    vols.create("full")
    (vols.get("full").mountpoint / "mine").write_text("mine")
    reads = []

    def reader():
        reads.append(1)
        return [lower]

    vols.resolve([parse_volume_flag("full:/srv"), parse_mount_flag("src=nc,dst=/x,volume-nocopy"),
                  parse_volume_flag("plain:/file"), parse_volume_flag("other:/missing")],
                 image_reader=reader)
    assert [p.name for p in vols.get("full").mountpoint.iterdir()] == ["mine"]
    for name in ("nc", "plain", "other"):
        assert list(vols.get(name).mountpoint.iterdir()) == []
    assert reads, "the reader is called for a new, empty volume"
    vols.resolve([parse_mount_flag("src=nc2,dst=/srv,volume-nocopy")], image_reader=reader)
    assert list(vols.get("nc2").mountpoint.iterdir()) == []


def test_failure_removes_volumes_it_made(vols):
    vols.create("old")

    def broken_reader():
        raise HostError("can't read the image")

    with pytest.raises(HostError, match="can't read the image"):
        vols.resolve([parse_volume_flag("old:/o"), parse_volume_flag("new:/n")],
                     image_volumes=["/v"], image_reader=broken_reader)
    assert [v.name for v in vols.list()] == ["old"]


def test_volumes_from(vols, tmp_path):
    first, _ = vols.resolve([parse_volume_flag("shared:/s"), parse_tmpfs_flag("/t"),
                             parse_volume_flag(f"{tmp_path}:/h:ro")])
    mounts, names = vols.resolve([], volumes_from=[first])
    assert sorted((m.target, m.readonly) for m in mounts) == [("/h", True), ("/s", False)]
    assert names == ["shared"]
    mounts, _ = vols.resolve([parse_volume_flag("other:/s")], volumes_from=[(first, "ro")])
    by_target = {m.target: m for m in mounts}
    assert by_target["/h"].readonly and by_target["/s"].source.endswith("/other/_data")
    vols.remove("shared", in_use=())
    with pytest.raises(InvalidArgument, match="--volumes-from: source of /s is gone"):
        vols.resolve([], volumes_from=[first])


# --- what the engine's containers use: a fake engine passed in ---

class FakeContainer:
    def __init__(self, mounts):
        self.record = {"Mounts": mounts}


class FakeEngine:
    def __init__(self, containers):
        self.containers = self
        self.by_name = containers

    def list(self, all=False):
        assert all, "a stopped container still holds its volumes"
        return list(self.by_name.values())

    def get(self, name):
        return self.by_name[name]


def test_in_use_comes_from_container_records(data_root):
    plain = Volumes(data_root)
    used, anon_used, anon_free = plain.create("used"), plain.create(), plain.create()
    records = [{"Type": "volume", "Name": n, "Source": str(plain.get(n).mountpoint),
                "Destination": f"/{i}", "RW": True} for i, n in enumerate(("used", anon_used.name))]
    vols = Volumes(data_root, engine=FakeEngine({"c1": FakeContainer(records)}))
    assert vols.in_use() == {"used", anon_used.name}
    with pytest.raises(Conflict):
        vols.remove("used")
    assert vols.prune(all=True)["VolumesDeleted"] == [anon_free.name]


def test_remove_anonymous_keeps_named_and_shared(data_root):
    plain = Volumes(data_root)
    named, mine, shared = plain.create("named"), plain.create(), plain.create()
    record = lambda v: {"Type": "volume", "Name": v.name, "Source": str(v.mountpoint),
                        "Destination": "/x", "RW": True}
    other = FakeContainer([record(shared)])
    vols = Volumes(data_root, engine=FakeEngine({"other": other}))
    removed = vols.remove_anonymous([record(named), record(mine), record(shared),
                                     {"Type": "bind", "Name": None, "Source": "/h"}])
    assert removed == [mine.name]
    assert {v.name for v in vols.list()} == {"named", shared.name}


class FakeLayer:
    def __init__(self, snapshot):
        self.snapshot = snapshot


class FakeImage:
    def __init__(self, layers, volumes):
        self.layers = [FakeLayer(p) for p in layers]    # bottom first, as the image store
        self.config = {"config": {"Volumes": {v: {} for v in volumes}}}


class FakeOptions:
    def __init__(self, **kw):
        self.volumes, self.mounts, self.tmpfs, self.volumes_from = (
            tuple(kw.get(k, ())) for k in ("volumes", "mounts", "tmpfs", "volumes_from"))


def test_resolve_for_run_options(data_root, tmp_path):
    base = layer(tmp_path, "base", {"db/seed": "from base"})
    top = layer(tmp_path, "top", {"db/more": "from top"})
    first = Volumes(data_root)
    shared_mounts, _ = first.resolve([parse_volume_flag("shared:/shared")])
    records = [{"Type": "volume", "Name": "shared", "Source": m.source,
                "Destination": m.target, "RW": True} for m in shared_mounts]
    vols = Volumes(data_root, engine=FakeEngine({"donor": FakeContainer(records)}))
    image = FakeImage([base, top], ["/db"])
    mounts, names, _ = vols.resolve_for(image, FakeOptions(
        volumes=["named:/n"], tmpfs=["/run"], mounts=["type=bind,src=/,dst=/host,ro"],
        volumes_from=["donor:ro"]))
    by_target = {m.target: m for m in mounts}
    assert set(by_target) == {"/db", "/n", "/run", "/host", "/shared"}
    assert by_target["/shared"].readonly and by_target["/host"].readonly
    db = by_target["/db"].source
    assert sorted(os.listdir(db)) == ["more", "seed"]       # the image's /db, both layers
    assert names[db] == vols.name_of(db) and vols.get(names[db]).anonymous
    assert names[by_target["/n"].source] == "named" and "tmpfs" not in names
    with pytest.raises(InvalidArgument, match="invalid --volumes-from"):
        vols.resolve_for(image, FakeOptions(volumes_from=["donor:rx"]))
