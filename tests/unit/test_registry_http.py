"""The registry client's HTTP behaviour against httpx.MockTransport: auth challenges (bearer and
basic), redirects (Authorization never leaves the registry's host), retries, digest checks.

A FakeRegistry answers the distribution API from a dict of blobs and manifests and records
every request it saw, so each test states what went over the wire.
"""
import gzip
import hashlib
import io
import json
import tarfile

import httpx
import pytest

from dockyard.engine.errors import (ContentError, ImageNotFound, InvalidArgument, RegistryError,
                                     Unauthorized)
from dockyard.engine.image.store import ImageStore
from dockyard.engine.registry.client import RegistryClient
from dockyard.engine.registry.pull import pull
from dockyard.engine.registry.transport import Transport

DOMAIN = "registry.test"
TOKEN = "t0ken"
USER = ("alice", "s3cret")
BASIC = "Basic " + __import__("base64").b64encode(b"alice:s3cret").decode()


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_tar(files: dict) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


class FakeRegistry:
    """`/v2/app` with one image; `auth` is None, "basic" or "bearer"."""

    def __init__(self, auth=None, repo="app"):
        self.auth, self.seen, self.repo = auth, [], repo
        tar = layer_tar({"hello.txt": b"hello\n"})
        self.layer = gzip.compress(tar, mtime=0)
        config = json.dumps({"architecture": "amd64", "os": "linux",
                             "rootfs": {"type": "layers", "diff_ids": [digest(tar)]},
                             "config": {"Cmd": ["sh"]}}).encode()
        self.blobs = {digest(config): config, digest(self.layer): self.layer}
        self.config_digest = digest(config)
        self.manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": digest(config), "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": digest(self.layer), "size": len(self.layer)}]}).encode()
        self.routes = {}                          # path -> handler overriding the defaults

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        path = request.url.path
        if request.url.host == "auth.test":
            return self._token(request)
        if path in self.routes:
            return self.routes[path](request)
        if not self._authorized(request):
            challenge = ('Basic realm="test"' if self.auth == "basic" else
                         'Bearer realm="https://auth.test/token",service="registry.test"')
            return httpx.Response(401, headers={"WWW-Authenticate": challenge},
                                  json={"errors": [{"code": "UNAUTHORIZED",
                                                    "message": "authentication required"}]})
        if path == "/v2/":
            return httpx.Response(200, json={})
        if path.startswith(f"/v2/{self.repo}/manifests/"):
            return httpx.Response(200, content=self.manifest, headers={
                "Content-Type": "application/vnd.oci.image.manifest.v1+json",
                "Docker-Content-Digest": digest(self.manifest)})
        if path.startswith(f"/v2/{self.repo}/blobs/"):
            blob = self.blobs.get(path.rsplit("/", 1)[1])
            if blob is None:
                return httpx.Response(404, json={"errors": [{"code": "BLOB_UNKNOWN",
                                                             "message": "blob unknown"}]})
            return httpx.Response(200, content=blob)
        return httpx.Response(404)

    def _authorized(self, request) -> bool:
        given = request.headers.get("Authorization")
        if self.auth == "basic":
            return given == BASIC
        if self.auth == "bearer":
            return given == f"Bearer {TOKEN}"
        return True

    def _token(self, request):
        if request.headers.get("Authorization") != BASIC:
            return httpx.Response(401, json={"errors": [{"code": "UNAUTHORIZED",
                                                         "message": "bad credentials"}]})
        return httpx.Response(200, json={"token": TOKEN})


def mock(handler) -> Transport:
    """The network replaced by `handler`, retries without pauses."""
    return Transport(transport=httpx.MockTransport(handler), backoff=0)


def client(registry, credentials=None, **transport) -> RegistryClient:
    return RegistryClient(DOMAIN, credentials=credentials, transport=Transport(
        transport=httpx.MockTransport(registry), backoff=0, **transport))


def test_bearer_challenge_fetches_a_scoped_token_with_the_credentials(tmp_path):
    registry = FakeRegistry(auth="bearer")
    image = pull(ImageStore(tmp_path), f"{DOMAIN}/app:1", client=client(registry, USER))
    assert image.tags == (f"{DOMAIN}/app:1",)
    [token] = [r for r in registry.seen if r.url.host == "auth.test"]
    assert token.url.params.get_list("scope") == ["repository:app:pull"]
    assert token.url.params["service"] == "registry.test"
    api = [r for r in registry.seen if r.url.path.startswith("/v2/app/")]
    assert api and all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in api)


def test_bearer_token_refused_is_one_unauthorized_line():
    registry = FakeRegistry(auth="bearer")
    with pytest.raises(Unauthorized, match=r"^registry.test: unauthorized: unauthorized: bad "
                                           r"credentials$"):
        client(registry, ("alice", "wrong")).get_manifest("app", "1", ("*/*",))


def test_basic_challenge_sends_the_credentials_and_asks_for_a_login_without_them():
    registry = FakeRegistry(auth="basic")
    data, _, _ = client(registry, USER).get_manifest("app", "1", ("*/*",))
    assert data == registry.manifest
    assert registry.seen[-1].headers["Authorization"] == BASIC
    with pytest.raises(Unauthorized, match="dockyard login registry.test"):
        client(FakeRegistry(auth="basic")).get_manifest("app", "1", ("*/*",))


def test_a_redirect_to_another_host_carries_no_authorization(tmp_path):
    registry = FakeRegistry(auth="bearer")
    layer = digest(registry.layer)
    cdn = []

    def moved(request):
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer realm="https://'
                                                'auth.test/token",service="registry.test"'})
        return httpx.Response(307, headers={"Location": f"https://cdn.test/blob?sig=1"})

    def served(request):
        cdn.append(request)
        return httpx.Response(200, content=registry.layer)
    registry.routes[f"/v2/app/blobs/{layer}"] = moved
    registry.routes["/blob"] = served
    pull(ImageStore(tmp_path), f"{DOMAIN}/app:1", client=client(registry, USER))
    assert [str(r.url) for r in cdn] == ["https://cdn.test/blob?sig=1"]
    assert "Authorization" not in cdn[0].headers


def test_a_redirect_on_the_same_host_keeps_the_authorization():
    registry = FakeRegistry(auth="basic")
    registry.routes["/v2/app/manifests/old"] = lambda request: httpx.Response(
        301, headers={"Location": "/v2/app/manifests/1"})
    data, _, _ = client(registry, USER).get_manifest("app", "old", ("*/*",))
    assert data == registry.manifest
    assert registry.seen[-1].url.path == "/v2/app/manifests/1"
    assert registry.seen[-1].headers["Authorization"] == BASIC


def test_too_many_redirects_is_a_registry_error():
    registry = FakeRegistry()
    registry.routes["/v2/app/manifests/loop"] = lambda request: httpx.Response(
        302, headers={"Location": "/v2/app/manifests/loop"})
    with pytest.raises(RegistryError, match="more than 5 redirects"):
        client(registry).get_manifest("app", "loop", ("*/*",))


def test_gets_are_retried_after_a_lost_connection_or_a_503():
    registry = FakeRegistry()
    failures = [httpx.ConnectError("connection refused"), httpx.Response(503),
                httpx.ReadError("connection reset")]

    def flaky(request):
        if failures:
            failure = failures.pop(0)
            if isinstance(failure, Exception):
                raise failure
            return failure
        return httpx.Response(200, content=registry.manifest)
    registry.routes["/v2/app/manifests/1"] = flaky
    data, _, _ = client(registry, attempts=4).get_manifest("app", "1", ("*/*",))
    assert data == registry.manifest
    assert [r.url.path for r in registry.seen].count("/v2/app/manifests/1") == 4


def test_retries_end_with_one_line_naming_the_request():
    registry = FakeRegistry()
    registry.routes["/v2/app/manifests/1"] = lambda request: httpx.Response(
        503, json={"errors": [{"code": "UNAVAILABLE", "message": "try later"}]})
    with pytest.raises(RegistryError, match="^manifest for registry.test/app:1: unavailable: "
                                            "try later$"):
        client(registry).get_manifest("app", "1", ("*/*",))
    assert [r.url.path for r in registry.seen].count("/v2/app/manifests/1") == 3


def test_a_body_that_cannot_be_sent_again_is_not_retried():
    registry = FakeRegistry()
    calls = []

    def down(request):
        calls.append(request.read())
        raise httpx.ConnectError("connection refused")
    registry.routes["/v2/app/blobs/uploads/x"] = down
    stream = iter([b"abc"])                      # a generator: gone once sent
    with pytest.raises(RegistryError, match="PATCH https://registry.test/v2/app/blobs/uploads/x"
                                            ": connection refused"):
        client(registry).transport.request("PATCH", f"https://{DOMAIN}/v2/app/blobs/uploads/x",
                                           body=stream)
    assert len(calls) == 1


def test_a_file_body_is_sent_again_from_where_it_started():
    registry = FakeRegistry()
    bodies = []

    def once_down(request):
        bodies.append(request.read())
        if len(bodies) == 1:
            return httpx.Response(502)
        return httpx.Response(201)
    registry.routes["/v2/app/blobs/uploads/x"] = once_down
    body = io.BytesIO(b"headerBLOB")
    body.seek(6)
    response = client(registry).transport.request(
        "PUT", f"https://{DOMAIN}/v2/app/blobs/uploads/x", {"Content-Length": "4"}, body)
    assert response.status == 201 and bodies == [b"BLOB", b"BLOB"]


def test_a_corrupt_layer_blob_is_a_content_error_and_leaves_nothing(tmp_path):
    registry = FakeRegistry()
    layer = digest(registry.layer)
    registry.blobs[layer] = gzip.compress(layer_tar({"hello.txt": b"HELLO\n"}), mtime=0)
    store = ImageStore(tmp_path)
    with pytest.raises(ContentError, match=f"layer {layer} from registry.test/app is corrupt"):
        pull(store, f"{DOMAIN}/app:1", client=client(registry))
    assert store.list() == []
    snapshots = tmp_path / "snapshots"
    assert not snapshots.exists() or not [p for p in snapshots.iterdir() if p.name != "l"]


def test_a_manifest_that_does_not_match_its_digest_is_refused(tmp_path):
    registry = FakeRegistry()
    wanted = digest(registry.manifest + b"\n")
    with pytest.raises(ContentError, match=f"content is {digest(registry.manifest)}, "
                                           f"expected {wanted}"):
        pull(ImageStore(tmp_path), f"{DOMAIN}/app@{wanted}", client=client(registry))


def test_a_config_that_does_not_match_its_digest_is_refused(tmp_path):
    registry = FakeRegistry()
    registry.blobs[registry.config_digest] = b'{"rootfs": {"diff_ids": []}}'
    with pytest.raises(ContentError, match=f"config {registry.config_digest}"):
        pull(ImageStore(tmp_path), f"{DOMAIN}/app:1", client=client(registry))


def test_a_missing_blob_is_not_found_with_the_registry_message(tmp_path):
    registry = FakeRegistry()
    del registry.blobs[digest(registry.layer)]
    with pytest.raises(ImageNotFound, match="blob unknown"):
        pull(ImageStore(tmp_path), f"{DOMAIN}/app:1", client=client(registry))


def test_the_engine_takes_an_httpx_transport_for_its_registry_clients(tmp_path):
    from dockyard.engine import Engine
    registry = FakeRegistry()
    engine = Engine(tmp_path, registry_transport=httpx.MockTransport(registry))
    assert engine.images.pull(f"{DOMAIN}/app:1").tags == (f"{DOMAIN}/app:1",)


def test_docker_hub_names_go_to_the_mirrors_in_order_and_past_a_broken_one(tmp_path):
    from dockyard.engine import Engine
    registry = FakeRegistry(repo="library/app")
    broken = []

    def handler(request):
        if request.url.host == "broken.test":
            broken.append(request)
            return httpx.Response(503)
        return registry(request)
    engine = Engine(tmp_path, registry_transport=mock(handler), registries={
        "registry-mirrors": ["https://broken.test", "https://mirror.test:5000"]})
    notes = []
    image = engine.images.pull("app:1", on_event=notes.append)
    assert image.tags == ("docker.io/library/app:1",)
    assert {r.url.host for r in registry.seen} == {"mirror.test"}    # never Docker Hub itself
    assert broken
    [note] = [n["message"] for n in notes if n["type"] == "note"]
    assert note.startswith("mirror https://broken.test failed, trying the next: ")
    assert engine.registry_config()["mirrors"] == ["https://broken.test",
                                                   "https://mirror.test:5000"]


def test_other_registries_never_go_to_a_mirror(tmp_path):
    from dockyard.engine import Engine
    registry = FakeRegistry()
    engine = Engine(tmp_path, registry_transport=mock(registry),
                    registries={"registry-mirrors": ["https://mirror.test"]})
    engine.images.pull(f"{DOMAIN}/app:1")
    assert {r.url.host for r in registry.seen} == {DOMAIN}


def test_when_every_mirror_and_docker_hub_fail_the_hub_error_is_raised(tmp_path):
    from dockyard.engine import Engine

    def down(request):
        raise httpx.ConnectError("no route to host")
    engine = Engine(tmp_path, registry_transport=mock(down),
                    registries={"registry-mirrors": ["http://mirror.test"]})
    notes = []
    with pytest.raises(RegistryError, match="^GET https://registry-1.docker.io/v2/: no route"):
        engine.images.pull("busybox", on_event=notes.append)
    assert [n["message"] for n in notes] == ["mirror http://mirror.test failed, trying the "
                                             "next: GET http://mirror.test/v2/: no route to host"]


def test_a_whole_blob_upload_reports_its_progress_and_starts_again_when_retried():
    registry = FakeRegistry()
    blob = bytes(9 << 20)
    bodies, progress = [], []

    def once_down(request):
        bodies.append(len(request.read()))
        return httpx.Response(502 if len(bodies) == 1 else 201)
    registry.routes["/v2/app/blobs/uploads/x"] = once_down
    client(registry).upload_blob(f"https://{DOMAIN}/v2/app/blobs/uploads/x", digest(blob),
                                 io.BytesIO(blob), len(blob), "repository:app:push",
                                 on_progress=progress.append)
    assert bodies == [9 << 20, 9 << 20]
    assert progress == [4 << 20, 8 << 20, 4 << 20, 8 << 20]


def test_an_engine_given_a_bad_mirror_refuses_it_at_once(tmp_path):
    from dockyard.engine import Engine
    with pytest.raises(InvalidArgument, match="invalid registry mirror 'https://m.example/v2/'"):
        Engine(tmp_path, registries={"registry-mirrors": ["https://m.example/v2/"]})
    engine = Engine(tmp_path, registries={"registry-mirrors": ["m.example:5000"]})
    assert engine.registry_config()["mirrors"] == ["https://m.example:5000"]
