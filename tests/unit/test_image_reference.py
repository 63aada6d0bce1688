"""Reference normalization as Docker does it."""
import pytest

from dockyard.engine.errors import InvalidArgument
from dockyard.engine.image.reference import familiar, normalize, parse

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize("text, full", [
    ("busybox", "docker.io/library/busybox:latest"),
    ("busybox:1.36", "docker.io/library/busybox:1.36"),
    ("me/app:1", "docker.io/me/app:1"),
    ("library/busybox", "docker.io/library/busybox:latest"),
    ("docker.io/busybox", "docker.io/library/busybox:latest"),
    ("index.docker.io/me/app", "docker.io/me/app:latest"),
    ("localhost:5000/x", "localhost:5000/x:latest"),
    ("localhost/x:2", "localhost/x:2"),
    ("ghcr.io/a/b/c:v1.2-rc_3", "ghcr.io/a/b/c:v1.2-rc_3"),
    ("[::1]:5000/x", "[::1]:5000/x:latest"),
    (f"busybox@{DIGEST}", f"docker.io/library/busybox@{DIGEST}"),
    (f"busybox:1@{DIGEST}", f"docker.io/library/busybox:1@{DIGEST}"),
    ("a__b-c/e.f", "docker.io/a__b-c/e.f:latest"),
])
def test_normalize(text, full):
    assert normalize(text) == full


@pytest.mark.parametrize("full, short", [
    ("docker.io/library/busybox:latest", "busybox:latest"),
    ("docker.io/me/app:1", "me/app:1"),
    ("localhost:5000/x:latest", "localhost:5000/x:latest"),
    ("docker.io/library/a/b:1", "library/a/b:1"),
    (f"docker.io/library/busybox@{DIGEST}", f"busybox@{DIGEST}"),
])
def test_familiar(full, short):
    assert familiar(full) == short


@pytest.mark.parametrize("text, reason", [
    ("", "empty"),
    ("Busybox", "lowercase"),
    ("me/App", "lowercase"),
    ("busybox:", "tag"),
    ("busybox:-x", "tag"),
    ("busybox:" + "a" * 129, "tag"),
    ("a//b", "component"),
    ("-a", "component"),
    ("busybox@sha256:abc", "digest"),
    ("busybox@md5", "digest"),
    ("ab" * 32, "64-byte"),
    ("a" * 250 + "/" + "b" * 10, "longer"),
    ("bad host:5000/x", "registry"),
    ("a_b.io/x", "registry"),
])
def test_invalid(text, reason):
    with pytest.raises(InvalidArgument, match=reason):
        parse(text)


def test_parts():
    ref = parse("localhost:5000/team/app:v2")
    assert (ref.domain, ref.path, ref.tag, ref.digest) == ("localhost:5000", "team/app", "v2", None)
    assert ref.name == "localhost:5000/team/app"
    assert parse(f"x@{DIGEST}").tag is None
