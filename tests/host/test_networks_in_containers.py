"""Networks as users see them: real containers on real bridges, talking over real TCP.

All traffic stays on loopback or inside network namespaces these tests made.
"""
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from dockyard.engine import Engine
from dockyard.engine.errors import Conflict

DOCKYARD = [sys.executable, "-m", "dockyard.engine.cli"]
# GET http://$1/ from inside a container, retrying while the server starts. (busybox-static's
# `wget -T` segfaults when a connection fails, so `timeout` bounds each try instead.)
RETRY_GET = ("get() { for i in $(seq 50); do timeout 5 wget -q -O - http://$1/ && return; "
             "sleep 0.1; done; return 1; }; get")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def web_server(engine, name, network, **kwargs):
    """A busybox httpd serving one page, running detached."""
    return engine.containers.run(
        "busybox", ["sh", "-c", f"mkdir -p /www && echo hello from {name} > /www/index.html && "
                                "exec httpd -f -p 80 -h /www"],
        detach=True, name=name, network=network, **kwargs)


def wait_http(url, seconds=10) -> str:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_two_containers_talk_by_name_alias_and_hostname(engine):
    engine.networks.create("appnet")
    web = web_server(engine, "web", "appnet", network_aliases=["www"], hostname="webhost")
    try:
        script = (f"{RETRY_GET} web && {RETRY_GET} www && {RETRY_GET} webhost && cat /etc/hosts")
        out = engine.containers.run("busybox", ["sh", "-c", script], remove=True,
                                    network="appnet").decode()
        assert out.count("hello from web") == 3, out
        ip = web.attrs["NetworkSettings"]["Networks"]["appnet"]["IPAddress"]
        assert ip.count(".") == 3 and f"{ip}\t" in out or f"{ip} " in out
    finally:
        web.remove(force=True)
    # gone from the peers' hosts files once removed
    out = engine.containers.run("busybox", ["cat", "/etc/hosts"], remove=True, network="appnet")
    assert b"web" not in out
    engine.networks.remove("appnet")


def test_a_network_in_use_cannot_be_removed(engine):
    engine.networks.create("busynet")
    c = engine.containers.create("busybox", ["true"], network="busynet")
    with pytest.raises(Conflict):
        engine.networks.remove("busynet")
    c.remove()
    engine.networks.remove("busynet")


def test_published_port_answers_on_loopback(engine):
    port = free_port()
    web = web_server(engine, "published", None, ports={"80/tcp": port})
    try:
        assert wait_http(f"http://127.0.0.1:{port}/") == "hello from published\n"
        bindings = web.attrs["NetworkSettings"]["Ports"]["80/tcp"]
        assert bindings == [{"HostIp": "0.0.0.0", "HostPort": str(port)}]
        shown = subprocess.run(DOCKYARD + ["--data-root", str(engine.root), "port", "published"],
                               capture_output=True, text=True, check=True).stdout
        assert shown == f"80/tcp -> 0.0.0.0:{port}\n"
    finally:
        web.remove(force=True)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)


def test_publish_a_random_host_port(engine):
    web = web_server(engine, "randomport", None, ports=["80"])
    try:
        port = int(web.attrs["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"])
        assert port > 0
        assert wait_http(f"http://127.0.0.1:{port}/") == "hello from randomport\n"
    finally:
        web.remove(force=True)


@pytest.fixture
def host_server():
    """An HTTP server in the host's namespace, on all addresses, answering 'from the host'."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"from the host\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_outbound_nat_reaches_the_host_but_internal_networks_do_not(engine, host_server):
    gateway = engine.networks.ensure_default().gateway
    out = engine.containers.run("busybox", ["timeout", "5", "wget", "-q", "-O", "-",
                                            f"http://{gateway}:{host_server}/"], remove=True)
    assert out == b"from the host\n"
    net = engine.networks.create("sealed", internal=True)
    # --init: as PID 1, wget would ignore timeout's SIGTERM while its SYNs go unanswered
    proc = subprocess.run(DOCKYARD + ["--data-root", str(engine.root), "run", "--rm", "--init",
                                      "--network", "sealed", "busybox", "timeout", "3", "wget", "-q",
                                      "-O", "-", f"http://{net.gateway}:{host_server}/"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0 and "from the host" not in proc.stdout
    engine.networks.remove("sealed")


def test_a_build_step_reaches_a_server_on_the_host(engine, host_server):
    image = engine.images.build(
        f"FROM busybox\nRUN timeout 5 wget -q -O /fetched.txt http://127.0.0.1:{host_server}/\n",
        tag="fetched:1", nocache=True)
    out = engine.containers.run(image.id, ["cat", "/fetched.txt"], remove=True, network="none")
    assert out == b"from the host\n"


def test_network_none_has_only_loopback_and_host_shares_the_hosts(engine):
    assert engine.containers.run("busybox", ["ls", "/sys/class/net"], remove=True,
                                 network="none") == b"lo\n"
    out = engine.containers.run("busybox", ["ls", "/sys/class/net"], remove=True, network="host")
    assert b"lo" in out and out != b"lo\n"


def test_container_network_mode_shares_another_containers_namespace(engine):
    web = web_server(engine, "sharer", None)
    try:
        out = engine.containers.run("busybox", ["sh", "-c", f"{RETRY_GET} 127.0.0.1"],
                                    remove=True, network=f"container:{web.id}")
        assert out == b"hello from sharer\n"
    finally:
        web.remove(force=True)


def test_100_bridged_containers_leave_nothing_behind(engine):
    bridge = engine.networks.ensure_default()

    def veths():            # on this engine's bridge (other tests make veths meanwhile)
        brif = f"/sys/class/net/{bridge.bridge}/brif"
        return set(os.listdir(brif)) if os.path.isdir(brif) else set()
    before = veths()
    for _ in range(100):
        engine.containers.run("busybox", ["true"], remove=True)
    deadline = time.monotonic() + 10        # the kernel frees dead namespaces' veths in the background
    while not veths() <= before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert veths() <= before
    assert list((engine.root / "netns").iterdir()) == []
    assert engine.networks.get("bridge").endpoints == {}
    rules = subprocess.run(["nft", "list", "table", "ip", engine.networks.table],
                           capture_output=True, text=True).stdout
    assert "dnat" not in rules
    assert bridge.bridge in subprocess.run(["ip", "-o", "link"], capture_output=True,
                                           text=True).stdout


CRASH_IN_CREATE = """
import os, sys
from dockyard.engine import Engine
engine = Engine(sys.argv[1])
engine.networks.attach("f" * 64, "bridge", name="crashed", hostname="crashed")
os.kill(os.getpid(), 9)         # dies between attaching and writing a container record
"""


def test_the_next_engine_cleans_up_after_a_process_killed_mid_create(engine):
    engine.networks.ensure_default()
    subprocess.run([sys.executable, "-c", CRASH_IN_CREATE, str(engine.root)], timeout=60)
    assert (engine.root / "netns" / ("f" * 64)).exists()
    fresh = Engine(engine.root)
    assert fresh.containers.run("busybox", ["true"], remove=True) == b""
    assert not (engine.root / "netns" / ("f" * 64)).exists()
    assert "f" * 64 not in fresh.networks.get("bridge").endpoints


def test_engine_calls_work_in_a_thread_that_runs_an_asyncio_loop(engine):
    """A Jupyter kernel runs cells in a thread whose asyncio loop is running; netlink must work."""
    import asyncio

    async def in_a_cell():
        fresh = Engine(engine.root)       # its netlink socket is made inside the loop's thread
        return fresh.containers.run("busybox", ["sh", "-c", "ls /sys/class/net | sort"],
                                    remove=True)
    assert asyncio.run(in_a_cell()) == b"eth0\nlo\n"


def test_a_second_engine_leaves_a_create_in_progress_alone(engine):
    """Another process opening the data root mid-create must not take the new container's
    network: at that point the name is reserved and the netns exists, but no bundle yet;
    what marks it as in progress is the create's intent."""
    from dockyard.engine import intents
    engine.networks.ensure_default()
    cid = "e" * 64
    with intents.held(engine.root, cid, "create"):
        name = engine.containers.reserve_name(None, cid)
        engine.networks.attach(cid, "bridge", name=name, hostname=cid[:12])
        try:
            other = Engine(engine.root)
            assert cid in other.networks.get("bridge").endpoints
            assert (engine.root / "netns" / cid).exists()
        finally:
            engine.networks.release(cid)
            (engine.root / "names" / name).unlink()


def test_network_connect_and_disconnect_through_the_cli(engine):
    engine.networks.create("extranet")
    box = engine.containers.create("busybox", ["true"], name="joiner")
    cli = [*DOCKYARD, "--data-root", str(engine.root), "network"]
    try:
        subprocess.run([*cli, "connect", "--alias", "j2", "extranet", "joiner"], check=True)
        box.reload()
        endpoint = box.attrs["NetworkSettings"]["Networks"]["extranet"]
        assert endpoint["Aliases"] == ["j2"] and endpoint["IPAddress"].count(".") == 3
        subprocess.run([*cli, "disconnect", "extranet", "joiner"], check=True)
        box.reload()
        assert "extranet" not in box.attrs["NetworkSettings"]["Networks"]
        again = subprocess.run([*cli, "disconnect", "extranet", "joiner"], capture_output=True,
                               text=True)
        assert again.returncode == 1 and "is not connected to network extranet" in again.stderr
    finally:
        box.remove(force=True)
        engine.networks.remove("extranet")
