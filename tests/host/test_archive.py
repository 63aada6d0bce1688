"""docker save / load: round trips between data roots, and archives other tools write and read.

skopeo (containers/image) and umoci are independent readers and writers of the two formats the
archive carries: Docker's manifest.json and the OCI image layout.
"""
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

import pytest

from dockyard.engine import Engine
from dockyard.engine.errors import ContentError

needs_skopeo = pytest.mark.skipif(not shutil.which("skopeo"),
                                  reason="needs skopeo (apt-get install skopeo)")
needs_umoci = pytest.mark.skipif(not shutil.which("umoci"),
                                 reason="needs umoci (apt-get install umoci)")


def run(engine, image, cmd):
    return engine.containers.run(image, ["sh", "-c", cmd], remove=True, network="none").decode()


@pytest.fixture
def engine(data_root, tmp_path):
    engine = Engine(data_root)
    engine.images.bootstrap("busybox")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "greeting").write_text("hello from the archive\n")
    engine.images.build("FROM busybox\nCOPY greeting /greeting\nENV WHO=archive\n",
                        context=ctx, tag="me/app:1")
    return engine


def members(path):
    with tarfile.open(path) as tar:
        return {m.name: m for m in tar}


def left_behind(engine):
    found = [p.name for p in engine.root.glob(".load-*")]
    found += [p.name for p in (engine.root / "blobs" / "sha256").glob(".tmp-*")]
    snaps = engine.root / "snapshots"
    if snaps.is_dir():
        found += [n for n in os.listdir(snaps) if n.startswith((".tmp-", ".trash-"))]
    return found


def test_save_then_load_into_a_fresh_root_keeps_the_id(engine, fresh, tmp_path):
    out = tmp_path / "images.tar"
    engine.images.save(["me/app:1", "busybox"], out)
    names = members(out)
    assert {"manifest.json", "index.json", "oci-layout", "repositories"} <= set(names)
    with tarfile.open(out) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        index = json.load(tar.extractfile("index.json"))
    app, busybox = engine.images.get("me/app:1"), engine.images.get("busybox")
    assert manifest[0]["RepoTags"] == ["me/app:1"] and manifest[1]["RepoTags"] == ["busybox:latest"]
    assert manifest[0]["Config"] == "blobs/sha256/" + app.id[7:]
    assert manifest[0]["Layers"] == ["blobs/sha256/" + layer.diff_id[7:] for layer in app.layers]
    # Two configs, two manifests, two layers: the shared busybox layer is written once.
    assert len([n for n in names if n.startswith("blobs/sha256/")]) == 6
    assert [m["annotations"]["io.containerd.image.name"] for m in index["manifests"]] == [
        "docker.io/me/app:1", "docker.io/library/busybox:latest"]

    loaded = fresh.images.load(str(out))
    assert [(item.image.id, item.tags) for item in loaded] == [
        (app.id, ("me/app:1",)), (busybox.id, ("busybox:latest",))]
    assert fresh.images.get("me/app:1").manifest_digest == app.manifest_digest
    assert run(fresh, "me/app:1", "cat /greeting; echo $WHO") == "hello from the archive\narchive\n"
    assert left_behind(fresh) == []
    again = fresh.images.load(str(out))                        # loading twice is harmless
    assert [item.image.id for item in again] == [app.id, busybox.id]


def test_cli_save_to_stdout_load_from_stdin_gzip(engine, fresh):
    saved = subprocess.run([sys.executable, "-m", "dockyard.engine.cli", "--data-root",
                            str(engine.root), "save", "me/app:1"], capture_output=True, check=True)
    loaded = subprocess.run([sys.executable, "-m", "dockyard.engine.cli", "--data-root",
                             str(fresh.root), "load"], input=gzip.compress(saved.stdout),
                            capture_output=True, check=True)
    assert loaded.stdout == b"Loaded image: me/app:1\n"
    by_id = engine.images.get("me/app:1").id
    buffer = io.BytesIO()
    engine.images.save([by_id[7:19]], buffer)
    buffer.seek(0)
    [item] = Engine(fresh.root.parent / "third").images.load(buffer)
    assert item.image.id == by_id and item.tags == () and item.image.tags == ()


@needs_skopeo
def test_skopeo_reads_our_archive_both_ways(engine, tmp_path):
    out = tmp_path / "app.tar"
    engine.images.save(["me/app:1"], out)
    app = engine.images.get("me/app:1")
    info = json.loads(subprocess.run(["skopeo", "inspect", f"docker-archive:{out}"],
                                     capture_output=True, text=True, check=True).stdout)
    assert info["Env"] == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                           "WHO=archive"]
    config = json.loads(subprocess.run(["skopeo", "inspect", "--config", f"docker-archive:{out}"],
                                       capture_output=True, text=True, check=True).stdout)
    assert config["rootfs"]["diff_ids"] == [layer.diff_id for layer in app.layers]
    # The same tar, unpacked, is an OCI layout skopeo reads by its ref.name.
    layout = tmp_path / "layout"
    layout.mkdir()
    with tarfile.open(out) as tar:
        tar.extractall(layout)
    oci = json.loads(subprocess.run(["skopeo", "inspect", "--config", f"oci:{layout}:1"],
                                    capture_output=True, text=True, check=True).stdout)
    assert oci == config


@needs_skopeo
@needs_umoci
def test_skopeo_copy_to_oci_then_umoci_and_back_into_dockyard(engine, fresh, tmp_path):
    out = tmp_path / "app.tar"
    engine.images.save(["me/app:1"], out)
    oci = tmp_path / "oci"
    subprocess.run(["skopeo", "copy", f"docker-archive:{out}", f"oci:{oci}:copied"],
                   capture_output=True, check=True)
    tags = subprocess.run(["umoci", "ls", "--layout", str(oci)], capture_output=True,
                          text=True, check=True).stdout.split()
    assert tags == ["copied"]
    bundle = tmp_path / "bundle"
    subprocess.run(["umoci", "unpack", "--image", f"{oci}:copied", str(bundle)],
                   capture_output=True, check=True)
    assert (bundle / "rootfs" / "greeting").read_text() == "hello from the archive\n"
    # skopeo's own docker-archive (gzip-less, its own manifest.json) loads into a fresh root.
    theirs = tmp_path / "theirs.tar"
    subprocess.run(["skopeo", "copy", f"oci:{oci}:copied", f"docker-archive:{theirs}:me/app:2"],
                   capture_output=True, check=True)
    [item] = fresh.images.load(str(theirs))
    # skopeo re-serializes the config when it converts to OCI (Go drops a time's trailing
    # zeros): same content, other bytes, so another id.
    ours = engine.images.get("me/app:1")
    assert item.tags == ("me/app:2",)
    for key in ("config", "rootfs", "architecture", "os"):
        assert item.image.config[key] == ours.config[key]
    raw = subprocess.run(["skopeo", "inspect", "--config", "--raw", f"oci:{oci}:copied"],
                         capture_output=True, check=True).stdout
    assert item.image.id == "sha256:" + hashlib.sha256(raw).hexdigest()   # their bytes kept
    # And a plain OCI layout tarred up (no manifest.json): tags come from ref.name annotations.
    oci_tar = tmp_path / "oci.tar"
    with tarfile.open(oci_tar, "w") as tar:
        tar.add(oci, arcname=".")
    [item] = Engine(tmp_path / "third").images.load(str(oci_tar))
    assert item.image.config["rootfs"] == ours.config["rootfs"] and item.tags == ()
    assert run(fresh, "me/app:2", "cat /greeting") == "hello from the archive\n"


def test_oci_archive_of_several_images_names_them_in_full_and_loads_back(engine, fresh,
                                                                         tmp_path):
    engine.images.tag("me/app:1", "me/app:latest")
    out = tmp_path / "images.oci.tar"
    subprocess.run([sys.executable, "-m", "dockyard.engine.cli", "--data-root", str(engine.root),
                    "save", "--format", "oci-archive", "-o", str(out), "me/app:1",
                    "me/app:latest", "busybox"], check=True)
    assert not {"manifest.json", "repositories"} & set(members(out))    # the OCI layout alone
    with tarfile.open(out) as tar:
        index = json.load(tar.extractfile("index.json"))
    names = [m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"]]
    assert names == ["docker.io/me/app:1", "docker.io/me/app:latest",
                     "docker.io/library/busybox:latest"]
    assert {json.dumps(m["platform"]) for m in index["manifests"]} == {
        json.dumps({"architecture": engine.images.get("busybox").config["architecture"],
                    "os": "linux"})}
    app, busybox = engine.images.get("me/app:1"), engine.images.get("busybox")
    loaded = fresh.images.load(str(out))
    assert [(item.image.id, item.tags) for item in loaded] == [
        (app.id, ("me/app:1",)), (app.id, ("me/app:latest",)), (busybox.id, ("busybox:latest",))]
    assert left_behind(fresh) == []


@needs_skopeo
@needs_umoci
def test_skopeo_and_umoci_read_an_oci_archive_by_full_name(engine, tmp_path):
    out = tmp_path / "images.oci.tar"
    engine.images.save(["me/app:1", "busybox"], out, format="oci-archive")
    app = engine.images.get("me/app:1")
    config = json.loads(subprocess.run(
        ["skopeo", "inspect", "--config", f"oci-archive:{out}:docker.io/me/app:1"],
        capture_output=True, text=True, check=True).stdout)
    assert config["rootfs"]["diff_ids"] == [layer.diff_id for layer in app.layers]
    layout = tmp_path / "layout"
    layout.mkdir()
    with tarfile.open(out) as tar:
        tar.extractall(layout)
    listed = subprocess.run(["umoci", "ls", "--layout", str(layout)], capture_output=True,
                            text=True, check=True).stdout.split()
    assert listed == ["docker.io/me/app:1", "docker.io/library/busybox:latest"]
    bundle = tmp_path / "bundle"
    subprocess.run(["umoci", "unpack", "--image", f"{layout}:docker.io/me/app:1", str(bundle)],
                   capture_output=True, check=True)
    assert (bundle / "rootfs" / "greeting").read_text() == "hello from the archive\n"


@needs_skopeo
def test_an_oci_layout_with_gzip_and_zstd_layers_from_skopeo_loads(engine, fresh, tmp_path):
    """skopeo writes two images into one OCI layout, their layers compressed two ways (as
    Podman's oci-archive is); tarred up, it loads with both names."""
    out = tmp_path / "app.tar"
    engine.images.save(["me/app:1"], out)
    oci = tmp_path / "oci"
    for kind, name in (("gzip", "docker.io/me/app:gzip"), ("zstd", "docker.io/me/app:zstd")):
        subprocess.run(["skopeo", "copy", "--dest-compress-format", kind,
                        f"docker-archive:{out}", f"oci:{oci}:{name}"],
                       capture_output=True, check=True)
    blobs = {json.loads((oci / "blobs" / "sha256" / m["digest"][7:]).read_text())["layers"][-1]
             ["mediaType"] for m in json.loads((oci / "index.json").read_text())["manifests"]}
    assert blobs == {"application/vnd.oci.image.layer.v1.tar+gzip",
                     "application/vnd.oci.image.layer.v1.tar+zstd"}
    oci_tar = tmp_path / "oci.tar"
    with tarfile.open(oci_tar, "w") as tar:
        tar.add(oci, arcname=".")
    loaded = fresh.images.load(str(oci_tar))
    assert [item.tags for item in loaded] == [("me/app:gzip",), ("me/app:zstd",)]
    assert run(fresh, "me/app:zstd", "cat /greeting") == "hello from the archive\n"


def test_truncated_or_corrupt_archive_leaves_nothing(engine, fresh, tmp_path):
    out = tmp_path / "app.tar"
    engine.images.save(["me/app:1"], out)
    data = out.read_bytes()
    for name, broken in [("truncated.tar", data[:len(data) // 2]),
                         ("truncated.tar.gz", gzip.compress(data)[:len(data) // 4])]:
        path = tmp_path / name
        path.write_bytes(broken)
        with pytest.raises(ContentError) as info:
            fresh.images.load(str(path))
        assert "\n" not in str(info.value)
    # A flipped byte inside a layer: the diff_id check refuses it before anything is stored.
    layer = engine.images.get("me/app:1").layers[0]
    offset = data.index(b"bin/busybox")                        # inside the busybox layer tar
    corrupt = data[:offset] + b"bin/busyboX" + data[offset + len(b"bin/busybox"):]
    (tmp_path / "corrupt.tar").write_bytes(corrupt)
    with pytest.raises(ContentError, match=layer.diff_id[len("sha256:"):]):
        fresh.images.load(str(tmp_path / "corrupt.tar"))
    assert left_behind(fresh) == []
    assert fresh.images.list() == [] and fresh.store.snapshots.chains() == []
    assert fresh.store.blobs.digests() == []


def test_save_of_a_missing_image_writes_no_file(engine, tmp_path):
    from dockyard.engine.errors import ImageNotFound
    with pytest.raises(ImageNotFound):
        engine.images.save(["me/app:1", "nope:1"], tmp_path / "x.tar")
    assert list(tmp_path.glob("*.tar")) == [] and list(tmp_path.glob(".save-*")) == []


def test_unreadable_or_unwritable_paths_are_one_line_errors(engine, tmp_path):
    from dockyard.engine.errors import InvalidArgument
    with pytest.raises(InvalidArgument, match="no such file") as info:
        engine.images.load(str(tmp_path / "nope.tar"))
    assert left_behind(engine) == [] and "\n" not in str(info.value)
    with pytest.raises(InvalidArgument, match="no such directory"):
        engine.images.save(["me/app:1"], tmp_path / "gone" / "x.tar")
    with pytest.raises(InvalidArgument, match="is a directory"):
        engine.images.save(["me/app:1"], tmp_path)
    assert list(tmp_path.glob(".save-*")) == []
