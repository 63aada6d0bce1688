"""The image collection's registry calls go through the transport the Engine was given (here a
fake registry at registry.test; tests/host/test_registry.py runs a real one)."""
import base64
import json

import pytest

from dockyard.engine import Engine
from dockyard.engine.errors import ImageNotFound, Unauthorized
from dockyard.engine.registry.auth import credentials


class Answer:
    """What registry/transport.py's Response offers the client."""

    def __init__(self, status: int, headers: dict | None = None, data: bytes = b""):
        self.status, self.headers, self.data = status, headers or {}, data

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def body(self) -> bytes:
        return self.data

    read = body

    def close(self) -> None:
        pass


class FakeRegistry:
    """A transport answering as a registry that wants me:secret, and has a search index."""

    def __init__(self):
        self.urls: list[str] = []

    def request(self, method, url, headers=None, body=None, *, verify=True, attempts=None):
        self.urls.append(url)
        if url.endswith("/v2/"):
            good = "Basic " + base64.b64encode(b"me:secret").decode()
            return Answer(200) if (headers or {}).get("Authorization") == good else \
                Answer(401, {"WWW-Authenticate": 'Basic realm="registry.test"'})
        if "/v1/search?" in url:
            return Answer(200, data=json.dumps({"results": [{"name": "app"}]}).encode())
        return Answer(404)

    def close(self) -> None:
        pass


@pytest.fixture
def engine(data_root):
    return Engine(data_root, registry_transport=FakeRegistry())


def test_login_checks_through_the_engines_transport_then_keeps_the_credentials(engine):
    with pytest.raises(Unauthorized, match="incorrect username or password"):
        engine.images.login("registry.test", "me", "wrong")
    assert credentials(engine.root, "registry.test") is None
    engine.images.login("registry.test", "me", "secret")
    assert credentials(engine.root, "registry.test") == ("me", "secret")
    assert set(engine.registry_transport.urls) == {"https://registry.test/v2/"}


def test_search_asks_the_engines_transport(engine):
    assert engine.images.search("registry.test/app") == [{"name": "app"}]
    assert engine.registry_transport.urls == [
        "https://registry.test/v1/search?q=app&n=25"]


def test_pull_asks_the_engines_transport(engine):
    with pytest.raises(ImageNotFound, match="manifest for registry.test/app:1 not found"):
        engine.images.pull("registry.test/app:1")
    assert "https://registry.test/v2/app/manifests/1" in engine.registry_transport.urls
