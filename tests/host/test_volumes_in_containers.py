"""Volumes in real containers: named data outlives its container, ro is the kernel's, tmpfs is tmpfs."""
import os

import pytest

pytest.importorskip("dockyard.engine.runtime.process",
                    reason="the container runtime (engine/runtime/process.py) hasn't landed")

from dockyard.engine.errors import InvalidArgument, VolumeNotFound  # noqa: E402


def sh(engine, script, **kwargs):
    return engine.containers.run("busybox", ["sh", "-c", script], remove=True, network="none",
                                 **kwargs).decode()


def test_named_volume_data_survives_its_container(engine):
    assert sh(engine, "echo kept > /data/f; echo ok", volumes=["shared:/data"]) == "ok\n"
    host = engine.volumes.get("shared").mountpoint / "f"
    assert host.read_text() == "kept\n"
    assert sh(engine, "cat /data/f", volumes=["shared:/data:ro"]) == "kept\n"
    assert sh(engine, "cat /d/f", mounts=["type=volume,src=shared,dst=/d"]) == "kept\n"


def test_readonly_write_fails_with_erofs(engine, tmp_path):
    out = sh(engine, "touch /data/x 2>&1; touch /host/x 2>&1; touch /m/x 2>&1; true",
             volumes=["rovol:/data:ro", f"{tmp_path}:/host:ro"],
             mounts=["type=volume,src=rovol,dst=/m,readonly"])
    assert out.count("Read-only file system") == 3, out
    assert os.listdir(tmp_path) == []


def test_bind_mount_both_ways(engine, tmp_path):
    (tmp_path / "in").write_text("from host")
    assert sh(engine, "cat /h/in; echo back > /h/out", volumes=[f"{tmp_path}:/h"]) == "from host"
    assert (tmp_path / "out").read_text() == "back\n"
    made = tmp_path / "made" / "here"
    sh(engine, "true", volumes=[f"{made}:/m"])          # -v creates a missing source, as Docker
    assert made.is_dir()


def test_missing_bind_source_with_mount_is_an_error(engine, tmp_path):
    before = {c.id for c in engine.containers.list(all=True)}
    with pytest.raises(InvalidArgument, match=f"bind source path does not exist: {tmp_path}/no"):
        sh(engine, "true", mounts=[f"type=bind,src={tmp_path}/no,dst=/x"], name="never")
    assert {c.id for c in engine.containers.list(all=True)} == before


def test_tmpfs_is_a_tmpfs(engine):
    out = sh(engine, "grep ' /run ' /proc/mounts; grep ' /t ' /proc/mounts",
             tmpfs=["/run:size=1m,mode=1770"], mounts=["type=tmpfs,dst=/t,readonly"])
    run, t = out.splitlines()
    assert run.split()[2] == "tmpfs" and "size=1024k" in run and "mode=1770" in run
    assert t.split()[2] == "tmpfs" and t.split()[3].startswith("ro")


def test_new_volume_is_filled_from_the_image(engine):
    assert sh(engine, "head -1 /etc/passwd", volumes=["etcvol:/etc"]) == "root:x:0:0:root:/root:/bin/sh\n"
    assert (engine.volumes.get("etcvol").mountpoint / "group").exists()
    nocopy = sh(engine, "ls /etc | wc -l", mounts=["src=emptyvol,dst=/etc,volume-nocopy"])
    assert nocopy.strip() == "0"


def test_rm_v_removes_anonymous_volumes_only(engine):
    c = engine.containers.run("busybox", ["sh", "-c", "echo a > /anon/f; echo n > /named/f"],
                              detach=True, network="none", volumes=["/anon", "keepme:/named"])
    c.wait()
    (anon,) = [m["Name"] for m in c.record["Mounts"] if m["Destination"] == "/anon"]
    assert engine.volumes.get(anon).anonymous
    reader = sh(engine, "cat /anon/f /named/f; touch /anon/g 2>&1; true",
                volumes_from=[f"{c.name}:ro"])
    assert reader.startswith("a\nn\n") and "Read-only file system" in reader
    c.remove(v=True)
    with pytest.raises(VolumeNotFound):
        engine.volumes.get(anon)
    assert (engine.volumes.get("keepme").mountpoint / "f").read_text() == "n\n"


@pytest.mark.parametrize("bad", [{"memory": "lots"}, {"environment": ["A=nul\0byte"]}])
def test_a_refused_create_leaves_no_volume_behind(engine, bad):
    before = {v.name for v in engine.volumes.list()}
    with pytest.raises(InvalidArgument):
        engine.containers.create("busybox", ["true"], network="none",
                                 volumes=["/anon", "madebyrefused:/named"], **bad)
    assert {v.name for v in engine.volumes.list()} == before
