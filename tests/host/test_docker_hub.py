"""Docker Hub's flow against a local stand-in: Debian's docker-registry behind a small front
that speaks Hub's way (a bearer token service, `library/` names, pull-rate headers, 429).

dockyard reaches it as a Docker Hub mirror ($DOCKYARD_REGISTRY_MIRRORS), so `python:3.12-slim`
and `FROM python:3.12` go through the same code as on a machine that reaches Docker Hub.
"""
import http.client
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from dockyard.engine import Engine
from dockyard.engine.errors import RegistryError
from dockyard.engine.image.model import host_architecture
from dockyard.engine.registry.pull import OCI_INDEX

from test_registry import Registry, put_manifest

LIMIT = 100
TOO_MANY = {"errors": [{"code": "TOOMANYREQUESTS", "message": "You have reached your pull "
                        "rate limit. You may increase the limit by authenticating and upgrading"}]}


class Hub(ThreadingHTTPServer):
    """The front: /token issues bearer tokens; /v2/ wants one, counts manifest pulls, proxies."""

    daemon_threads = True

    def __init__(self, upstream: str):
        super().__init__(("127.0.0.1", 0), HubHandler)
        self.upstream, self.token = upstream, secrets.token_hex(16)
        self.remaining, self.token_requests, self.paths = LIMIT, [], []
        self.address = f"127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()


class HubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        hub, url = self.server, urlsplit(self.path)
        if url.path == "/token":
            hub.token_requests.append(parse_qs(url.query))
            return self._reply(200, json.dumps({"token": hub.token, "access_token": hub.token,
                                                "expires_in": 300}).encode())
        if self.headers.get("Authorization") != f"Bearer {hub.token}":
            return self._reply(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', {
                "WWW-Authenticate": f'Bearer realm="http://{hub.address}/token",'
                                    'service="registry.docker.io"'})
        hub.paths.append(url.path)
        extra = {}
        if "/manifests/" in url.path:
            if hub.remaining == 0:
                return self._reply(429, json.dumps(TOO_MANY).encode(), {
                    "ratelimit-limit": f"{LIMIT};w=21600", "ratelimit-remaining": "0;w=21600"})
            hub.remaining -= self.command == "GET"
            extra = {"ratelimit-limit": f"{LIMIT};w=21600",
                     "ratelimit-remaining": f"{hub.remaining};w=21600"}
        conn = http.client.HTTPConnection(hub.upstream, timeout=30)
        conn.request(self.command, self.path, headers={
            k: v for k, v in self.headers.items() if k.lower() in ("accept", "range")})
        up = conn.getresponse()
        body = up.read()
        conn.close()
        headers = {k: v for k, v in up.getheaders() if k.lower() in (
            "content-type", "docker-content-digest", "etag")}
        self._reply(up.status, body if self.command == "GET" else b"", {**headers, **extra},
                    length=len(body))

    do_HEAD = do_GET

    def _reply(self, status, body, headers=None, length=None):
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


@pytest.fixture
def hub(tmp_path, monkeypatch, engine):
    """busybox published upstream as library/python:3.12-slim and, in an index with another
    platform, library/python:3.12; the Hub front as dockyard's Docker Hub mirror."""
    upstream = Registry(tmp_path / "upstream")
    ref = f"{upstream.address}/library/python:3.12-slim"
    engine.images.tag("busybox", ref)
    pushed = engine.images.push(ref)
    engine.images.build("FROM busybox\nRUN echo other > /other\n", context=None,
                        tag=f"{upstream.address}/library/python:other-platform")
    decoy = engine.images.push(f"{upstream.address}/library/python:other-platform")
    media_type = json.loads(engine.store.blobs.read(
        engine.images.get(ref).manifest_digest))["mediaType"]
    other = "arm64" if host_architecture() != "arm64" else "amd64"
    put_manifest(upstream, "library/python", "3.12", {
        "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            {"mediaType": media_type, "digest": decoy["digest"], "size": decoy["size"],
             "platform": {"os": "linux", "architecture": other}},
            {"mediaType": media_type, "digest": pushed["digest"], "size": pushed["size"],
             "platform": {"os": "linux", "architecture": host_architecture()}}]}, OCI_INDEX)
    front = Hub(upstream.address)
    monkeypatch.setenv("DOCKYARD_REGISTRY_MIRRORS", f"http://{front.address}")
    yield front
    front.shutdown()
    upstream.stop()


@pytest.fixture
def engine(tmp_path):
    engine = Engine(tmp_path / "root")
    engine.images.bootstrap("busybox")
    return engine


def test_docker_hub_names_tokens_and_the_platform_of_an_index(hub, tmp_path):
    fresh = Engine(tmp_path / "fresh")
    image = fresh.images.pull("python:3.12-slim")
    assert "docker.io/library/python:3.12-slim" in image.tags
    scopes = {q["scope"][0] for q in hub.token_requests}
    assert scopes == {"repository:library/python:pull"}
    assert all(q["service"] == ["registry.docker.io"] for q in hub.token_requests)
    assert "/v2/library/python/manifests/3.12-slim" in hub.paths

    built = fresh.images.build("FROM python:3.12\nRUN echo built > /built\n", context=None,
                               tag="app:1")
    assert fresh.containers.run("app:1", ["cat", "/built"], remove=True,
                                network="none") == b"built\n"
    # the index's entry for this host's platform: busybox itself, not the other build
    assert fresh.images.get("python:3.12").id == image.id
    assert "docker.io/library/python:3.12" in fresh.images.get("python:3.12").tags
    assert built.id != image.id


def test_the_pull_rate_limit_is_one_clear_line(hub, tmp_path):
    hub.remaining = 0
    notes = []
    # A mirror that refuses is passed over, as Docker does (then Hub itself, out of reach
    # here); its refusal is one note naming Hub's pull-rate headers.
    with pytest.raises(RegistryError):
        Engine(tmp_path / "fresh").images.pull("python:3.12-slim", on_event=notes.append)
    (note,) = [e["message"] for e in notes if e.get("type") == "note"]
    assert "toomanyrequests: You have reached your pull rate limit" in note
    assert note.endswith("(pull rate limit: 0 of 100 pulls left per 6 h; `dockyard login` "
                         "raises it)")
