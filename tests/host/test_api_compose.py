"""Debian's docker-compose (1.29, an Engine API client) brings a two-service app up and down
against `dockyard daemon`: a web server on a named volume with a published port, and a client
that finds it by name on a user network."""
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest

from api_daemon import Daemon

COMPOSE = shutil.which("docker-compose")
pytestmark = pytest.mark.skipif(COMPOSE is None, reason="needs docker-compose "
                                "(apt-get install docker-compose)")

COMPOSE_FILE = """\
version: "3.7"
services:
  web:
    image: busybox
    command: ["sh", "-c", "echo compose-ok > /www/index.html && exec httpd -f -p 80 -h /www"]
    volumes: ["site:/www"]
    ports: ["127.0.0.1:{port}:80"]
    networks: [backend]
  client:
    image: busybox
    command: ["sh", "-c", "for i in $$(seq 40); do wget -qO- http://web/index.html && exit 0;
              sleep 0.25; done; exit 1"]
    depends_on: [web]
    networks: [backend]
networks:
  backend: {{}}
volumes:
  site: {{}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_compose_up_and_down(tmp_path):
    port = free_port()
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "docker-compose.yml").write_text(COMPOSE_FILE.format(port=port))
    (tmp_path / "daemon").mkdir()
    with Daemon(tmp_path / "daemon") as daemon:
        def compose(*args, timeout=120):
            return subprocess.run([COMPOSE, "-p", "dyapp", *args], cwd=tmp_path / "app",
                                  env=daemon.env, capture_output=True, text=True,
                                  timeout=timeout)
        up = compose("up", "-d")
        assert up.returncode == 0, up.stderr
        assert daemon.ok("wait", "dyapp_client_1") == "0\n"
        assert daemon.ok("logs", "dyapp_client_1") == "compose-ok\n"
        deadline = time.monotonic() + 10
        while True:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html",
                                              timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert page == b"compose-ok\n"
        assert daemon.ok("ps", "--filter", "label=com.docker.compose.project=dyapp",
                         "--format", "{{.Names}}") == "dyapp_web_1\n"
        down = compose("down", "-v", "-t", "1")     # httpd as PID 1 ignores SIGTERM
        assert down.returncode == 0, down.stderr
        assert daemon.ok("ps", "-aq") == ""
        assert "dyapp_backend" not in daemon.ok("network", "ls", "--format", "{{.Name}}")
        assert "dyapp_site" not in daemon.ok("volume", "ls", "-q")
