"""The image store: lookups, tags, removal rules, prune and garbage collection, concurrency."""
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zlib

import pytest
import zstandard

from dockyard.engine.errors import Conflict, ContentError, ImageNotFound, InvalidArgument
from dockyard.engine.image.compression import TAR_TYPE
from dockyard.engine.image.model import CONFIG_TYPE, MANIFEST_TYPE
from dockyard.engine.image.store import ImageStore


def tree(tmp_path, name, files):
    root = tmp_path / name
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return root


@pytest.fixture
def store(data_root):
    return ImageStore(data_root)


@pytest.fixture
def base(store, tmp_path):
    return store.add_layer_from_dir(tree(tmp_path, "base", {"etc/passwd": b"root:x:0:0\n",
                                                            "bin/sh": b"sh"}), None, epoch=0)


def make(store, layers, tags=(), cmd="sh"):
    return store.create_image({"created": "2024-01-01T00:00:00Z", "config": {"Cmd": [cmd]}},
                              layers, tags=tags)


def snapshot_dirs(data_root):
    return sorted(n for n in os.listdir(data_root / "snapshots") if len(n) == 64)


def test_oci_json_and_ids(store, base, data_root):
    image = make(store, [base], ["busybox"])
    manifest = json.loads(store.blobs.read(image.manifest_digest))
    assert manifest["mediaType"] == MANIFEST_TYPE and manifest["schemaVersion"] == 2
    assert manifest["config"] == {"mediaType": CONFIG_TYPE, "digest": image.id,
                                  "size": store.blobs.size(image.id)}
    # A layer made here is named by its uncompressed tar: no gzip runs until a push needs one.
    assert manifest["layers"] == [{"mediaType": TAR_TYPE, "digest": base.diff_id,
                                   "size": base.size}]
    assert base.digest == base.diff_id and not store.blobs.exists(base.diff_id)
    config = json.loads(store.blobs.read(image.id))
    assert config["rootfs"] == {"type": "layers", "diff_ids": [base.diff_id]}
    assert config["os"] == "linux" and config["architecture"]
    assert image.short_id == image.id[7:19] and image.size == base.size > 0
    assert base.chain_id == base.diff_id and len(base.link) == 26
    assert os.readlink(data_root / "snapshots" / "l" / base.link) == f"../{base.chain_id[7:]}/diff"


@pytest.mark.parametrize("how", ["busybox", "busybox:latest", "docker.io/library/busybox:latest",
                                 "full", "sha256", "short", "prefix", "digest-ref"])
def test_lookups(store, base, how):
    image = make(store, [base], ["busybox"])
    text = {"full": image.id[7:], "sha256": image.id, "short": image.short_id,
            "prefix": image.id[7:11], "digest-ref": f"busybox@{image.manifest_digest}"}.get(how, how)
    assert store.get(text).id == image.id


def test_lookup_errors(store, base):
    make(store, [base], ["busybox"])
    with pytest.raises(ImageNotFound, match="No such image: alpine"):
        store.get("alpine")
    with pytest.raises(InvalidArgument):
        store.get("Not/Valid")
    with pytest.raises(ImageNotFound):
        store.get("sha256:" + "0" * 64)


def test_ambiguous_prefix(store, base):
    ids = {make(store, [base], cmd=str(i)).id for i in range(40)}
    first = {}
    for image_id in ids:
        first.setdefault(image_id[7], []).append(image_id)
    digit = next(d for d, group in first.items() if len(group) > 1)
    with pytest.raises(InvalidArgument, match="ambiguous"):
        store.get(digit)


def test_tag_untag_keeps_layers(store, base, data_root):
    image = make(store, [base], ["busybox"])
    store.tag("busybox", "me/app:1")
    store.tag(image, "localhost:5000/x")
    assert store.get("me/app:1").tags == ("docker.io/library/busybox:latest", "docker.io/me/app:1",
                                          "localhost:5000/x:latest")
    store.untag("busybox")
    store.untag("me/app:1")
    store.untag("localhost:5000/x")
    assert store.get(image.id).tags == ()          # dangling, still there
    assert snapshot_dirs(data_root) == [base.chain_id[7:]]
    with pytest.raises(ImageNotFound):
        store.untag("busybox")
    with pytest.raises(InvalidArgument):
        store.tag(image, f"x@{image.id}")


def test_list_newest_first(store, base):
    old = store.create_image({"created": "2020-01-01T00:00:00Z"}, [base])
    new = store.create_image({"created": "2024-01-01T00:00:00.123456789Z"}, [base])
    mid = store.create_image({"created": "2022-01-01T00:00:00+00:00"}, [base])
    assert [i.id for i in store.list()] == [new.id, mid.id, old.id]


def test_remove_by_tag_only_untags_while_tags_remain(store, base):
    image = make(store, [base], ["busybox", "busybox:2"])
    assert store.remove("busybox:2") == [{"Untagged": "busybox:2"}]
    assert store.get(image.id).tags == ("docker.io/library/busybox:latest",)


def test_remove_last_tag_deletes_image_and_layers(store, base, data_root):
    image = make(store, [base], ["busybox"])
    result = store.remove("busybox")
    assert result == [{"Untagged": "busybox:latest"}, {"Deleted": image.id},
                      {"Deleted": base.chain_id}]
    assert snapshot_dirs(data_root) == [] and store.blobs.digests() == []
    assert os.listdir(data_root / "snapshots" / "l") == []
    with pytest.raises(ImageNotFound):
        store.get(image.id)


def test_remove_keeps_shared_layers(store, base, tmp_path):
    top = store.add_layer_from_dir(tree(tmp_path, "app", {"app/x": b"x"}), base)
    first = make(store, [base], ["busybox"])
    second = make(store, [base, top], ["app"])
    deleted = store.remove("busybox")
    assert {"Deleted": base.chain_id} not in deleted
    assert store.read_file(store.get("app"), "/etc/passwd") == b"root:x:0:0\n"
    assert base.snapshot.is_dir() and not store.blobs.exists(first.id)
    assert store.remove(second.id)[-2:] == [{"Deleted": top.chain_id}, {"Deleted": base.chain_id}]


def test_in_use_conflicts(store, base):
    image = make(store, [base], ["busybox"])
    with pytest.raises(Conflict, match="being used"):
        store.remove("busybox", in_use={image.id})
    with pytest.raises(Conflict, match="being used"):
        store.remove(image.short_id, in_use={image.id})
    assert store.remove("busybox", force=True, in_use={image.id}) == [{"Untagged": "busybox:latest"}]
    assert store.get(image.id).layers[0].snapshot.is_dir()    # the container keeps its layers
    assert store.prune(in_use={image.id})["ImagesDeleted"] == []
    assert store.prune()["ImagesDeleted"][0] == {"Deleted": image.id}


def test_multiple_repositories_need_force(store, base):
    image = make(store, [base], ["busybox", "me/app"])
    with pytest.raises(Conflict, match="multiple repositories"):
        store.remove(image.id)
    assert store.remove(image.id, force=True)[:3] == [
        {"Untagged": "busybox:latest"}, {"Untagged": "me/app:latest"}, {"Deleted": image.id}]


def test_same_repository_tags_removed_by_id(store, base):
    image = make(store, [base], ["busybox:1", "busybox:2"])
    assert store.remove(image.short_id)[:3] == [
        {"Untagged": "busybox:1"}, {"Untagged": "busybox:2"}, {"Deleted": image.id}]


def test_prune_dangling_and_all(data_root, tmp_path):
    store = ImageStore(data_root, gc_grace=0)
    base = store.add_layer_from_dir(tree(tmp_path, "b", {"f": b"1"}), None)
    orphan = store.add_layer_from_dir(tree(tmp_path, "o", {"g": b"2" * 5000}), None)
    kept = make(store, [base], ["busybox"])
    dangling = make(store, [base], cmd="other")
    result = store.prune()
    assert {"Deleted": dangling.id} in result["ImagesDeleted"]
    assert {"Deleted": orphan.chain_id} in result["ImagesDeleted"]
    assert result["SpaceReclaimed"] > 5000
    assert store.get("busybox").id == kept.id
    assert store.read_file(kept, "/f") == b"1"
    result = store.prune(all=True)
    assert result["ImagesDeleted"][:2] == [{"Untagged": "busybox:latest"}, {"Deleted": kept.id}]
    assert store.blobs.digests() == [] and snapshot_dirs(data_root) == []


def test_prune_spares_young_orphans(store, tmp_path):
    pending = store.add_layer_from_dir(tree(tmp_path, "p", {"f": b"1"}), None)
    assert store.prune() == {"ImagesDeleted": [], "SpaceReclaimed": 0}
    assert pending.snapshot.is_dir()


def test_layer_cache_and_chain_ids(store, base, tmp_path):
    files = {"a": b"same"}
    one = store.add_layer_from_dir(tree(tmp_path, "x", files), base, epoch=0)
    two = store.add_layer_from_dir(tree(tmp_path, "y", files), base, epoch=0)
    alone = store.add_layer_from_dir(tree(tmp_path, "z", files), None, epoch=0)
    assert one == two
    assert one.diff_id == alone.diff_id and one.chain_id != alone.chain_id


def test_read_file(store, base, tmp_path):
    top = store.add_layer_from_dir(tree(tmp_path, "t", {"etc/passwd": b"new\n"}), base)
    image = make(store, [base, top])
    assert store.read_file(image, "/etc/passwd") == b"new\n"
    assert store.read_file(image, "etc/../bin/sh") == b"sh"
    assert store.read_file(image, "/nope") is None
    assert store.read_file(image, "/etc") is None
    assert store.lowerdirs(image) == [f"l/{top.link}", f"l/{base.link}"]
    assert (store.snapshots_root / store.lowerdirs(image)[0] / "etc" / "passwd").exists()


def test_import_gzip_tar_is_unpacked_once_and_rebuilt_exactly(store, tmp_path):
    """Only the snapshot is stored; the tar-split index rebuilds the tar byte for byte."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz", format=tarfile.GNU_FORMAT) as tar:
        for name, data in (("hello", b"hi"), ("x" * 150, b"long name"), ("hello", b"again")):
            info = tarfile.TarInfo(name)
            info.size, info.uname = len(data), "someone"
            tar.addfile(info, io.BytesIO(data))
    blob = raw.getvalue()
    (tmp_path / "l.tgz").write_bytes(blob)
    layer = store.add_layer_from_tar(tmp_path / "l.tgz", None)
    assert (layer.snapshot / "hello").read_bytes() == b"again"     # the later entry wins
    assert store.blobs.digests() == []
    import gzip
    import hashlib
    tar = gzip.decompress(blob)
    assert layer.digest == layer.diff_id == "sha256:" + hashlib.sha256(tar).hexdigest()
    assert b"".join(store.layer_tar(layer)) == tar
    (layer.snapshot / "hello").write_bytes(b"AGAIN")               # a snapshot changed on disk
    with pytest.raises(ContentError, match="corrupt"):
        b"".join(store.layer_tar(layer))


@pytest.mark.parametrize("member", ["/abs", "../up"])
def test_refused_tar_leaves_nothing(store, data_root, member):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name in ("ok", member):
            tar.addfile(tarfile.TarInfo(name))
    raw.seek(0)
    with pytest.raises(ContentError):
        store.add_layer_from_tar(raw, None)
    assert os.listdir(data_root / "snapshots") == []
    assert store.blobs.digests() == []


def test_corrupt_config_detected(store, base):
    image = make(store, [base], ["busybox"])
    store.blobs.path(image.id).write_bytes(b"{}")
    fresh = ImageStore(store.root)
    with pytest.raises(ContentError):
        fresh.get("busybox")


def test_history_and_inspect(store, base, tmp_path):
    top = store.add_layer_from_dir(tree(tmp_path, "t", {"x": b"x"}), base)
    history = [{"created": "2024-01-01T00:00:00Z", "created_by": "base"},
               {"created": "2024-01-02T00:00:00Z", "created_by": "ENV A=1", "empty_layer": True},
               {"created": "2024-01-03T00:00:00Z", "created_by": "COPY x", "comment": "c"}]
    image = store.create_image({"config": {"Env": ["A=1"]}}, [base, top], tags=["app"],
                               history=history)
    rows = store.history(image)
    assert [r["CreatedBy"] for r in rows] == ["COPY x", "ENV A=1", "base"]
    assert [r["Size"] for r in rows] == [top.size, 0, base.size]
    assert rows[0]["Id"] == image.id and rows[1]["Id"] == "<missing>"
    assert rows[0]["Tags"] == ["app:latest"] and rows[0]["Comment"] == "c"
    info = store.inspect(image)
    assert info["Id"] == image.id and info["RepoTags"] == ["app:latest"]
    # Docker's whole container.Config, unset fields included (User "", Cmd null)
    assert info["Config"]["Env"] == ["A=1"] and info["Config"]["User"] == ""
    assert info["Config"]["Cmd"] is None and list(info["Config"])[:3] == [
        "Hostname", "Domainname", "User"]
    assert info["Comment"] == "c" and info["Size"] == image.size      # the last step's comment
    assert info["RootFS"]["Layers"] == [base.diff_id, top.diff_id]
    assert info["GraphDriver"]["Data"]["UpperDir"] == str(top.snapshot)


WORKER = """
import os, shutil, sys, tempfile
from dockyard.engine.image.store import ImageStore
store = ImageStore(sys.argv[1])
base = store.layer(sys.argv[4])
for i in range(15):
    store.tag(sys.argv[2], f"{sys.argv[3]}:{i}")
    tree = tempfile.mkdtemp()
    with open(os.path.join(tree, "f"), "w") as f:
        f.write(f"{sys.argv[3]} {i % 3}")
    layer = store.add_layer_from_dir(tree, base, epoch=0)
    shutil.rmtree(tree)
    store.create_image({"created": "2024-01-01T00:00:00Z"}, [base, layer], tags=[f"{sys.argv[3]}-img:{i}"])
"""


def test_concurrent_processes_never_corrupt(store, base, data_root):
    image = make(store, [base], ["busybox"])
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(data_root), image.id, f"p{n}",
                               base.chain_id]) for n in range(3)]
    for i in range(15):
        store.tag(image, f"main:{i}")
    assert [p.wait() for p in procs] == [0, 0, 0]
    assert len(store.get(image.id).tags) == 1 + 4 * 15
    fresh = ImageStore(data_root)
    images = fresh.list()
    assert len(images) == 1 + 3 * 3                      # 3 distinct layers per process
    for img in images:
        assert sum(len(i.tags) for i in images) == 1 + 4 * 15 + 3 * 15
        for layer in img.layers:
            b"".join(fresh.layer_tar(layer))              # rebuilt and verified
            assert layer.snapshot.is_dir()
    assert [n for n in os.listdir(data_root / "snapshots") if n.startswith(".")] == []


def test_lock_is_reentrant(store, base):
    image = make(store, [base])
    with store.lock():
        with store.lock():
            store.tag(image, "nested")                 # takes the lock a third time
    assert store.get("nested").id == image.id


def test_data_root_is_an_oci_layout(store, base):
    image = make(store, [base], ["busybox", "me/app:1"])
    dangling = make(store, [base], cmd="other")
    assert json.loads((store.root / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((store.root / "index.json").read_text())
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    refs = [(m["digest"], m.get("annotations", {}).get("org.opencontainers.image.ref.name"))
            for m in index["manifests"]]
    assert refs == [(image.manifest_digest, "docker.io/library/busybox:latest"),
                    (image.manifest_digest, "docker.io/me/app:1"),
                    (dangling.manifest_digest, None)]
    for m in index["manifests"]:
        assert m["size"] == store.blobs.size(m["digest"])
    if shutil.which("umoci"):                   # the real reader, where the host has it
        listed = subprocess.run(["umoci", "ls", "--layout", str(store.root)], check=True,
                                capture_output=True, text=True).stdout.split()
        assert listed == ["docker.io/library/busybox:latest", "docker.io/me/app:1"]


@pytest.mark.parametrize("kind", ["gzip", "zstd"])
def test_a_layer_compressed_as_it_is_read_is_kept_once_read_whole(store, base, kind):
    with store.compressing_layer(base, kind) as stream:
        blob = b"".join(stream)
        made = stream.result()
    assert made == store.cached_compressed_layer(base, kind) == store.compressed_layer(base, kind)
    assert made["digest"] == "sha256:" + hashlib.sha256(blob).hexdigest()
    tar = zlib.decompress(blob, 31) if kind == "gzip" else \
        zstandard.ZstdDecompressor().decompressobj().decompress(blob)
    assert tar == b"".join(store.layer_tar(base))


def test_a_compression_left_half_read_keeps_nothing(store, base, data_root):
    with store.compressing_layer(base, "gzip") as stream:
        next(iter(stream))
    assert store.cached_compressed_layer(base, "gzip") is None
    assert not [n for n in os.listdir(data_root / "blobs" / "sha256") if n.startswith(".tmp-")]
