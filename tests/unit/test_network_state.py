"""Networks over fake links and firewall: records, IPAM persistence, names, ports, recovery."""
from ipaddress import IPv4Network

import pytest

from dockyard.engine.errors import Conflict, InvalidArgument, NetworkNotFound, NotFound
from dockyard.engine.network.networks import Networks
from dockyard.engine.network.ports import PortBinding, parse_publish
from fakes import FakeFirewall, FakeLinks

POOL = [IPv4Network("10.201.0.0/24"), IPv4Network("10.202.0.0/24"), IPv4Network("10.203.0.0/24"),
        IPv4Network("10.204.0.0/24")]


@pytest.fixture
def nets(data_root):
    return Networks(data_root, links=FakeLinks(routed=["10.202.0.0/16"]), firewall=FakeFirewall(),
                    pool=POOL, default_bridge="dyt-default")


def test_create_list_get_remove(nets):
    net = nets.create("app", labels={"k": "v"})
    assert net.subnet == "10.201.0.0/24" and net.gateway == "10.201.0.1"
    assert nets.create("other").subnet == "10.203.0.0/24"          # 10.202/24 is routed on the host
    assert [n.name for n in nets.list()] == ["app", "other"]
    assert nets.get(net.id[:6]).name == "app"
    inspect = nets.get("app").inspect()
    assert inspect["IPAM"]["Config"] == [{"Subnet": "10.201.0.0/24", "Gateway": "10.201.0.1"}]
    assert inspect["Labels"] == {"k": "v"} and inspect["Containers"] == {}
    with pytest.raises(Conflict):
        nets.create("app")
    nets.remove("app")
    assert net.bridge not in nets.links.links
    with pytest.raises(NetworkNotFound):
        nets.get("app")
    with pytest.raises(NetworkNotFound):
        nets.remove("app")


def test_bad_create_arguments(nets):
    nets.create("a", subnet="10.50.0.0/16")
    with pytest.raises(Conflict, match="overlaps network a"):
        nets.create("b", subnet="10.50.3.0/24")
    with pytest.raises(Conflict, match="route on this host"):
        nets.create("b", subnet="10.202.0.0/24")
    for kwargs in [{"subnet": "10.60.0.0/16", "gateway": "10.61.0.1"}, {"gateway": "10.60.0.1"},
                   {"subnet": "nope"}, {"driver": "overlay"}]:
        with pytest.raises(InvalidArgument):
            nets.create("b", **kwargs)
    with pytest.raises(InvalidArgument):
        nets.create("bad name")
    assert [n.name for n in nets.list()] == ["a"]


def test_attach_detach_and_ipam_persist_across_instances(nets, data_root):
    nets.create("app")
    a = nets.attach("c" * 64, "app", name="one")
    assert (a.ip, a.ifname, a.gateway, a.default_route) == ("10.201.0.2", "eth0", "10.201.0.1", True)
    again = Networks(data_root, links=nets.links, firewall=nets.firewall, pool=POOL)
    b = again.attach("d" * 64, "app")
    assert b.ip == "10.201.0.3"
    with pytest.raises(Conflict):
        again.attach("d" * 64, "app")
    with pytest.raises(Conflict):
        again.attach("e" * 64, "app", ip="10.201.0.2")
    nets.detach("c" * 64, "app")
    with pytest.raises(NotFound):
        nets.detach("c" * 64, "app")
    # Released, but handed out again only after the rest of the subnet.
    assert again.attach("e" * 64, "app").ip == "10.201.0.4"
    assert again.attach("f" * 64, "app", ip="10.201.0.2").ip == "10.201.0.2"
    with pytest.raises(Conflict, match="active endpoints"):
        nets.remove("app")


def test_second_network_is_eth1_without_default_route(nets):
    nets.ensure_default()
    nets.create("app")
    first = nets.attach("c1", "bridge")
    second = nets.attach("c1", "app")
    assert (first.ifname, second.ifname, second.default_route) == ("eth0", "eth1", False)
    assert [e.network for e in nets.endpoints("c1")] == ["bridge", "app"]
    nets.release("c1")
    assert nets.endpoints("c1") == [] and not nets.links.netns


def test_failed_attach_leaves_nothing(nets):
    nets.create("app")
    nets.links.fail_endpoint = True
    with pytest.raises(Exception, match="attach c1 to app"):
        nets.attach("c1", "app")
    assert nets.get("app").endpoints == {}
    assert not nets.links.netns
    assert set(nets.links.links) == {nets.get("app").bridge}


def test_hosts_for_names_peers_on_user_networks_only(nets):
    nets.create("app")
    nets.ensure_default()
    nets.attach("c1", "app", name="web", aliases=("www",), hostname="h1")
    nets.attach("c2", "app", name="db", aliases=("postgres",), hostname="h2")
    nets.attach("c3", "bridge", name="lonely")
    nets.attach("c1", "bridge")
    hosts = nets.hosts_for("c2")
    assert "10.201.0.2\tweb www h1\n" in hosts
    assert "10.201.0.3\th2 db\n" in hosts
    assert "lonely" not in nets.hosts_for("c1")          # default bridge: no names, as Docker
    written = {}
    nets.refresh_hosts(lambda cid, text: written.__setitem__(cid, text))
    assert set(written) == {"c1", "c2", "c3"} and written["c2"] == hosts
    nets.release("c1")
    assert "web" not in nets.hosts_for("c2")


def test_publish(nets):
    nets.create("app")
    nets.create("inner", internal=True)
    nets.attach("c1", "app")
    nets.attach("c2", "inner")
    with pytest.raises(InvalidArgument, match="no network that can publish"):
        nets.publish("c2", parse_publish("8080:80"))
    chosen = nets.publish("c1", parse_publish("80") + parse_publish("127.0.0.1:18080:81/udp"))
    assert chosen[0].host_port >= 32768 and chosen[1] == PortBinding(81, "udp", "127.0.0.1", 18080)
    assert nets.ports("c1") == chosen
    with pytest.raises(Conflict, match="already published"):
        nets.attach("c3", "app") and nets.publish("c3", parse_publish("18080:80/udp"))
    forwards = nets.firewall.tables[nets.table][1]
    assert {f.address for f in forwards} == {"10.201.0.2"}
    nets.release("c1")
    assert nets.ports("c1") == [] and nets.firewall.tables[nets.table][1] == []


def test_cleanup_stale_and_prune(nets, data_root):
    nets.ensure_default()
    nets.create("app")
    nets.create("unused")
    nets.attach("live", "app")
    nets.attach("dead", "app")
    nets.publish("dead", parse_publish("8080:80"))
    (data_root / "netns" / "ghost").write_text("")        # a crash left a netns file
    nets.links.netns.add(str(data_root / "netns" / "ghost"))
    assert nets.cleanup_stale({"live"}) == ["dead", "ghost"]
    assert list(nets.get("app").endpoints) == ["live"]
    assert nets.ports("dead") == [] and nets.links.netns == {nets.netns_path("live")}
    assert nets.prune() == ["unused"]
    with pytest.raises(Conflict):
        nets.remove("bridge")
    nets.teardown()
    assert nets.list() == [] and not nets.firewall.tables and not nets.links.links
