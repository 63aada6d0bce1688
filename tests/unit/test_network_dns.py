"""What the embedded DNS server is told: records, upstream servers, the container's resolv.conf."""
from dockyard.engine.network import dns
from dockyard.engine.network.model import Network


def network(name, endpoints, *, default=False, internal=False, subnet="172.20.0.0/16"):
    return Network(id=name * 4, name=name, driver="bridge", subnet=subnet, gateway="",
                   internal=internal, bridge="", created="", default=default,
                   endpoints=endpoints)


def endpoint(ip, name, ifname="eth0", aliases=()):
    return {"ip": ip, "name": name, "aliases": list(aliases), "ifname": ifname, "hostname": "h"}


WEB, DB, ME = "a" * 64, "b" * 64, "c" * 64


def test_docker_dns_names_per_user_network_in_attach_order():
    front = network("front", {ME: endpoint("172.20.0.3", "me", "eth1"),
                              WEB: endpoint("172.20.0.2", "Web", aliases=["www"])})
    back = network("back", {ME: endpoint("172.21.0.2", "me", "eth0"),
                            DB: endpoint("172.21.0.3", "db", aliases=["www"])},
                   subnet="172.21.0.0/16")
    bridge = network("bridge", {ME: endpoint("172.17.0.2", "me", "eth2"),
                                "d" * 64: endpoint("172.17.0.3", "other")}, default=True)
    answers, subnets = dns.names_for([front, back, bridge], ME)
    assert [n for n, _ in answers] == ["back", "front"]          # eth0 first; no default bridge
    assert answers[0][1] == [("172.21.0.2", ["me", ME[:12]]),
                             ("172.21.0.3", ["db", "www", DB[:12]])]
    assert subnets is None                                        # may forward anywhere
    text = dns.render_records(answers, ["10.0.0.53"])
    lines = text.splitlines()
    assert lines[0] == "server 10.0.0.53"
    assert "a www 172.21.0.3" in lines and "a www 172.20.0.2" not in lines   # back answers first
    assert "a www.front 172.20.0.2" in lines and "a web.front 172.20.0.2" in lines
    assert "a web 172.20.0.2" in lines                            # names are lower case
    assert "ptr 3.0.21.172.in-addr.arpa db.back" in lines
    assert len(lines) == len(set(lines))
    assert "other" not in text


def test_an_alias_of_two_containers_on_one_network_has_both_addresses():
    net = network("n", {WEB: endpoint("172.20.0.2", "one", aliases=["pool"]),
                        DB: endpoint("172.20.0.3", "two", aliases=["pool"])})
    lines = dns.render_records(dns.names_for([net], WEB)[0], []).splitlines()
    assert {"a pool 172.20.0.2", "a pool 172.20.0.3"} <= set(lines)


def test_internal_networks_forward_only_into_their_subnets(tmp_path, monkeypatch):
    inside = network("i", {ME: endpoint("10.9.0.2", "me")}, internal=True, subnet="10.9.0.0/24")
    _, subnets = dns.names_for([inside], ME)
    assert subnets == ["10.9.0.0/24"]
    assert dns.upstreams(["10.9.0.53", "8.8.8.8"], subnets) == ["10.9.0.53"]
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 127.0.0.53\n")
    monkeypatch.setattr(dns, "HOST_RESOLV_CONF", str(conf))
    assert dns.upstreams((), subnets) == []                 # the host's loopback cache: not from here
    assert dns.names_for([], ME) == ([], [])                # on no network: nowhere


def test_upstreams_are_dns_flags_else_the_hosts_else_googles(tmp_path, monkeypatch):
    conf = tmp_path / "resolv.conf"
    conf.write_text("# comment\nnameserver 127.0.0.53\nnameserver fe80::1%eth0\nsearch a.test\n")
    monkeypatch.setattr(dns, "HOST_RESOLV_CONF", str(conf))
    assert dns.upstreams(["10.0.0.1"]) == ["10.0.0.1"]
    assert dns.upstreams() == ["127.0.0.53", "fe80::1%eth0"]   # loopback kept: asked from the host
    conf.write_text("search a.test\n")
    assert dns.upstreams() == ["8.8.8.8", "8.8.4.4"]


def test_the_containers_resolv_conf_names_127_0_0_11(tmp_path, monkeypatch):
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 10.0.0.1\nsearch corp.test lab.test\noptions edns0 ndots:3\n")
    monkeypatch.setattr(dns, "HOST_RESOLV_CONF", str(conf))
    text = dns.resolv_conf()
    assert "nameserver 127.0.0.11\n" in text and "10.0.0.1" not in text
    assert "search corp.test lab.test\n" in text and "options edns0 ndots:3\n" in text
    text = dns.resolv_conf(search=["x.test"], options=["timeout:1"])
    assert "search x.test\n" in text and "options ndots:0 timeout:1\n" in text


def test_a_loopback_dns_flag_keeps_the_containers_own_server():
    assert dns.wants_embedded(["10.0.0.1"]) and dns.wants_embedded([])
    assert not dns.wants_embedded(["10.0.0.1", "127.0.0.1"])


def test_records_are_replaced_atomically(tmp_path):
    path = tmp_path / "dns-records"
    dns.write_records(str(path), "server 10.0.0.1\n")
    dns.write_records(str(path), "a web 172.20.0.2\n")
    assert path.read_text() == "a web 172.20.0.2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["dns-records"]


def test_a_links_alias_answers_for_its_target_only_in_the_linking_container():
    front = network("front", {ME: endpoint("172.20.0.3", "me"),
                              WEB: endpoint("172.20.0.2", "web"),
                              DB: endpoint("172.20.0.4", "db")})
    links = [dns.parse_link("/web:/me/site"), dns.parse_link(f"/{DB[:12]}:/me/data")]
    assert links == [("web", "site"), (DB[:12], "data")]
    answers, _ = dns.names_for([front], ME, links)
    assert dict(answers[0][1])["172.20.0.2"] == ["web", WEB[:12], "site"]
    assert dict(answers[0][1])["172.20.0.4"] == ["db", DB[:12], "data"]
    others, _ = dns.names_for([front], WEB)
    assert "site" not in str(others)
    # a target that isn't there (yet): no record, as Docker's alias answers nothing then
    answers, _ = dns.names_for([front], ME, [("nosuch", "gone")])
    assert "gone" not in str(answers)


def test_link_flags_are_checked():
    import pytest
    from dockyard.engine.errors import InvalidArgument
    from dockyard.engine.runtime.convert import parse_links
    assert parse_links(["db:database", "/web"]) == (("db", "database"), ("web", "web"))
    for bad in ("", ":x", "db:a/b"):
        with pytest.raises(InvalidArgument, match="--link"):
            parse_links([bad])
