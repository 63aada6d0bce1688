"""Networks on the real kernel: bridges, veths in netns files, TCP, NAT, published ports.

All traffic stays on loopback and inside namespaces these tests make; subnets come from
198.18.0.0/15, the range set aside for tests. Every test removes what it made.
"""
import ipaddress
import os
import secrets
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from dockyard.engine.errors import Conflict
from dockyard.engine.network.networks import Networks, parse_publish

PYTHON = sys.executable


def _pool(tag_byte: int):
    return [ipaddress.IPv4Network(f"198.18.{tag_byte + n}.0/24") for n in range(4)]


@pytest.fixture
def nets(data_root):
    """A Networks on its own default bridge and test-range pool; everything removed after."""
    tag = secrets.token_hex(2)
    n = Networks(data_root, pool=_pool(4 * (int(tag, 16) % 60)), default_bridge=f"dyt{tag}")
    yield n
    n.teardown()
    n.links.close()


def host_links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}


def in_netns(path: str, code: str, hosts: str | None = None, timeout: float = 20) -> str:
    """Run Python `code` inside netns `path` (with `hosts` as /etc/hosts, in a private mount ns)."""
    argv = ["nsenter", f"--net={path}", PYTHON, "-c", textwrap.dedent(code)]
    if hosts:
        argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                'mount --bind "$0" /etc/hosts && exec "$@"', hosts, *argv]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return done.stdout


CONNECT = """
import socket, sys
try:
    with socket.create_connection(({host!r}, {port}), timeout=2) as s:
        print(s.recv(100).decode())
except OSError as exc:
    print("FAILED", exc)
"""


def serve_once_in_host(host: str = "0.0.0.0"):
    """A TCP server in the host netns that answers each client with its peer address."""
    srv = socket.create_server((host, 0))
    srv.settimeout(10)

    def loop():
        while True:
            try:
                conn, peer = srv.accept()
            except OSError:
                return
            with conn:
                conn.sendall(f"hello {peer[0]}".encode())
    threading.Thread(target=loop, daemon=True).start()
    return srv


def wait_port(argv_check, deadline=10.0):
    end = time.time() + deadline
    while time.time() < end:
        if argv_check():
            return
        time.sleep(0.05)
    raise AssertionError("server did not come up")


def test_create_inspect_remove_real_bridge(nets):
    net = nets.create("dyt-app", labels={"test": "1"})
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "dev", net.bridge],
                         capture_output=True, text=True, check=True).stdout
    assert f"{net.gateway}/24" in out
    assert nets.firewall.table_exists(nets.table)
    assert nets.get("dyt-app").inspect()["Options"]["com.docker.network.bridge.name"] == net.bridge
    with pytest.raises(Conflict):
        nets.create("dyt-b", subnet=net.subnet)
    nets.remove("dyt-app")
    assert net.bridge not in host_links()
    assert not nets.firewall.table_exists(nets.table)


def test_two_containers_talk_by_name_over_tcp(nets, tmp_path):
    nets.create("dyt-app")
    web = nets.attach("c-web", "dyt-app", name="web", aliases=("www",))
    nets.attach("c-cli", "dyt-app", name="cli", hostname="client")
    assert nets.links.netns_addresses(nets.netns_path("c-web"))["eth0"] == [web.ip]
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "index.html").write_text("hello from web\n")
    httpd = subprocess.Popen(["nsenter", f"--net={nets.netns_path('c-web')}", "busybox", "httpd",
                              "-f", "-p", "8080", "-h", str(tmp_path / "www")])
    try:
        hosts = tmp_path / "hosts"
        hosts.write_text(nets.hosts_for("c-cli"))
        code = """
        import time, urllib.request
        for _ in range(100):
            try:
                print(urllib.request.urlopen("http://{name}:8080/", timeout=2).read().decode()); break
            except OSError:
                time.sleep(0.05)
        """
        for name in ("web", "www"):
            assert in_netns(nets.netns_path("c-cli"), code.format(name=name), str(hosts)) == "hello from web\n\n"
    finally:
        httpd.terminate()
        httpd.wait(5)


def test_published_port_answers_on_localhost(nets, tmp_path):
    nets.ensure_default()
    nets.attach("c-pub", "bridge")
    (tmp_path / "index.html").write_text("published\n")
    httpd = subprocess.Popen(["nsenter", f"--net={nets.netns_path('c-pub')}", "busybox", "httpd",
                              "-f", "-p", "80", "-h", str(tmp_path)])
    try:
        chosen = nets.publish("c-pub", parse_publish("127.0.0.1::80") + parse_publish("80"))
        import urllib.request
        for binding in chosen:
            body = None
            for _ in range(100):
                try:
                    body = urllib.request.urlopen(f"http://127.0.0.1:{binding.host_port}/", timeout=2).read()
                    break
                except OSError:
                    time.sleep(0.05)
            assert body == b"published\n", binding
    finally:
        httpd.terminate()
        httpd.wait(5)
    port = chosen[0].host_port
    nets.release("c-pub")
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


@pytest.fixture
def outside():
    """A netns `outside` the host routes to (198.19.255.0/30) with no route back to containers."""
    tag = secrets.token_hex(3)
    name, host_if = f"dyt-out-{tag}", f"dyto{tag}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        for cmd in (["ip", "link", "add", host_if, "type", "veth", "peer", "name", "eth0", "netns", name],
                    ["ip", "addr", "add", "198.19.255.1/30", "dev", host_if],
                    ["ip", "link", "set", host_if, "up"],
                    ["ip", "-n", name, "addr", "add", "198.19.255.2/30", "dev", "eth0"],
                    ["ip", "-n", name, "link", "set", "eth0", "up"]):
            subprocess.run(cmd, check=True)
        yield f"/run/netns/{name}"
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], check=True)


def test_outbound_nat_and_internal_isolation(nets, outside):
    nets.create("dyt-open")
    inner_net = nets.create("dyt-inner", internal=True)
    open_ep = nets.attach("c-open", "dyt-open")
    inner_ep = nets.attach("c-inner", "dyt-inner")
    assert inner_ep.default_route is False
    # A server outside that has no route to the container subnets: replies need masquerade.
    server = subprocess.Popen(["nsenter", f"--net={outside}", PYTHON, "-c", textwrap.dedent("""
        import socket
        srv = socket.create_server(("198.19.255.2", 9000))
        while True:
            conn, peer = srv.accept()
            conn.sendall(f"hello {peer[0]}".encode()); conn.close()
        """)])
    host_srv = serve_once_in_host()
    port = host_srv.getsockname()[1]
    try:
        wait_port(lambda: "hello" in in_netns(nets.netns_path("c-open"),
                                              CONNECT.format(host="198.19.255.2", port=9000)))
        out = in_netns(nets.netns_path("c-open"), CONNECT.format(host="198.19.255.2", port=9000))
        assert out.strip() == "hello 198.19.255.1"        # masqueraded to the host's address
        assert in_netns(nets.netns_path("c-open"), CONNECT.format(host=open_ep.gateway, port=port)) \
            .startswith("hello")                           # control: the host server answers
        for target in (inner_net.gateway, open_ep.gateway, "198.19.255.2"):
            out = in_netns(nets.netns_path("c-inner"), CONNECT.format(host=target, port=port))
            assert out.startswith("FAILED"), (target, out)
    finally:
        host_srv.close()
        server.kill()
        server.wait(5)


def test_attach_release_cycles_leave_nothing(nets, data_root):
    net = nets.ensure_default()
    seen, veths = set(), set()
    for n in range(100):
        cid = f"cycle{n:03d}"
        ep = nets.attach(cid, "bridge")
        seen.add(ep.ip)
        veths.add(ep.host_ifname)
        if n % 10 == 0:
            nets.publish(cid, parse_publish("127.0.0.1::80"))
        assert ep.host_ifname in host_links()
        nets.release(cid)
    assert len(seen) == 100                                 # no address handed out twice in a row
    # The kernel deletes a freed namespace's veths (host ends too) in the background.
    deadline = time.monotonic() + 10
    while veths & host_links() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not veths & host_links()
    assert os.listdir(data_root / "netns") == []
    assert nets.get("bridge").endpoints == {}
    rules = subprocess.run(["nft", "list", "chain", "ip", nets.table, "ports"],
                           capture_output=True, text=True, check=True).stdout
    assert "dnat" not in rules
    mounts = open("/proc/self/mountinfo").read()
    assert str(data_root) not in mounts
    assert net.bridge in host_links()


CRASHER = """
import os, sys
from dockyard.engine.network.networks import Networks, parse_publish
from ipaddress import IPv4Network
nets = Networks(sys.argv[1], pool=[IPv4Network(sys.argv[2])], default_bridge=sys.argv[3])
nets.ensure_default()
ep = nets.attach("doomed", "bridge")
nets.publish("doomed", parse_publish("127.0.0.1::80"))
print(ep.host_ifname, flush=True)
os.kill(os.getpid(), 9)
"""


def test_cleanup_stale_removes_what_a_killed_engine_left(nets, data_root):
    net = nets.ensure_default()
    done = subprocess.run([PYTHON, "-c", CRASHER, str(data_root), net.subnet, net.bridge],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGKILL, done.stderr
    veth = done.stdout.strip()
    assert veth in host_links() and os.path.ismount(nets.netns_path("doomed"))
    assert nets.cleanup_stale(alive=set()) == ["doomed"]
    assert veth not in host_links()
    assert not os.path.exists(nets.netns_path("doomed"))
    assert nets.ports("doomed") == []
    rules = subprocess.run(["nft", "list", "chain", "ip", nets.table, "ports"],
                           capture_output=True, text=True, check=True).stdout
    assert "dnat" not in rules
