"""Archives between dockyard and the engines that load them: `docker load` and `docker save`
through a private dockerd (Debian's), and `podman load` on a private storage root.

The dockerd gets its own data root, exec root, pidfile and socket under the test's temp dir,
no bridge, no iptables and no forwarding: it touches nothing on the host that others use, and
is stopped (with the containerd it started) at the end.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from pathlib import Path

from dockyard.engine import Engine

DOCKERD, DOCKER = "/usr/sbin/dockerd", "/usr/bin/docker"      # Debian's pair, same version


@pytest.fixture
def engine(tmp_path):
    engine = Engine(tmp_path / "root")
    engine.images.bootstrap("busybox")
    engine.images.build("FROM busybox\nRUN echo peers > /peers\nENV WHO=peers\n", context=None,
                        tag="me/app:1")
    return engine


@pytest.fixture
def short_dir():
    """A directory with a short path: containerd's socket and Podman's runroot must fit the
    limits of a unix socket path (108 bytes) and Podman's (50)."""
    path = tempfile.mkdtemp(prefix="dy-peer-")
    yield Path(path)
    shutil.rmtree(path, ignore_errors=True)


class Dockerd:
    def __init__(self, work):
        self.work, self.sock = work, work / "docker.sock"
        self.env = {**os.environ, "DOCKER_HOST": f"unix://{self.sock}",
                    "DOCKER_CONFIG": str(work / "config"), "DOCKER_CLI_HINTS": "false"}
        self.log = open(work / "dockerd.log", "wb")
        self.process = subprocess.Popen(
            [DOCKERD, "--data-root", str(work / "data"), "--exec-root", str(work / "exec"),
             "--pidfile", str(work / "dockerd.pid"), "-H", f"unix://{self.sock}",
             "--bridge", "none", "--iptables=false", "--ip6tables=false", "--ip-forward=false",
             "--ip-masq=false", "--storage-driver", "overlay2"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while self.docker("version", check=False).returncode:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError((work / "dockerd.log").read_text()[-1000:])
            time.sleep(0.2)

    def docker(self, *args, check=True) -> subprocess.CompletedProcess:
        result = subprocess.run([DOCKER, *args], env=self.env, capture_output=True, text=True,
                                timeout=120)
        assert not check or result.returncode == 0, (args, result.stderr)
        return result

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()
        with open("/proc/self/mounts") as f:        # overlay2 leaves its own mounts behind
            mounts = [line.split()[1] for line in f if f" {self.work}/" in f" {line.split()[1]}"]
        for target in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", target], capture_output=True)


@pytest.mark.skipif(not (os.path.exists(DOCKERD) and os.path.exists(DOCKER)),
                    reason="needs Debian's docker.io (bench/peers.py install)")
def test_docker_loads_what_we_save_and_we_load_what_docker_saves(engine, tmp_path, short_dir):
    ours = tmp_path / "ours.tar"
    engine.images.save(["me/app:1", "busybox"], ours, format="docker-archive")
    app, busybox = engine.images.get("me/app:1"), engine.images.get("busybox")
    dockerd = Dockerd(short_dir)
    try:
        loaded = dockerd.docker("load", "-i", str(ours)).stdout
        assert "Loaded image: me/app:1" in loaded and "Loaded image: busybox:latest" in loaded
        ids = json.loads(dockerd.docker("image", "inspect", "me/app:1", "busybox").stdout)
        assert [i["Id"] for i in ids] == [app.id, busybox.id]
        assert ids[0]["Config"]["Env"][-1] == "WHO=peers"
        dockerd.docker("tag", "me/app:1", "me/app:resaved")
        theirs = tmp_path / "theirs.tar"
        dockerd.docker("save", "-o", str(theirs), "me/app:resaved", "busybox:latest")
    finally:
        dockerd.stop()
    fresh = Engine(tmp_path / "fresh")
    loaded = fresh.images.load(str(theirs))
    assert sorted((item.image.id, item.tags) for item in loaded) == sorted([
        (app.id, ("me/app:resaved",)), (busybox.id, ("busybox:latest",))])
    assert fresh.containers.run("me/app:resaved", ["cat", "/peers"], remove=True,
                                network="none") == b"peers\n"


@pytest.mark.skipif(not shutil.which("podman"), reason="needs podman (apt-get install podman)")
def test_podman_loads_several_images_from_our_docker_archive(engine, tmp_path, short_dir):
    ours = tmp_path / "ours.tar"
    engine.images.save(["me/app:1", "busybox"], ours)
    podman = ["podman", "--root", str(short_dir / "root"), "--runroot", str(short_dir / "run"),
              "--storage-driver", "vfs"]
    try:
        subprocess.run([*podman, "load", "-i", str(ours)], capture_output=True, check=True)
        listed = subprocess.run([*podman, "images", "--no-trunc", "--format",
                                 "{{.Repository}}:{{.Tag}} {{.ID}}"], capture_output=True,
                                text=True, check=True).stdout.split("\n")
    finally:
        subprocess.run([*podman, "system", "reset", "-f"], capture_output=True)
    # Podman names a familiar name from a docker-archive localhost/..., as for `docker save`'s.
    assert sorted(filter(None, listed)) == sorted([
        f"localhost/me/app:1 {engine.images.get('me/app:1').id}",
        f"localhost/busybox:latest {engine.images.get('busybox').id}"])
