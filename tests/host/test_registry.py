"""Pull and push against Debian's real docker-registry (distribution 2.8) on 127.0.0.1.

Each registry is a real `docker-registry serve` process on a free port with its storage in the
test's temp dir, stopped afterwards. skopeo, a second implementation, reads what we push.
"""
import json
import os
import subprocess
import sys
import urllib.request

import pytest
# test_faults, test_api_* and test_registry_mirror import these from here too
from registry_server import REGISTRY, Registry, free_port, htpasswd_line  # noqa: F401

from dockyard.engine import Engine
from dockyard.engine.errors import ContentError, ImageNotFound, Unauthorized
from dockyard.engine.image.blobs import sha256_digest
from dockyard.engine.registry.client import RegistryClient
from dockyard.engine.registry.pull import DOCKER_MANIFEST, OCI_INDEX

pytestmark = pytest.mark.skipif(not os.path.exists(REGISTRY),
                                reason="needs docker-registry (apt-get install docker-registry)")


def run(engine, image, cmd):
    return engine.containers.run(image, ["sh", "-c", cmd], remove=True, network="none").decode()


@pytest.fixture
def registry(tmp_path):
    reg = Registry(tmp_path / "registry-open")
    yield reg
    reg.stop()


@pytest.fixture
def auth_registry(tmp_path):
    reg = Registry(tmp_path / "registry-auth", users={"alice": "s3cret"})
    yield reg
    reg.stop()


@pytest.fixture
def engine(data_root):
    engine = Engine(data_root)
    engine.images.bootstrap("busybox")
    return engine


def nothing_half_written(engine):
    """Temp blobs, temp snapshots, load dirs: what a failed pull or load must not leave."""
    found = [p.name for p in (engine.root / "blobs" / "sha256").glob(".tmp-*")]
    snaps = engine.root / "snapshots"
    if snaps.is_dir():
        found += [n for n in os.listdir(snaps) if n.startswith((".tmp-", ".trash-"))]
    found += [p.name for p in engine.root.glob(".load-*")]
    return found


def test_push_built_image_remove_pull_back_and_run(engine, registry, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "msg").write_text("from the registry\n")
    built = engine.images.build("FROM busybox\nCOPY msg /msg\nCMD [\"cat\", \"/msg\"]\n",
                                context=ctx, tag="app:1")
    base, app = f"{registry.address}/busybox:1", f"{registry.address}/team/app:1"
    engine.images.tag("busybox", base)
    engine.images.tag("app:1", app)
    events = []
    # Chunked upload: PATCHes of 256 kB, then the PUT; the ~1 MB busybox layer takes several.
    pushed = engine.images.push(base, on_event=events.append, chunk_size=256 * 1024)
    layer = [(e["status"], e.get("current")) for e in events if e["type"] == "layer"]
    assert layer[:2] == [("preparing", None), ("uploading", 0)] and layer[-1][0] == "done"
    assert len([s for s, current in layer if current]) >= 4
    # The app's base layer is mounted from the busybox repository; the rest is uploaded whole.
    events.clear()
    pushed_app = engine.images.push(app, on_event=events.append)
    statuses = [(e["type"], e["status"]) for e in events if e["type"] != "pushed"]
    assert statuses == [("layer", "preparing"), ("layer", "preparing"), ("layer", "mounted"),
                        ("layer", "uploading"), ("layer", "done"), ("config", "uploading"),
                        ("config", "done")]
    assert {e["layer"] for e in events if e["type"] == "layer"} == {
        layer.diff_id for layer in engine.images.get(app).layers}
    assert engine.images.inspect(app) and pushed_app["digest"].startswith("sha256:")

    for ref in (app, "app:1", base):
        engine.images.remove(ref)
    with pytest.raises(ImageNotFound):
        engine.images.get(app)
    events.clear()
    pulled = engine.images.pull(app, on_event=events.append)
    assert pulled.id == built.id
    assert pulled.manifest_digest == pushed_app["digest"]
    layer_events = [(e["digest"], e["status"]) for e in events if e["type"] == "layer"]
    assert layer_events[0][1] == "exists"               # busybox's layer stayed local
    assert layer_events[-1][1] == "done"
    assert events[-1]["type"] == "pulled" and events[-1]["digest"] == pushed_app["digest"]
    assert run(engine, app, "cat /msg") == "from the registry\n"
    assert engine.images.inspect(app)["RepoDigests"] == [f"{registry.address}/team/app@"
                                                         f"{pushed_app['digest']}"]
    again = []
    engine.images.pull(app, on_event=again.append)
    assert again[-1]["status"] == "up to date"
    assert {e["status"] for e in again if e["type"] == "layer"} == {"exists"}
    assert pushed["digest"] != pushed_app["digest"]


def test_skopeo_reads_what_we_pushed(engine, registry):
    ref = f"{registry.address}/busybox:skopeo"
    engine.images.tag("busybox", ref)
    pushed = engine.images.push(ref)
    out = subprocess.run(["skopeo", "inspect", "--tls-verify=false", f"docker://{ref}"],
                         capture_output=True, text=True, check=True).stdout
    info = json.loads(out)
    image = engine.images.get(ref)
    assert info["Digest"] == pushed["digest"]
    # The layer was made here, unpacked: the push made its gzip blob, kept for the next push.
    assert info["Layers"] == [engine.store.compressed_layer(layer, "gzip")["digest"]
                              for layer in image.layers]
    config = json.loads(subprocess.run(
        ["skopeo", "inspect", "--config", "--tls-verify=false", f"docker://{ref}"],
        capture_output=True, text=True, check=True).stdout)
    assert config["rootfs"]["diff_ids"] == [layer.diff_id for layer in image.layers]


def test_pull_by_digest_into_a_fresh_root(engine, registry, fresh):
    ref = f"{registry.address}/busybox:1"
    engine.images.tag("busybox", ref)
    digest = engine.images.push(ref)["digest"]
    by_digest = f"{registry.address}/busybox@{digest}"
    image = fresh.images.pull(by_digest)
    assert image.id == engine.images.get("busybox").id and image.tags == ()
    assert fresh.images.get(by_digest).id == image.id
    assert run(fresh, by_digest, "echo ok") == "ok\n"
    missing = f"{registry.address}/busybox@sha256:{'0' * 64}"
    with pytest.raises(ImageNotFound, match="manifest unknown"):
        fresh.images.pull(missing)


def put_manifest(registry, repo, tag, document: dict, media_type: str) -> str:
    data = json.dumps(document).encode()
    client = RegistryClient(registry.address)
    client.put_manifest(repo, tag, data, media_type, client.scope(repo, "pull,push"))
    return sha256_digest(data)


def test_pull_docker_schema2_and_an_index_picks_this_platform(engine, registry, fresh):
    from dockyard.engine.image.model import host_architecture
    ref = f"{registry.address}/multi:oci"
    engine.images.tag("busybox", ref)
    pushed = engine.images.push(ref)
    image = engine.images.get(ref)
    manifest = json.loads(engine.store.blobs.read(pushed["digest"]))    # as pushed: gzip
    docker = {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
              "config": {**manifest["config"],
                         "mediaType": "application/vnd.docker.container.image.v1+json"},
              "layers": [{**layer, "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip"}
                         for layer in manifest["layers"]]}
    docker_digest = put_manifest(registry, "multi", "docker", docker, DOCKER_MANIFEST)
    other = "arm64" if host_architecture() != "arm64" else "amd64"
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": DOCKER_MANIFEST, "digest": docker_digest,
         "size": len(json.dumps(docker)), "platform": {"os": "linux", "architecture": other}},
        {"mediaType": manifest["mediaType"], "digest": pushed["digest"],
         "size": pushed["size"], "platform": {"os": "linux", "architecture": host_architecture()}},
    ]}
    index_digest = put_manifest(registry, "multi", "index", index, OCI_INDEX)

    from_docker = fresh.images.pull(f"{registry.address}/multi:docker")
    assert from_docker.id == image.id and from_docker.manifest_digest == docker_digest
    layout = json.loads((fresh.root / "index.json").read_text())["manifests"]
    assert [(m["digest"], m["mediaType"]) for m in layout] == [(docker_digest, DOCKER_MANIFEST)]
    events = []
    from_index = fresh.images.pull(f"{registry.address}/multi:index", on_event=events.append)
    assert from_index.manifest_digest == pushed["digest"]      # this host's entry
    assert events[-1]["digest"] == index_digest                 # RepoDigests name the index
    assert run(fresh, f"{registry.address}/multi:index", "echo ok") == "ok\n"
    by_index = f"{registry.address}/multi@{index_digest}"      # pinned to the index
    assert fresh.images.pull(by_index).id == from_index.id
    assert fresh.images.get(by_index).id == from_index.id
    assert run(fresh, by_index, "echo pinned") == "pinned\n"
    assert by_index in fresh.images.inspect(by_index)["RepoDigests"]
    with pytest.raises(Exception, match="no matching manifest for linux/s390x"):
        fresh.images.pull(f"{registry.address}/multi:index", platform="linux/s390x")


def test_basic_auth_login_logout(engine, auth_registry):
    ref = f"{auth_registry.address}/private/busybox:1"
    engine.images.tag("busybox", ref)
    with pytest.raises(Unauthorized) as info:
        engine.images.push(ref)
    assert "\n" not in str(info.value) and "dockyard login" in str(info.value)
    with pytest.raises(Unauthorized, match="incorrect username or password"):
        engine.images.login(auth_registry.address, "alice", "wrong")
    assert not (engine.root / "auth.json").exists()
    engine.images.login(auth_registry.address, "alice", "s3cret")
    assert (engine.root / "auth.json").stat().st_mode & 0o777 == 0o600
    engine.images.push(ref)
    engine.images.remove(ref)
    assert engine.images.pull(ref).id == engine.images.get("busybox").id
    assert engine.images.logout(auth_registry.address) is True
    assert engine.images.logout(auth_registry.address) is False
    with pytest.raises(Unauthorized):
        engine.images.pull(ref)


def test_corrupt_blob_on_the_registry_leaves_nothing(engine, registry, fresh):
    ref = f"{registry.address}/busybox:bad"
    engine.images.tag("busybox", ref)
    pushed = engine.images.push(ref)
    layer = json.loads(engine.store.blobs.read(pushed["digest"]))["layers"][0]
    data = registry.blob_file(layer["digest"])
    blob = bytearray(data.read_bytes())
    blob[len(blob) // 2] ^= 0xFF                     # same length, other content
    data.write_bytes(bytes(blob))
    with pytest.raises(ContentError, match=layer["digest"]):
        fresh.images.pull(ref)
    assert nothing_half_written(fresh) == []
    assert fresh.store.blobs.digests() == []
    assert fresh.images.list() == []
    assert fresh.store.snapshots.chains() == []


def cli(root, *args, stdin=None):
    return subprocess.run([sys.executable, "-m", "dockyard.engine.cli", "--data-root", str(root),
                           *args], input=stdin, capture_output=True, text=True, timeout=60)


def test_cli_push_pull_login_logout(engine, auth_registry):
    ref = f"{auth_registry.address}/cli/busybox:1"
    engine.images.tag("busybox", ref)
    denied = cli(engine.root, "push", ref)
    assert denied.returncode == 1
    assert denied.stderr.count("\n") == 1 and denied.stderr.startswith("Error: ")
    bad = cli(engine.root, "login", "-u", "alice", "--password-stdin", auth_registry.address,
              stdin="nope\n")
    assert bad.returncode == 1 and "incorrect username or password" in bad.stderr
    ok = cli(engine.root, "login", "-u", "alice", "--password-stdin", auth_registry.address,
             stdin="s3cret\n")
    assert ok.returncode == 0 and ok.stdout == "Login Succeeded\n"
    push = cli(engine.root, "push", ref)
    assert push.returncode == 0, push.stderr
    lines = push.stdout.splitlines()
    assert lines[0] == f"The push refers to repository [{auth_registry.address}/cli/busybox]"
    assert lines[-1].startswith("1: digest: sha256:") and "Pushed" in push.stdout
    engine.images.remove(ref)
    pull = cli(engine.root, "pull", ref)
    assert pull.returncode == 0, pull.stderr
    assert pull.stdout.splitlines()[0] == "1: Pulling from cli/busybox"
    assert ": Already exists" in pull.stdout and pull.stdout.endswith(f"{ref}\n")
    out = cli(engine.root, "logout", auth_registry.address)
    assert out.stdout == f"Removing login credentials for {auth_registry.address}\n"
    assert cli(engine.root, "pull", ref).returncode == 1


def test_run_pulls_a_missing_image_as_docker_does(engine, registry, fresh):
    engine.images.tag("busybox", f"{registry.address}/lib/runme:1")
    engine.images.push(f"{registry.address}/lib/runme:1")
    ref = f"{registry.address}/lib/runme:1"
    proc = subprocess.run([sys.executable, "-m", "dockyard.engine.cli", "--data-root", str(fresh.root),
                           "run", "--rm", "--network", "none", ref, "echo", "pulled and ran"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "pulled and ran\n"
    assert f"Unable to find image '{ref}' locally" in proc.stderr and "Pull complete" in proc.stderr
    assert fresh.images.get(ref).id == engine.images.get(ref).id
    # --pull never refuses to fetch; the API pulls like docker-py's run does
    fresh.images.remove(ref)
    proc = subprocess.run([sys.executable, "-m", "dockyard.engine.cli", "--data-root", str(fresh.root),
                           "run", "--rm", "--pull", "never", ref, "true"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 125 and proc.stderr.startswith("Error: No such image")
    assert fresh.containers.run(ref, ["echo", "api"], remove=True, network="none") == b"api\n"


def test_cli_pull_says_up_to_date_only_when_the_name_already_meant_the_image(engine, registry):
    ref = f"{registry.address}/cli/uptodate:1"
    engine.images.tag("busybox", ref)
    engine.images.push(ref)
    engine.images.remove(ref)                 # the image stays (busybox), the name is gone
    first = cli(engine.root, "pull", ref)
    assert first.returncode == 0, first.stderr
    assert f"Status: Downloaded newer image for {ref}" in first.stdout
    again = cli(engine.root, "pull", ref)
    assert f"Status: Image is up to date for {ref}" in again.stdout


def test_zstd_push_is_read_back_by_a_pull_and_reused_by_the_next_push(engine, registry, fresh):
    ref = f"{registry.address}/zstd/busybox:1"
    engine.images.tag("busybox", ref)
    pushed = engine.images.push(ref, compression="zstd")
    manifest = json.loads(engine.store.blobs.read(pushed["digest"]))
    assert [d["mediaType"] for d in manifest["layers"]] == [
        "application/vnd.oci.image.layer.v1.tar+zstd"]
    blob = registry.blob_file(manifest["layers"][0]["digest"]).read_bytes()
    assert blob[:4] == b"\x28\xb5\x2f\xfd"                     # a zstd frame
    other, again = f"{registry.address}/zstd/other:1", []
    engine.images.tag("busybox", other)
    engine.images.push(other, compression="zstd", on_event=again.append)
    assert manifest["layers"][0]["digest"] in {e["digest"] for e in again}   # kept, not redone
    image = fresh.images.pull(ref)
    assert image.id == engine.images.get("busybox").id
    assert run(fresh, ref, "echo zstd") == "zstd\n"
    # As Docker: the blob's digest is kept, not its bytes; a push of the pulled image to
    # another repository of that registry mounts it instead of compressing again.
    assert sorted(fresh.store.blobs.digests()) == sorted([image.manifest_digest, image.id])
    third, events = f"{registry.address}/zstd/third:1", []
    fresh.images.tag(ref, third)
    assert fresh.images.push(third, on_event=events.append)["digest"] == pushed["digest"]
    assert [e["status"] for e in events if e["type"] == "layer"] == ["preparing", "mounted"]


def test_several_layers_download_at_once_through_one_client(engine, registry, fresh):
    """Four layers missing: pull fetches three at a time over one client's connections (the
    http.client transport shared one socket between threads and failed here)."""
    engine.images.build("FROM busybox\nRUN echo 1 > /one\nRUN echo 2 > /two\n"
                        "RUN echo 3 > /three\n", context=None, tag="layers:1")
    ref = f"{registry.address}/layers:1"
    engine.images.tag("layers:1", ref)
    engine.images.push(ref)
    events = []
    image = fresh.images.pull(ref, on_event=events.append)
    assert len(image.layers) == 4
    assert [e["status"] for e in events if e["type"] == "layer"].count("done") == 4
    assert run(fresh, ref, "cat /one /two /three") == "1\n2\n3\n"


def test_push_and_pull_platform_of_a_single_platform_image(engine, registry, fresh):
    from dockyard.engine.image.model import host_architecture
    ref = f"{registry.address}/plat:1"
    engine.images.tag("busybox", ref)
    other = "s390x" if host_architecture() != "s390x" else "amd64"
    cli = [sys.executable, "-m", "dockyard.engine.cli", "--data-root", str(engine.root)]
    refused = subprocess.run([*cli, "push", "--platform", f"linux/{other}", ref],
                             capture_output=True, text=True)
    assert refused.returncode == 1 and refused.stderr == (
        f"Error: image with reference {ref} was found but does not match the specified "
        f"platform: wanted linux/{other}, actual: linux/{host_architecture()}\n")
    with pytest.raises(ImageNotFound):                        # nothing went to the registry
        fresh.images.pull(ref)
    engine.images.push(ref, platform=f"linux/{host_architecture()}")
    with pytest.raises(ImageNotFound, match=f"wanted linux/{other}, actual"):
        fresh.images.pull(ref, platform=other)
    assert fresh.images.list() == [] and nothing_half_written(fresh) == []
    assert fresh.images.pull(ref, platform=host_architecture()).id == \
        engine.images.get(ref).id
