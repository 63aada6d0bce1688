"""The Engine's create/start/stop/remove logic over fake collaborators: no shim, no netlink, no
nftables (tests/host/ runs the same verbs on the real ones). What is checked here is what the
engine itself keeps: records, names, network endpoints, events, and the undo of a failed create.
"""
import json
import os

import pytest

from dockyard.engine import Engine, RunOptions
from dockyard.engine.dockerfile.imageconfig import DEFAULT_PATH
from dockyard.engine.errors import Conflict, HostError, InvalidArgument
from dockyard.engine.runtime import convert
from fakes import FakeFirewall, FakeLinks, FakeRuntime


@pytest.fixture
def engine(data_root, tmp_path):
    """An engine on fakes, with one image: app:1 (Cmd sh, Env A=1)."""
    engine = Engine(data_root, runtime=FakeRuntime(), links=FakeLinks(), firewall=FakeFirewall())
    tree = tmp_path / "layer"
    (tree / "bin").mkdir(parents=True)
    (tree / "bin" / "sh").write_bytes(b"sh")
    layer = engine.store.add_layer_from_dir(tree, None, epoch=0)
    engine.store.create_image({"config": {"Cmd": ["sh"], "Env": ["A=1"], "WorkingDir": "/srv"}},
                              [layer], tags=["app:1"])
    return engine


def names(engine) -> list[str]:
    return sorted(os.listdir(engine.root / "names"))


def actions(engine) -> list[str]:
    return [e["Action"] for e in engine.events(filters={"type": ["container"]})]


def test_create_makes_the_record_spec_name_and_endpoint(engine):
    container = engine.containers.create("app:1", ["echo", "hi"], name="web", environment=["B=2"],
                                         labels={"k": "v"})
    spec = engine.runtime.specs[str(container.bundle)]
    assert spec.args == ("echo", "hi") and spec.cwd == "/srv" and spec.hostname == container.id[:12]
    assert spec.env[:3] == (f"HOSTNAME={container.id[:12]}", "A=1", "B=2")
    assert spec.netns == engine.networks.netns_path(container.id)
    with open(container.bundle / "container.json") as f:
        assert json.load(f) == container.record
    assert container.name == "web" and container.labels == {"k": "v"} and names(engine) == ["web"]
    (endpoint,) = engine.networks.endpoints(container.id)
    assert container.attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"] == endpoint.ip
    assert container.status == "created" and actions(engine) == ["create"]


def test_start_stop_and_remove_give_everything_back(engine):
    container = engine.containers.create("app:1", name="web")
    engine.containers.start(container)
    assert container.status == "running"
    with pytest.raises(Conflict, match="container is running"):
        container.remove()
    container.stop()
    assert container.wait()["StatusCode"] == 143
    container.remove()
    assert not container.bundle.exists() and names(engine) == []
    assert engine.networks.endpoints(container.id) == []
    assert not engine.links.netns and engine.containers.list(all=True) == []
    assert actions(engine) == ["create", "stop", "destroy"]


def test_remove_force_kills_a_running_container_first(engine):
    container = engine.containers.run("app:1", detach=True, name="web")
    container.remove(force=True)
    assert actions(engine) == ["create", "kill", "destroy"] and names(engine) == []


def test_a_failed_create_leaves_no_name_endpoint_or_bundle(engine):
    engine.runtime.fail_create = HostError("bundle: no space left on device")
    with pytest.raises(HostError, match="no space left"):
        engine.containers.create("app:1", name="web")
    assert names(engine) == [] and not list((engine.root / "containers").glob("*"))
    assert not engine.links.netns and engine.networks.get("bridge").inspect()["Containers"] == {}
    assert actions(engine) == []


def test_a_taken_name_is_refused_before_anything_is_made(engine):
    first = engine.containers.create("app:1", name="web")
    with pytest.raises(Conflict, match='name "/web" is already in use'):
        engine.containers.create("app:1", name="web")
    assert names(engine) == ["web"] and engine.containers.list(all=True)[0].id == first.id
    assert len(engine.links.netns) == 1


def test_bad_flags_are_refused_before_the_image_is_looked_up(engine):
    with pytest.raises(InvalidArgument, match="Minimum memoryswap limit"):
        engine.containers.create("no-such-image", memory="64m", memory_swap="32m")
    assert not (engine.root / "names").exists()


def test_create_makes_its_spec_by_the_one_path(engine):
    options = RunOptions.from_kwargs(image="app:1", command=["echo"], name="web",
                                     mem_limit="64m", security_opt=["no-new-privileges"],
                                     ulimits=["nofile=10:20"], hostname="box", network="none")
    container = engine.containers.create_from(options)
    image = engine.images.get("app:1")
    assert engine.runtime.specs[str(container.bundle)] == convert.to_spec(
        image.config, options, id=container.id, bundle=str(container.bundle),
        snapshots_root=str(engine.store.snapshots_root), lowerdirs=engine.store.lowerdirs(image),
        hostname="box", netns="")


def test_the_builders_run_is_made_by_the_same_path(engine):
    engine.runtime.exit_on_start = 0
    engine.images.build("FROM app:1\nENV B=2\nRUN echo hi\n", tag="built")
    (spec,) = engine.runtime.created
    assert spec.args == ("/bin/sh", "-c", "echo hi") and spec.hostname == "buildkitsandbox"
    assert spec.env == ("A=1", "B=2", f"PATH={DEFAULT_PATH}") and spec.cwd == "/srv"
    assert spec.netns == "host" and spec.rlimits == () and spec.seccomp == "default"
    assert not (engine.root / "containers").exists() or not os.listdir(engine.root / "containers")
