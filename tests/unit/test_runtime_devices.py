"""Device rules: --device parsing, the v1 writes, and where the cgroup plan puts them."""
import os

import pytest

from dockyard.engine.errors import InvalidArgument, Unsupported
from dockyard.engine.runtime import cgroups, devices


def test_parse_device_forms():
    null = os.stat("/dev/null")
    d = devices.parse_device("/dev/null")
    assert (d.path, d.type, d.major, d.minor, d.access) == ("/dev/null", "c", 1, 3, "rwm")
    assert d.mode == null.st_mode & 0o7777
    assert devices.parse_device("/dev/null:/dev/x/nul:wr").access == "rw"
    assert devices.parse_device("/dev/null:/dev/nul").path == "/dev/nul"
    assert devices.parse_device("/dev/null:r").path == "/dev/null"


@pytest.mark.parametrize("value,words", [
    ("/nope", "error gathering device information"), ("/etc/passwd", "not a character or block"),
    ("/dev/null:/etc/x", "must be under /dev"), ("/dev/null:/dev/../etc/x", "must be under /dev"),
    ("/dev/null:/dev/x:rwx", "invalid device mode"), ("/dev/null:/dev/x:rr", "invalid device mode"),
    ("a:b:c:d", "invalid device specification")])
def test_parse_device_refuses(value, words):
    with pytest.raises(InvalidArgument, match=words):
        devices.parse_device(value)


def test_rules_and_v1_writes():
    assert devices.rules_for(privileged=True) is None
    rules = devices.rules_for([devices.parse_device("/dev/null:/dev/n:r")])
    writes = devices.v1_writes(rules)
    assert writes[:3] == [("devices.deny", "a"), ("devices.allow", "c *:* m"), ("devices.allow", "b *:* m")]
    assert ("devices.allow", "c 136:* rwm") in writes and writes[-1] == ("devices.allow", "c 1:3 r")
    assert not any("10:229" in v for _, v in writes)                 # fuse stays denied
    assert len(devices.program(rules)) % 8 == 0


def test_plan_puts_devices_on_cgroup2_first_then_v1_else_refuses(tmp_path):
    (tmp_path / "memory").mkdir()
    (tmp_path / "devices").mkdir()
    v1 = cgroups.plan("c1", devices=devices.DEFAULT_RULES, root=str(tmp_path), v2=False)
    assert ("cg_set", f"{tmp_path}/devices/dockyard/c1/devices.deny\na") in v1
    assert not any(k == "cg_devices" for k, _ in v1)
    (tmp_path / "unified").mkdir()
    (tmp_path / "unified" / "cgroup.controllers").touch()
    hybrid = cgroups.plan("c1", devices=devices.DEFAULT_RULES, root=str(tmp_path), v2=False)
    assert [v.split("\n")[0] for k, v in hybrid if k == "cg_devices"] == [f"{tmp_path}/unified/dockyard/c1"]
    assert ("cg_join", f"{tmp_path}/unified/dockyard/c1/cgroup.procs") in hybrid
    assert not any("devices.deny" in v for _, v in hybrid)
    v2 = cgroups.plan("c1", devices=devices.DEFAULT_RULES, root=str(tmp_path / "unified"), v2=True)
    assert [k for k, _ in v2][:2] == ["cg_mkdir", "cg_devices"]
    with pytest.raises(Unsupported, match="no devices cgroup"):
        cgroups.plan("c1", devices=devices.DEFAULT_RULES, root=str(tmp_path / "memory"), v2=False)
    assert cgroups.plan("c1", devices=None, root=str(tmp_path / "memory"), v2=False) == []
