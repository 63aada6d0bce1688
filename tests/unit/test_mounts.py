"""Parsing of -v, --mount and --tmpfs values, against Docker's rules."""
import pytest

from dockyard.engine.errors import InvalidArgument
from dockyard.engine.mounts import (MountRequest, parse_mount_flag, parse_size, parse_tmpfs_flag,
                                    parse_volume_flag)

NOEXEC = ("nodev", "noexec", "nosuid")

VOLUME_CASES = [
    ("/data", MountRequest("volume", "/data")),
    ("/data/", MountRequest("volume", "/data")),
    ("vol:/data", MountRequest("volume", "/data", "vol")),
    ("vol:/data:ro", MountRequest("volume", "/data", "vol", readonly=True)),
    ("vol:/data:rw", MountRequest("volume", "/data", "vol")),
    ("vol:/data:nocopy", MountRequest("volume", "/data", "vol", nocopy=True)),
    ("vol:/data:ro,z", MountRequest("volume", "/data", "vol", readonly=True)),
    ("my_vol.1-x:/a/../b", MountRequest("volume", "/b", "my_vol.1-x")),
    ("/host:/data", MountRequest("bind", "/data", "/host", create_source=True)),
    ("/host/:/data:ro", MountRequest("bind", "/data", "/host", True, create_source=True)),
    ("/host:/data:Z,rshared", MountRequest("bind", "/data", "/host", create_source=True,
                                           propagation="rshared")),
]


@pytest.mark.parametrize("spec,expected", VOLUME_CASES)
def test_volume_flag(spec, expected):
    assert parse_volume_flag(spec) == expected


VOLUME_ERRORS = [
    ("data", "mount path must be absolute: data"),
    ("vol:data", "mount path must be absolute: data"),
    ("/data:ro", "invalid volume specification"),
    ("vol:/", "destination can't be '/'"),
    ("a:/b:c:d", "invalid volume specification"),
    (":/data", "invalid volume specification"),
    ("vol:/data:rx", "invalid mode"),
    ("vol:/data:ro,rw", "invalid mode"),
    ("./rel:/data", "a host path must be absolute: ./rel"),
    ("rel/dir:/data", "invalid characters for a local volume name"),
    ("v:/data", "volume name is too short"),
    ("vol:/data:rshared", "propagation applies only to bind mounts"),
    ("/host:/data:nocopy", "nocopy applies only to volumes"),
]


@pytest.mark.parametrize("spec,message", VOLUME_ERRORS)
def test_volume_flag_errors(spec, message):
    with pytest.raises(InvalidArgument, match=message.replace(".", r"\.")) as info:
        parse_volume_flag(spec)
    assert "\n" not in str(info.value)


MOUNT_CASES = [
    ("type=volume,source=vol,target=/data", MountRequest("volume", "/data", "vol")),
    ("src=vol,dst=/data", MountRequest("volume", "/data", "vol")),
    ("target=/data", MountRequest("volume", "/data")),
    ("source=vol,destination=/data,readonly", MountRequest("volume", "/data", "vol", True)),
    ("source=vol,target=/data,ro=true", MountRequest("volume", "/data", "vol", True)),
    ("source=vol,target=/data,readonly=false", MountRequest("volume", "/data", "vol")),
    ("source=vol,target=/data,readonly=0", MountRequest("volume", "/data", "vol")),
    ("source=vol,target=/data,volume-nocopy", MountRequest("volume", "/data", "vol", nocopy=True)),
    ("source=vol,target=/d,volume-label=a=b", MountRequest("volume", "/d", "vol",
                                                           labels=(("a", "b"),))),
    ("type=bind,source=/h,target=/d", MountRequest("bind", "/d", "/h")),
    ("type=bind,src=/h,dst=/d,ro,bind-propagation=rslave",
     MountRequest("bind", "/d", "/h", True, propagation="rslave")),
    ("type=bind,src=/h,dst=/d,consistency=cached", MountRequest("bind", "/d", "/h")),
    ('"type=bind","src=/with,comma",dst=/d', MountRequest("bind", "/d", "/with,comma")),
    ("type=tmpfs,target=/t", MountRequest("tmpfs", "/t", flags=NOEXEC)),
    ("type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=1777",
     MountRequest("tmpfs", "/t", data="size=67108864,mode=1777", flags=NOEXEC)),
    ("type=tmpfs,dst=/t,tmpfs-size=1024", MountRequest("tmpfs", "/t", data="size=1024",
                                                       flags=NOEXEC)),
]


@pytest.mark.parametrize("spec,expected", MOUNT_CASES)
def test_mount_flag(spec, expected):
    assert parse_mount_flag(spec) == expected


MOUNT_ERRORS = [
    ("type=volume,source=vol", "a target path is required"),
    ("source=vol,target=rel", "mount path must be absolute: rel"),
    ("type=nfs,target=/d", "unsupported mount type 'nfs'"),
    ("type=bind,target=/d", "source is required for a bind mount"),
    ("type=bind,source=rel,target=/d", "bind source must be an absolute host path: rel"),
    ("type=tmpfs,source=x,target=/d", "source is not supported for tmpfs"),
    ("type=bind,src=/h,dst=/d,volume-nocopy", "cannot mix 'volume-\\*' options"),
    ("type=volume,dst=/d,tmpfs-size=1m", "cannot mix 'tmpfs-\\*' options"),
    ("type=tmpfs,dst=/d,tmpfs-size=lots", "invalid size: 'lots'"),
    ("type=tmpfs,dst=/d,tmpfs-mode=999", "invalid tmpfs mode: '999'"),
    ("source=vol,target=/d,readonly=maybe", "invalid value for readonly: 'maybe'"),
    ("source=vol,target=/d,colour=red", "unexpected key 'colour'"),
    ("source,target=/d", "must be a key=value pair"),
    ("source=v,target=/d", "volume name is too short"),
    ("type=bind,src=/h,dst=/d,bind-propagation=sideways", "invalid bind-propagation"),
]


@pytest.mark.parametrize("spec,message", MOUNT_ERRORS)
def test_mount_flag_errors(spec, message):
    with pytest.raises(InvalidArgument, match=message):
        parse_mount_flag(spec)


TMPFS_CASES = [
    ("/run", MountRequest("tmpfs", "/run", flags=NOEXEC)),
    ("/run:size=64m,mode=1777", MountRequest("tmpfs", "/run", data="size=67108864,mode=1777",
                                             flags=NOEXEC)),
    ("/run:size=50%", MountRequest("tmpfs", "/run", data="size=50%", flags=NOEXEC)),
    ("/run:ro", MountRequest("tmpfs", "/run", readonly=True, flags=NOEXEC)),
    ("/run:exec,uid=1000", MountRequest("tmpfs", "/run", data="uid=1000",
                                        flags=("exec", "nodev", "nosuid"))),
]


@pytest.mark.parametrize("spec,expected", TMPFS_CASES)
def test_tmpfs_flag(spec, expected):
    assert parse_tmpfs_flag(spec) == expected


@pytest.mark.parametrize("spec,message", [
    ("run", "mount path must be absolute"),
    ("/", "destination can't be '/'"),
    ("/run:bogus", "invalid tmpfs option 'bogus'"),
    ("/run:size=big", "invalid size: 'big'"),
    ("/run:mode=8", "invalid tmpfs mode"),
])
def test_tmpfs_flag_errors(spec, message):
    with pytest.raises(InvalidArgument, match=message):
        parse_tmpfs_flag(spec)


@pytest.mark.parametrize("text,size", [("512", 512), ("1k", 1024), ("64m", 64 << 20),
                                       ("1g", 1 << 30), ("2GiB", 2 << 30), ("1.5k", 1536),
                                       ("10MB", 10 << 20)])
def test_parse_size(text, size):
    assert parse_size(text) == size
