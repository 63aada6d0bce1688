"""docker-py's high-level API against `dockyard daemon`."""
import io
import os
import tarfile

import pytest

from api_daemon import Daemon

docker = pytest.importorskip("docker")


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    with Daemon(tmp_path_factory.mktemp("api-py")) as d:
        yield d


@pytest.fixture(scope="module")
def client(daemon):
    client = docker.DockerClient(base_url=f"unix://{daemon.sock}")   # asks /version
    yield client
    client.close()


def test_version_and_ping(client):
    assert client.ping() is True
    assert client.api.api_version == "1.47"
    assert client.version()["Platform"]["Name"] == "dockyard"


def test_run_returns_output_and_raises_on_failure(client):
    assert client.containers.run("busybox", ["echo", "hi"], remove=True) == b"hi\n"
    with pytest.raises(docker.errors.ContainerError) as failed:
        client.containers.run("busybox", ["sh", "-c", "echo out; echo err >&2; exit 3"],
                              remove=True)
    assert failed.value.exit_status == 3 and b"err" in failed.value.stderr
    with pytest.raises(docker.errors.ImageNotFound):
        client.containers.create("no-such-image:1", ["true"])


def test_detached_container_list_get_exec_logs(client):
    c = client.containers.run("busybox", ["sh", "-c", "echo started; sleep 1000"], detach=True,
                              name="py-sleeper", labels={"suite": "docker-py"},
                              environment={"GREETING": "hello"})
    try:
        assert c.status in ("created", "running")
        c.reload()
        assert c.status == "running" and c.name == "py-sleeper"
        assert [x.name for x in client.containers.list(filters={"label": "suite=docker-py"})] \
            == ["py-sleeper"]
        assert client.containers.get("py-sleeper").id == c.id
        assert c.exec_run(["sh", "-c", "echo $GREETING"]) == (0, b"hello\n")
        assert c.exec_run(["sh", "-c", "echo o; echo e >&2; exit 2"], demux=True) == \
            (2, (b"o\n", b"e\n"))
        assert c.logs() == b"started\n"
        assert "sleep 1000" in " ".join(p[-1] for p in c.top()["Processes"])
        stats = c.stats(stream=False)
        assert stats["memory_stats"]["usage"] > 0 and stats["pids_stats"]["current"] >= 1
        stream = c.stats(stream=True, decode=True)
        first, second = next(stream), next(stream)
        assert second["precpu_stats"] == first["cpu_stats"]
        stream.close()
        c.stop(timeout=1)
        c.reload()
        assert c.status == "exited"
        assert c.wait()["StatusCode"] == 137
    finally:
        c.remove(force=True)
    with pytest.raises(docker.errors.NotFound):
        client.containers.get("py-sleeper")


def test_put_and_get_archive(client):
    c = client.containers.run("busybox", ["sleep", "1000"], detach=True)
    try:
        data = io.BytesIO()
        with tarfile.open(fileobj=data, mode="w") as tar:
            info = tarfile.TarInfo("note.txt")
            info.size = 5
            tar.addfile(info, io.BytesIO(b"note\n"))
        assert c.put_archive("/tmp", data.getvalue())
        stream, stat = c.get_archive("/tmp/note.txt")
        assert stat["name"] == "note.txt" and stat["size"] == 5
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            assert tar.extractfile("note.txt").read() == b"note\n"
    finally:
        c.remove(force=True)


def test_build_list_get_remove_images(client, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN echo built > /built\n"
                                         'LABEL purpose=test\nCMD ["cat", "/built"]\n')
    image, logs = client.images.build(path=str(tmp_path), tag="pyimg:1")
    assert "pyimg:1" in image.tags and image.labels == {"purpose": "test"}
    assert any("Successfully built" in chunk.get("stream", "") for chunk in logs)
    assert client.containers.run("pyimg:1", remove=True) == b"built\n"
    assert "pyimg:1" in [t for im in client.images.list() for t in im.tags]
    assert client.images.get("pyimg:1").id == image.id
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN exit 4\n")
    with pytest.raises(docker.errors.BuildError):
        client.images.build(path=str(tmp_path))
    client.images.remove("pyimg:1")
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get("pyimg:1")


def test_push_and_pull(client, tmp_path):
    from test_registry import REGISTRY, Registry
    if not os.path.exists(REGISTRY):
        pytest.skip("needs docker-registry")
    registry = Registry(tmp_path / "registry")
    try:
        repo = f"{registry.address}/py/busybox"
        client.images.get("busybox").tag(repo, "2")
        lines = list(client.images.push(repo, tag="2", stream=True, decode=True))
        assert not [line for line in lines if "error" in line], lines
        assert any("aux" in line and line["aux"]["Tag"] == "2" for line in lines)
        client.images.remove(f"{repo}:2")
        pulled = client.images.pull(repo, tag="2")
        assert f"{repo}:2" in pulled.tags
    finally:
        registry.stop()


def test_networks_and_volumes(client):
    net = client.networks.create("pynet", labels={"k": "v"})
    vol = client.volumes.create("pyvol")
    try:
        assert client.networks.get("pynet").attrs["Labels"] == {"k": "v"}
        assert "pynet" in [n.name for n in client.networks.list(names=["pynet"])]
        c = client.containers.run("busybox", ["sleep", "1000"], detach=True, network="pynet",
                                  volumes={"pyvol": {"bind": "/data", "mode": "rw"}})
        try:
            net.reload()
            assert [x.id for x in net.containers] == [c.id]
            assert c.exec_run(["sh", "-c", "echo v > /data/f && cat /data/f"]).output == b"v\n"
            other = client.networks.create("pynet2")
            other.connect(c, aliases=["second"])
            c.reload()
            assert set(c.attrs["NetworkSettings"]["Networks"]) == {"pynet", "pynet2"}
            other.disconnect(c)
            other.remove()
        finally:
            c.remove(force=True)
        assert client.volumes.get("pyvol").attrs["Driver"] == "local"
    finally:
        net.remove()
        vol.remove()
    assert "pynet" not in [n.name for n in client.networks.list()]
    assert "pyvol" not in [v.name for v in client.volumes.list()]


def test_events_and_prune(client):
    import time
    since = time.time() - 1
    client.containers.run("busybox", ["true"], name="py-event")
    pruned = client.containers.prune()
    assert any(True for _ in pruned["ContainersDeleted"])
    events = client.events(since=since, until=time.time() + 1, decode=True,
                           filters={"container": "py-event"})
    assert [e["Action"] for e in events] == ["create", "start", "die", "destroy"]
