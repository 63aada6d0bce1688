"""Pure parts of the registry client: challenges, credentials file, platform choice, messages."""
import json

import pytest

from dockyard.engine.errors import (ContentError, ImageNotFound, InvalidArgument, RegistryError,
                                    Unauthorized)
from dockyard.engine.registry import auth
from dockyard.engine.registry.client import (RegistryClient, insecure_registries,
                                             registry_message, registry_mirrors)
from dockyard.engine.image.store import ImageStore
from dockyard.engine.image.platform import check, choose as choose_platform, parse
from dockyard.engine.registry.pull import _image_named


def test_parse_bearer_and_basic_challenges():
    scheme, params = auth.parse_challenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/busybox:pull"')
    assert scheme == "bearer"
    assert params == {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                      "scope": "repository:library/busybox:pull"}
    assert auth.parse_challenge('Basic realm="my \\"realm\\""') == ("basic", {"realm": 'my "realm"'})


def test_server_keys_follow_docker_config_json():
    assert auth.server_key("docker.io") == auth.DOCKER_HUB_KEY
    assert auth.server_key("https://index.docker.io/v1/") == auth.DOCKER_HUB_KEY
    assert auth.server_key("http://127.0.0.1:5000/v2/") == "127.0.0.1:5000"
    assert auth.registry_domain("index.docker.io") == "docker.io"
    with pytest.raises(InvalidArgument):
        auth.server_key("https://")


def test_credentials_file_is_private_and_round_trips(tmp_path):
    assert auth.credentials(tmp_path, "r.example:5000") is None
    auth.save_credentials(tmp_path, "r.example:5000", "me", "p:ss")
    auth.save_credentials(tmp_path, "docker.io", "hub", "x")
    path = tmp_path / "auth.json"
    assert path.stat().st_mode & 0o777 == 0o600
    data = json.loads(path.read_text())
    assert set(data["auths"]) == {"r.example:5000", auth.DOCKER_HUB_KEY}
    assert auth.credentials(tmp_path, "https://r.example:5000") == ("me", "p:ss")
    assert auth.remove_credentials(tmp_path, "r.example:5000") is True
    assert auth.remove_credentials(tmp_path, "r.example:5000") is False
    assert auth.credentials(tmp_path, "index.docker.io") == ("hub", "x")
    assert [p.name for p in tmp_path.iterdir()] == ["auth.json"]        # no temp file left
    with pytest.raises(InvalidArgument):
        auth.save_credentials(tmp_path, "r", "a:b", "c")


def test_a_corrupt_credentials_file_is_one_clear_error(tmp_path):
    (tmp_path / "auth.json").write_text("{nope")
    with pytest.raises(ContentError, match="auth.json is not valid JSON"):
        auth.credentials(tmp_path, "docker.io")


def test_choose_platform_picks_os_arch_and_variant():
    entries = [{"digest": "a", "platform": {"os": "linux", "architecture": "arm",
                                            "variant": "v6"}},
               {"digest": "b", "platform": {"os": "linux", "architecture": "arm",
                                            "variant": "v7"}},
               {"digest": "c", "platform": {"os": "linux", "architecture": "amd64"}},
               {"digest": "d", "platform": {"os": "windows", "architecture": "amd64"}}]
    assert choose_platform(entries, "linux/arm/v7", "x")["digest"] == "b"
    assert choose_platform(entries, "linux/amd64", "x")["digest"] == "c"
    assert choose_platform(entries, "windows/amd64", "x")["digest"] == "d"
    with pytest.raises(RegistryError, match="no matching manifest for linux/riscv64"):
        choose_platform(entries, "linux/riscv64", "x")
    assert choose_platform(entries, "x86_64", "x")["digest"] == "c"      # linux/amd64
    assert choose_platform([{"digest": "bare"}] + entries, "amd64", "x")["digest"] == "c"


def test_platforms_parse_as_docker_reads_them_and_check_an_image():
    assert str(parse("arm64")) == "linux/arm64" and str(parse("linux/aarch64/v8")) == \
        "linux/arm64/v8"
    assert parse(None).os == "linux"
    for bad in ("linux/", "a/b/c/d", "/amd64"):
        with pytest.raises(InvalidArgument, match="invalid platform"):
            parse(bad)
    config = {"os": "linux", "architecture": "arm64"}
    check(config, "linux/arm64/v8", "x")                # arm64's v8 is arm64
    check(config, None, "x")
    with pytest.raises(ImageNotFound, match="^image with reference x was found but does not "
                                            "match the specified platform: wanted linux/amd64, "
                                            "actual: linux/arm64$"):
        check(config, "linux/amd64", "x")


def test_registry_messages_are_one_line():
    body = json.dumps({"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown",
                                   "detail": {"Tag": "x"}}]}).encode()
    assert registry_message(body, "fallback") == "manifest unknown: manifest unknown"
    assert registry_message(b"<html>502</html>", "GET answered 502") == "GET answered 502"


def test_scheme_and_insecure_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKYARD_INSECURE_REGISTRIES", "a.example:5000, b.example")
    (tmp_path / "registries.json").write_text('{"insecure-registries": ["c.example"]}')
    assert insecure_registries(tmp_path) == {"a.example:5000", "b.example", "c.example"}
    assert RegistryClient("c.example", root=tmp_path).insecure is True
    assert RegistryClient("d.example", root=tmp_path).insecure is False
    assert RegistryClient("localhost:5000").plain and RegistryClient("127.0.0.1:1").plain
    assert not RegistryClient("c.example", root=tmp_path).plain     # HTTPS first, unchecked
    assert RegistryClient("docker.io").host == "registry-1.docker.io"


def test_mirrors_come_from_the_engine_the_environment_and_registries_json(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKYARD_REGISTRY_MIRRORS", "https://env.example, http://both.example")
    (tmp_path / "registries.json").write_text(
        '{"registry-mirrors": ["http://both.example", "https://file.example"]}')
    assert registry_mirrors(tmp_path, {"registry-mirrors": ["http://daemon.example:5000"]}) == [
        "http://daemon.example:5000", "https://env.example", "http://both.example",
        "https://file.example"]
    mirror = RegistryClient("docker.io", root=tmp_path, endpoint="http://daemon.example:5000")
    assert (mirror.host, mirror.plain, mirror.domain) == ("daemon.example:5000", True,
                                                          "docker.io")
    secure = RegistryClient("docker.io", endpoint="mirror.example")
    assert (secure.endpoint, secure.plain, secure.insecure) == ("https://mirror.example",
                                                                False, False)
    for bad in ("ftp://m.example", "https://m.example/v2/", "http://"):
        with pytest.raises(InvalidArgument, match="invalid registry mirror"):
            RegistryClient("docker.io", endpoint=bad)


def test_basic_challenge_without_credentials_is_unauthorized():
    client = RegistryClient("127.0.0.1:9")
    client._challenge = ("basic", {"realm": "r"})
    with pytest.raises(Unauthorized, match="dockyard login 127.0.0.1:9"):
        client._authorization("repository:x:pull")


def test_image_named_is_none_only_when_the_store_has_no_such_image(data_root, tmp_path):
    store = ImageStore(data_root)
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "f").write_bytes(b"x")
    layer = store.add_layer_from_dir(tmp_path / "base", None, epoch=0)
    image = store.create_image({"created": "2024-01-01T00:00:00Z", "config": {}}, [layer])
    store.tag(image.id, "named:1")
    assert _image_named(store, "named:1") == image.id
    assert _image_named(store, "other:1") is None
    store.blobs.path(image.id).write_bytes(b"{}")          # a corrupt config is no "not here yet"
    with pytest.raises(ContentError):
        _image_named(ImageStore(data_root), "named:1")


def test_push_compression_comes_from_the_flag_the_environment_or_registries_json(
        tmp_path, monkeypatch):
    from dockyard.engine.registry.push import compression_setting
    monkeypatch.delenv("DOCKYARD_COMPRESSION", raising=False)
    assert compression_setting(tmp_path) == "gzip"
    (tmp_path / "registries.json").write_text('{"compression": "zstd"}')
    assert compression_setting(tmp_path) == "zstd"
    monkeypatch.setenv("DOCKYARD_COMPRESSION", "gzip")
    assert compression_setting(tmp_path) == "gzip"
    assert compression_setting(tmp_path, "zstd") == "zstd"
    with pytest.raises(InvalidArgument, match="use gzip or zstd"):
        compression_setting(tmp_path, "brotli")
