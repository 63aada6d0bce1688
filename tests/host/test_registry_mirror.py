"""Docker Hub names through a registry mirror: Debian's docker-registry as a pull-through cache
of another docker-registry that stands in for Docker Hub (no network here).

The mirror is set as an engine setting (registries.json) and as `dockyard daemon
--registry-mirror`, the way dockerd takes it; the docker CLI pulls through the daemon.
"""
import json
import os
import subprocess
import sys

import pytest

from dockyard.engine import Engine

from api_daemon import Daemon, docker_cli_problem
from test_registry import REGISTRY, Registry

pytestmark = pytest.mark.skipif(not os.path.exists(REGISTRY),
                                reason="needs docker-registry (apt-get install docker-registry)")


@pytest.fixture
def hub(tmp_path):
    """(upstream, mirror): busybox published upstream as library/busybox:latest, and a
    docker-registry proxying it. Yields the busybox image id too."""
    upstream = Registry(tmp_path / "upstream")
    mirror = Registry(tmp_path / "mirror", proxy=f"http://{upstream.address}")
    engine = Engine(tmp_path / "publisher")
    busybox = engine.images.bootstrap("busybox")
    engine.images.tag("busybox", f"{upstream.address}/library/busybox:latest")
    engine.images.push(f"{upstream.address}/library/busybox:latest")
    yield upstream, mirror, busybox.id
    mirror.stop()
    upstream.stop()


def test_a_docker_hub_name_is_pulled_through_the_mirror_in_registries_json(hub, tmp_path):
    upstream, mirror, busybox = hub
    root = tmp_path / "fresh"
    root.mkdir()
    (root / "registries.json").write_text(json.dumps(
        {"registry-mirrors": [f"http://{mirror.address}"]}))
    engine = Engine(root)
    image = engine.images.pull("busybox")
    assert image.id == busybox and image.tags == ("docker.io/library/busybox:latest",)
    [layer] = image.layers
    assert mirror.blob_file(layer.digest).exists()             # the mirror served (and cached) it
    assert engine.containers.run("busybox", ["echo", "via the mirror"], remove=True,
                                 network="none") == b"via the mirror\n"


def test_the_daemon_takes_registry_mirror_and_insecure_registry_flags(hub, tmp_path):
    problem = docker_cli_problem()
    if problem:
        pytest.skip(problem)
    upstream, mirror, busybox = hub
    flags = ["--registry-mirror", f"http://{mirror.address}",
             "--insecure-registry", "registry.example:5000"]
    with Daemon(tmp_path / "daemon", extra=flags, images=()) as daemon:
        config = json.loads(daemon.ok("info", "--format", "{{json .RegistryConfig}}"))
        assert config["Mirrors"] == [f"http://{mirror.address}"]
        assert config["IndexConfigs"]["registry.example:5000"]["Secure"] is False
        pulled = daemon.ok("pull", "busybox")
        assert "Status: Downloaded newer image for busybox:latest" in pulled
        assert daemon.ok("images", "-q", "--no-trunc", "busybox").strip() == busybox
    # The data root itself keeps no mirror: the flags belong to that daemon.
    assert Engine(tmp_path / "daemon" / "root").registry_config()["mirrors"] == []


def test_a_bad_mirror_flag_is_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "dockyard.engine.cli", "--data-root",
                             str(tmp_path), "daemon",
                             "--registry-mirror", "ftp://mirror.example"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert result.stderr.strip() == ("Error: invalid registry mirror 'ftp://mirror.example': "
                                     "use http(s)://host[:port]")
