"""A real `dockyard daemon` process for the Engine API tests, and the docker CLI against it.

    with Daemon(tmp_path) as daemon:        # a fresh data root with busybox, a private socket
        daemon.docker("run", "--rm", "busybox", "true")    # -> CompletedProcess
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from dockyard.engine import Engine

DOCKER = shutil.which("docker")


def docker_cli_problem() -> str | None:
    return None if DOCKER else "needs the docker CLI on PATH"


class Daemon:
    """`dockyard daemon` on a unix socket in `directory`, over a data root with busybox."""

    def __init__(self, directory: Path, *, hosts=(), extra=(), images=("busybox",)):
        self.directory = Path(directory)
        self.root = self.directory / "root"
        self.sock = self.directory / "api.sock"
        self.engine = Engine(self.root)
        for name in images:
            self.engine.images.bootstrap(name)
        self.hosts = list(hosts) or [f"unix://{self.sock}"]
        self.extra = list(extra)
        self.config = self.directory / "docker-config"
        self.config.mkdir(exist_ok=True)
        self.env = {**os.environ, "DOCKER_HOST": f"unix://{self.sock}",
                    "DOCKER_CONFIG": str(self.config), "DOCKER_CLI_HINTS": "false"}
        for key in ("DOCKER_BUILDKIT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT"):
            self.env.pop(key, None)
        self.process = None

    def start(self) -> "Daemon":
        argv = [sys.executable, "-m", "dockyard.engine.cli", "--data-root", str(self.root),
                "daemon", *[a for h in self.hosts for a in ("-H", h)], *self.extra]
        self.log = open(self.directory / "daemon.log", "wb")
        self.process = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not self.ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dockyard daemon did not start:\n{self.log_text()}")
            time.sleep(0.05)
        return self

    def ready(self) -> bool:
        """The first host answers: /_ping on a unix socket, a TCP connect otherwise."""
        if self.hosts[0].startswith("tcp://"):
            address, _, port = self.hosts[0][len("tcp://"):].rpartition(":")
            try:
                socket.create_connection((address, int(port)), timeout=1).close()
                return True
            except OSError:
                return False
        return self.ping()

    def ping(self) -> bool:
        if self.sock.exists():
            try:
                return self.request("GET", "/_ping")[0] == 200
            except OSError:
                return False
        return False

    def request(self, method: str, path: str, body=None, headers=None):
        """(status, headers, body bytes) of one request over the unix socket."""
        import http.client

        class UnixConnection(http.client.HTTPConnection):
            def connect(conn):
                conn.sock = socket.socket(socket.AF_UNIX)
                conn.sock.settimeout(30)
                conn.sock.connect(str(self.sock))
        conn = UnixConnection("localhost")
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        conn.request(method, path, body=data, headers=headers or {})
        response = conn.getresponse()
        result = (response.status, dict(response.getheaders()), response.read())
        conn.close()
        return result

    def log_text(self) -> str:
        return (self.directory / "daemon.log").read_text(errors="replace")

    def docker(self, *args, input=None, timeout=60, env=None) -> subprocess.CompletedProcess:
        return subprocess.run([DOCKER, *args], input=input, capture_output=True, text=True,
                              timeout=timeout, env={**self.env, **(env or {})})

    def ok(self, *args, **kwargs) -> str:
        """The stdout of a docker command that must succeed."""
        result = self.docker(*args, **kwargs)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result.stdout

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None:
            self.log.close()
        for container in self.engine.containers.list(all=True):
            try:
                container.remove(force=True)
            except Exception:       # noqa: BLE001 - removed meanwhile: the rest still go
                pass
        self.engine.networks.teardown()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
