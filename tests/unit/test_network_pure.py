"""Pure network pieces: -p parsing, IPAM, the nftables script, hosts files."""
from ipaddress import IPv4Network

import pytest

from dockyard.engine.errors import Conflict, InvalidArgument
from dockyard.engine.network import ipam
from dockyard.engine.network.firewall import BridgeRules, Forward, render
from dockyard.engine.network.hosts import render_hosts, write_in_place
from dockyard.engine.network.ports import PortBinding, clashes, parse_publish


@pytest.mark.parametrize("spec, expected", [
    ("80", [PortBinding(80, "tcp", "", 0)]),
    ("8080:80", [PortBinding(80, "tcp", "", 8080)]),
    ("127.0.0.1:8080:80/udp", [PortBinding(80, "udp", "127.0.0.1", 8080)]),
    ("127.0.0.1::80", [PortBinding(80, "tcp", "127.0.0.1", 0)]),
    ("0.0.0.0:8080:80", [PortBinding(80, "tcp", "", 8080)]),
    ("8000-8001:80-81/TCP", [PortBinding(80, "tcp", "", 8000), PortBinding(81, "tcp", "", 8001)]),
    ("80-81", [PortBinding(80, "tcp", "", 0), PortBinding(81, "tcp", "", 0)]),
])
def test_parse_publish(spec, expected):
    assert parse_publish(spec) == expected


@pytest.mark.parametrize("spec", ["", "x", "80/sctp", "70000", "1:2:3:4", "300.1.1.1:80:80",
                                  "8000-8002:80-81", "90-80", "[::1]:80:80"])
def test_parse_publish_rejects(spec):
    with pytest.raises(InvalidArgument):
        parse_publish(spec)


def test_port_clashes_consider_all_addresses():
    assert clashes(PortBinding(80, "tcp", "", 8080), PortBinding(81, "tcp", "127.0.0.1", 8080))
    assert not clashes(PortBinding(80, "tcp", "", 8080), PortBinding(80, "udp", "", 8080))
    assert not clashes(PortBinding(80, "tcp", "127.0.0.1", 8080), PortBinding(80, "tcp", "127.0.0.2", 8080))


def test_choose_subnet_skips_routed_and_taken():
    taken = [IPv4Network("172.18.0.0/16"), IPv4Network("172.19.5.0/24")]
    assert ipam.choose_subnet(taken) == IPv4Network("172.20.0.0/16")
    assert IPv4Network("172.17.0.0/16") not in ipam.DEFAULT_POOL
    with pytest.raises(Conflict):
        ipam.choose_subnet([IPv4Network("0.0.0.0/1"), IPv4Network("128.0.0.0/1")])


def test_allocate_walks_forward_and_never_repeats_a_used_address():
    net = IPv4Network("10.9.0.0/29")             # hosts .1-.6, .1 the gateway
    used: set[str] = set()
    cursor = None
    for _ in range(5):
        cursor = ipam.allocate(net, "10.9.0.1", used, cursor)
        assert cursor not in used and cursor != "10.9.0.1"
        used.add(cursor)
    assert used == {f"10.9.0.{n}" for n in range(2, 7)}
    with pytest.raises(Conflict):
        ipam.allocate(net, "10.9.0.1", used, cursor)
    used.discard("10.9.0.3")
    assert ipam.allocate(net, "10.9.0.1", used, cursor) == "10.9.0.3"


def test_allocate_after_release_prefers_new_addresses():
    net = IPv4Network("10.9.0.0/24")
    assert ipam.allocate(net, "10.9.0.1", {"10.9.0.2"}, cursor="10.9.0.3") == "10.9.0.4"


def test_allocate_requested():
    net = IPv4Network("10.9.0.0/24")
    assert ipam.allocate(net, "10.9.0.1", set(), requested="10.9.0.50") == "10.9.0.50"
    for bad, error in [("10.9.0.50", Conflict), ("10.9.0.1", Conflict), ("10.9.1.5", InvalidArgument),
                       ("10.9.0.255", InvalidArgument), ("nope", InvalidArgument)]:
        with pytest.raises(error):
            ipam.allocate(net, "10.9.0.1", {"10.9.0.50"}, requested=bad)


def test_parse_subnet():
    assert ipam.parse_subnet("10.1.0.0/16") == IPv4Network("10.1.0.0/16")
    for bad in ["10.1.0.1/16", "10.1.0.0/31", "banana", "fd00::/64"]:
        with pytest.raises(InvalidArgument):
            ipam.parse_subnet(bad)


def test_firewall_script():
    script = render("dockyard_t", [BridgeRules("br-a", "10.1.0.0/24", False),
                                   BridgeRules("br-i", "10.2.0.0/24", True)],
                    [Forward(PortBinding(80, "tcp", "127.0.0.1", 8080), "10.1.0.2"),
                     Forward(PortBinding(53, "udp", "", 5353), "10.1.0.3")])
    assert script.startswith("table ip dockyard_t\ndelete table ip dockyard_t\n")
    assert "ip daddr 127.0.0.1 tcp dport 8080 dnat to 10.1.0.2:80" in script
    assert "\t\tudp dport 5353 dnat to 10.1.0.3:53" in script
    assert 'ip saddr 10.1.0.0/24 oifname != "br-a" masquerade' in script
    assert "10.2.0.0/24 oifname" not in script                  # internal: no NAT
    assert 'iifname "br-i" oifname != "br-i" drop' in script
    assert 'iifname "br-a" oifname { "br-i" } drop' in script     # networks isolated


def test_hosts(tmp_path):
    text = render_hosts([("10.1.0.2", ["web", "", "web", "www"])])
    assert text.startswith("127.0.0.1\tlocalhost\n")
    assert text.endswith("10.1.0.2\tweb www\n")
    path = tmp_path / "hosts"
    path.write_text("x" * 1000)
    inode = path.stat().st_ino
    write_in_place(str(path), text)
    assert path.read_text() == text and path.stat().st_ino == inode
