"""Images recorded from outside bytes (a pull, a load): add_layer_from_blob, add_image, repo digests."""
import gzip
import hashlib
import io
import json
import tarfile

import pytest

from dockyard.engine.errors import BlobNotFound, ContentError, ImageNotFound, InvalidArgument
from dockyard.engine.image.blobs import sha256_digest
from dockyard.engine.image.store import ImageStore

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


@pytest.fixture
def store(data_root):
    return ImageStore(data_root)


def layer_tar(files: dict) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def blob_layer(store, files: dict, parent=None):
    """A layer as a pull makes it: the gzip blob first, then the snapshot from it."""
    tar = layer_tar(files)
    digest = store.blobs.put(gzip.compress(tar, mtime=0))
    diff_id = "sha256:" + hashlib.sha256(tar).hexdigest()
    return store.add_layer_from_blob(digest, diff_id, parent)


def pulled(store, layers, *, cmd="sh"):
    """(config bytes, manifest bytes) as a registry serves them: Docker schema2, not canonical."""
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "created": "2024-01-01T00:00:00.123456789Z", "config": {"Cmd": [cmd]},
                         "rootfs": {"type": "layers", "diff_ids": [l.diff_id for l in layers]}},
                        indent=3).encode() + b"\n"
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": DOCKER_CONFIG, "size": len(config),
                   "digest": sha256_digest(config)},
        "layers": [{"mediaType": DOCKER_LAYER, "size": store.blobs.size(l.digest),
                    "digest": l.digest} for l in layers]}, indent=2).encode()
    return config, manifest


def test_add_layer_from_blob_unpacks_the_stored_blob(store):
    base = blob_layer(store, {"etc/hostname": b"box\n"})
    top = blob_layer(store, {"etc/motd": b"hi\n"}, base)
    assert (base.snapshot / "etc/hostname").read_bytes() == b"box\n"
    assert (top.snapshot / "etc/motd").read_bytes() == b"hi\n"
    assert top.chain_id != top.diff_id and store.layer(top.chain_id) == top
    assert blob_layer(store, {"etc/motd": b"hi\n"}, base) == top      # unpacked once
    with pytest.raises(BlobNotFound):
        store.add_layer_from_blob("sha256:" + "0" * 64, top.diff_id, None)


def test_add_image_keeps_the_exact_bytes(store):
    base = blob_layer(store, {"bin/sh": b"sh"})
    config, manifest = pulled(store, [base])
    image = store.add_image(config, manifest, tags=["127.0.0.1:5000/app:1"],
                            repo_digest=f"127.0.0.1:5000/app@{sha256_digest(manifest)}")
    assert image.id == sha256_digest(config) and image.manifest_digest == sha256_digest(manifest)
    assert store.blobs.read(image.id) == config
    assert store.blobs.read(image.manifest_digest) == manifest
    assert image.tags == ("127.0.0.1:5000/app:1",)
    assert image.repo_digests == (f"127.0.0.1:5000/app@{image.manifest_digest}",)
    assert store.get("127.0.0.1:5000/app:1") == image
    assert store.read_file(image, "/bin/sh") == b"sh"


def test_recording_the_same_image_again_leaves_the_index_alone(store):
    base = blob_layer(store, {"bin/sh": b"sh"})
    config, manifest = pulled(store, [base])
    store.add_image(config, manifest, tags=["app:1"])
    written = store.index.path.stat().st_mtime_ns, store.index.path.stat().st_ino
    store.add_image(config, manifest, tags=["app:1"])          # a cached rebuild: no change
    assert (store.index.path.stat().st_mtime_ns, store.index.path.stat().st_ino) == written
    image = store.add_image(config, manifest, tags=["app:2"])
    assert image.tags == ("docker.io/library/app:1", "docker.io/library/app:2")

def test_repo_digests_one_per_repository_and_survive_a_new_manifest(store):
    base = blob_layer(store, {"bin/sh": b"sh"})
    config, manifest = pulled(store, [base])
    first = "sha256:" + "1" * 64
    store.add_image(config, manifest, repo_digest=f"busybox@{first}")
    image = store.add_image(config, manifest, repo_digest="127.0.0.1:5000/bb@sha256:" + "2" * 64)
    store.add_repo_digest(image, "busybox@sha256:" + "3" * 64)
    # the same config under another manifest (a docker load): the digests stay
    other = manifest.replace(b'"schemaVersion": 2', b'"schemaVersion":2')
    again = store.add_image(config, other)
    assert again.manifest_digest == sha256_digest(other)
    assert again.repo_digests == ("127.0.0.1:5000/bb@sha256:" + "2" * 64,
                                  "docker.io/library/busybox@sha256:" + "3" * 64)
    with pytest.raises(InvalidArgument):
        store.add_repo_digest(image, "busybox:latest")
    store.remove(image.id)
    store.add_repo_digest(image, f"busybox@{first}")     # removed meanwhile: nothing to do
    with pytest.raises(ImageNotFound):
        store.get(image.id)


def test_add_image_refuses_what_does_not_fit(store, data_root):
    base = blob_layer(store, {"bin/sh": b"sh"})
    config, manifest = pulled(store, [base])
    before = sorted(p.name for p in (data_root / "blobs" / "sha256").iterdir())
    with pytest.raises(ContentError, match="names config"):
        store.add_image(config + b" ", manifest)
    unstored = json.loads(config)
    unstored["rootfs"]["diff_ids"] = ["sha256:" + "9" * 64]
    unstored = json.dumps(unstored).encode()
    manifest2 = json.loads(manifest)
    manifest2["config"]["digest"] = sha256_digest(unstored)
    with pytest.raises(ContentError, match="was not stored"):
        store.add_image(unstored, json.dumps(manifest2).encode())
    with pytest.raises(InvalidArgument):
        store.add_image(config, manifest, tags=[f"app@{sha256_digest(manifest)}"])
    assert sorted(p.name for p in (data_root / "blobs" / "sha256").iterdir()) == before
    assert store.list() == []


INDEX_DIGEST = "sha256:" + "ab" * 32          # an OCI index the pull resolved to this manifest


@pytest.fixture
def by_index(store):
    """An image pulled by the digest of a multi-platform index: untagged, one repo digest."""
    base = blob_layer(store, {"bin/sh": b"sh"})
    config, manifest = pulled(store, [base])
    return store.add_image(config, manifest, repo_digest=f"127.0.0.1:5000/multi@{INDEX_DIGEST}")


def test_oci_index_keeps_each_manifests_media_type(store, by_index):
    index = json.loads((store.root / "index.json").read_text())
    [entry] = [m for m in index["manifests"] if m["digest"] == by_index.manifest_digest]
    assert entry["mediaType"] == DOCKER_MANIFEST
    assert entry["size"] == store.blobs.size(by_index.manifest_digest)


def test_lookup_by_repo_digest_of_an_index(store, by_index):
    assert store.get(f"127.0.0.1:5000/multi@{INDEX_DIGEST}").id == by_index.id
    assert store.get(f"127.0.0.1:5000/multi@{by_index.manifest_digest}").id == by_index.id
    with pytest.raises(ImageNotFound):
        store.get(f"127.0.0.1:5000/multi@sha256:{'cd' * 32}")


def test_inspect_shows_repo_digests(store, by_index):
    store.add_repo_digest(by_index, f"busybox@{by_index.manifest_digest}")
    info = store.inspect(store.get(by_index.id))
    assert info["RepoDigests"] == [f"127.0.0.1:5000/multi@{INDEX_DIGEST}",
                                   f"busybox@{by_index.manifest_digest}"]
    assert info["RepoTags"] == []


def test_prune_keeps_an_image_pulled_by_digest(data_root):
    store = ImageStore(data_root, gc_grace=0)
    base = blob_layer(store, {"bin/sh": b"sh"})
    config, manifest = pulled(store, [base])
    kept = store.add_image(config, manifest, repo_digest=f"busybox@{INDEX_DIGEST}")
    dangling = store.add_image(*pulled(store, [base], cmd="other"))
    assert {"Deleted": dangling.id} in store.prune()["ImagesDeleted"]
    assert store.get(kept.id).repo_digests == (f"docker.io/library/busybox@{INDEX_DIGEST}",)
    assert store.read_file(kept, "/bin/sh") == b"sh"
    assert {"Deleted": kept.id} in store.prune(all=True)["ImagesDeleted"]
    assert store.list() == [] and store.blobs.digests() == []


def dockyard_images(data_root, capsys, *flags):
    from dockyard.engine.cli import main as cli
    assert cli.main(["--data-root", str(data_root), "images", *flags]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return [line.split() for line in out.splitlines()]


def test_cli_images_digests_column(store, by_index, data_root, capsys):
    base = by_index.layers[0]
    config, manifest = pulled(store, [base], cmd="app")
    app = store.add_image(config, manifest, tags=["127.0.0.1:5000/app:1", "local:1"],
                          repo_digest=f"127.0.0.1:5000/app@{sha256_digest(manifest)}")
    rows = dockyard_images(data_root, capsys, "--digests")
    assert rows[0] == ["REPOSITORY", "TAG", "DIGEST", "IMAGE", "ID", "CREATED", "SIZE"]
    assert sorted(row[:4] for row in rows[1:]) == [
        ["127.0.0.1:5000/app", "1", app.manifest_digest, app.short_id],
        ["127.0.0.1:5000/multi", "<none>", INDEX_DIGEST, by_index.short_id],
        ["local", "1", "<none>", app.short_id]]
    rows = dockyard_images(data_root, capsys)        # without: no column, still the repository
    assert rows[0] == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert sorted(row[:3] for row in rows[1:]) == [
        ["127.0.0.1:5000/app", "1", app.short_id],
        ["127.0.0.1:5000/multi", "<none>", by_index.short_id],
        ["local", "1", app.short_id]]
    # -q prints the ID of every row shown, as Docker does: app's twice, once per tag
    assert sorted(dockyard_images(data_root, capsys, "-q")) == sorted(
        [[app.short_id], [app.short_id], [by_index.short_id]])
