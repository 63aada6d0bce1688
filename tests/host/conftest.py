"""Engines for the host tests: a shared one per module, and a fresh empty one per test."""
import pytest

from dockyard.engine import Engine


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """An engine with the busybox image, shared by one test module; its containers and
    networks go with it."""
    engine = Engine(tmp_path_factory.mktemp("engine") / "root")
    engine.images.bootstrap("busybox")
    yield engine
    for container in engine.containers.list(all=True):
        container.remove(force=True)
    engine.networks.teardown()


@pytest.fixture
def fresh(tmp_path):
    """An engine on an empty data root (no images): where a pull or load lands."""
    return Engine(tmp_path / "fresh-root")

