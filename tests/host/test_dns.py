"""The embedded DNS server at 127.0.0.11: names on user networks resolve without /etc/hosts.

Queries are raw UDP and TCP packets sent from inside a container's network namespace (so no
hosts file can be what answered), and busybox's nslookup, which reads none. Upstream servers
are fakes on addresses this test owns (a network's gateway, a random 127/8 address): there is
no internet here.
"""
import os
import secrets
import signal
import socket
import subprocess
import time

import pytest
from dns_wire import AAAA, PTR, FakeUpstream, ask, in_netns

from dockyard.engine.check import check
from dockyard.engine.endpoints import disconnect
from dockyard.engine.errors import ContainerNotFound, InvalidArgument
from dockyard.engine.network import dns

A = 1


@pytest.fixture
def net(engine):
    """A user network of its own, gone after the test with its containers."""
    name, before = f"dns{secrets.token_hex(3)}", {c.id for c in engine.containers.list(all=True)}
    engine.networks.create(name)
    yield name
    for c in engine.containers.list(all=True):
        if c.id not in before:
            c.remove(force=True)
    engine.networks.remove(name)


def sleeper(engine, network, **kwargs):
    return engine.containers.run("busybox", ["sleep", "120"], detach=True, network=network,
                                 **kwargs)


def netns(engine, container) -> str:
    return str(engine.root / "netns" / container.id)


def ip_of(container, network) -> str:
    container.reload()
    return container.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]


def resolvers(engine) -> dict[int, str]:
    """{pid: bundle} of the root's embedded DNS servers."""
    found, folder = {}, str(engine.root / "containers") + "/"
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if len(argv) > 2 and argv[1] == b"dns" and argv[2].decode().startswith(folder):
            found[int(pid)] = argv[2].decode()
    return found


def nslookup(engine, network, name, **kwargs) -> str:
    return engine.containers.run("busybox", ["sh", "-c", f"nslookup {name} 2>&1; echo rc=$?"],
                                 remove=True, network=network, **kwargs).decode()


def test_names_aliases_and_short_ids_resolve_by_dns(engine, net):
    web = sleeper(engine, net, name=f"web-{net}", network_aliases=["www"])
    client = sleeper(engine, net)
    ip, ns = ip_of(web, net), netns(engine, client)
    for name in (web.name, "www", web.id[:12], f"{web.name}.{net}", web.name.upper()):
        reply = ask(ns, name)
        assert (reply["rcode"], reply["answers"]) == ("NOERROR", [(A, ip)]), name
    assert ask(ns, "www", tcp=True)["answers"] == [(A, ip)]
    # a container has no IPv6 address: no data, but the name exists (resolvers then use A)
    reply = ask(ns, web.name, AAAA)
    assert (reply["rcode"], reply["answers"]) == ("NOERROR", [])
    reverse = ".".join(reversed(ip.split("."))) + ".in-addr.arpa"
    assert ask(ns, reverse, PTR)["answers"] == [(PTR, f"{web.name}.{net}")]
    out = nslookup(engine, net, "www")
    assert f"Address: {ip}" in out and "rc=0" in out, out


def test_an_alias_two_containers_share_answers_both(engine, net):
    one, two = (sleeper(engine, net, network_aliases=["pool"]) for _ in range(2))
    client = sleeper(engine, net)
    answers = ask(netns(engine, client), "pool")["answers"]
    assert sorted(answers) == sorted([(A, ip_of(one, net)), (A, ip_of(two, net))])


def test_renamed_and_departed_containers_change_the_answers(engine, net):
    gateway = engine.networks.get(net).gateway
    upstream = FakeUpstream(gateway, {})
    try:
        web = sleeper(engine, net, name=f"old-{net}")
        client = sleeper(engine, net, dns=[gateway])
        ns, ip = netns(engine, client), ip_of(web, net)
        web.rename(f"new-{net}")
        assert ask(ns, f"new-{net}")["answers"] == [(A, ip)]
        assert ask(ns, f"old-{net}")["rcode"] == "NXDOMAIN"      # the upstream's answer
        assert f"old-{net}" in upstream.asked
        disconnect(engine, net, web.id)
        assert ask(ns, f"new-{net}")["rcode"] == "NXDOMAIN"
        assert ask(ns, web.id[:12])["rcode"] == "NXDOMAIN"
    finally:
        upstream.close()


def test_other_names_are_forwarded_and_a_dead_upstream_fails_at_once(engine, net):
    gateway = engine.networks.get(net).gateway
    upstream = FakeUpstream(gateway, {"external.test": "192.0.2.7"})
    try:
        client = sleeper(engine, net, dns=[gateway])
        ns = netns(engine, client)
        assert ask(ns, "external.test")["answers"] == [(A, "192.0.2.7")]
        assert ask(ns, "external.test", tcp=True)["answers"] == [(A, "192.0.2.7")]
        out = nslookup(engine, net, "external.test", dns=[gateway])
        assert "192.0.2.7" in out, out
        assert client.attrs["HostConfig"]["Dns"] == [gateway]
    finally:
        upstream.close()
    t = time.monotonic()
    assert ask(ns, "external.test")["rcode"] == "SERVFAIL"      # port unreachable: at once
    assert time.monotonic() - t < 2


def test_a_container_only_on_an_internal_network_forwards_nothing(engine):
    name = f"int{secrets.token_hex(3)}"
    engine.networks.create(name, internal=True)
    try:
        client = sleeper(engine, name)
        reply = ask(netns(engine, client), "example.com")
        assert reply["rcode"] == "REFUSED"
        assert ask(netns(engine, client), client.name)["answers"] == [(A, ip_of(client, name))]
        client.remove(force=True)
    finally:
        engine.networks.remove(name)


def test_the_hosts_servers_are_asked_and_dns_flags_keep_their_meaning(engine, net, tmp_path,
                                                                      monkeypatch):
    # a loopback server in the host's resolv.conf (a local cache): asked from the host's side
    address = ".".join(map(str, (127, secrets.randbelow(200) + 20, secrets.randbelow(250),
                                 secrets.randbelow(250) + 1)))
    upstream = FakeUpstream(address, {"hostside.test": "192.0.2.9"})
    conf = tmp_path / "resolv.conf"
    conf.write_text(f"nameserver {address}\nsearch example.internal\noptions timeout:2\n")
    monkeypatch.setattr(dns, "HOST_RESOLV_CONF", str(conf))
    try:
        client = sleeper(engine, net)
        resolv = (client.bundle / "resolv.conf").read_text()
        assert "nameserver 127.0.0.11\n" in resolv and "search example.internal\n" in resolv
        assert "options ndots:0 timeout:2\n" in resolv
        assert ask(netns(engine, client), "hostside.test")["answers"] == [(A, "192.0.2.9")]
        flagged = sleeper(engine, net, dns_search=["corp.test"], dns_opt=["ndots:2"])
        resolv = (flagged.bundle / "resolv.conf").read_text()
        assert "search corp.test\n" in resolv and "options ndots:2\n" in resolv
    finally:
        upstream.close()


def test_a_loopback_dns_server_means_the_containers_own(engine, net):
    own = sleeper(engine, net, dns=["127.0.0.1"])
    assert (own.bundle / "resolv.conf").read_text().splitlines()[0] == "nameserver 127.0.0.1"
    assert own.bundle.joinpath(dns.RECORDS).exists() is False


def test_the_default_bridge_resolves_no_names(engine):
    one = sleeper(engine, "bridge")
    try:
        assert "127.0.0.11" not in (one.bundle / "resolv.conf").read_text()
        assert not (one.bundle / dns.RECORDS).exists()
        assert str(one.bundle) not in resolvers(engine).values()
        # nothing answers at 127.0.0.11 there (port unreachable: no wait)
        out = nslookup(engine, "bridge", f"{one.name} 127.0.0.11")
        assert ip_of(one, "bridge") not in out and "rc=0" not in out, out
    finally:
        one.remove(force=True)


def test_nothing_of_the_server_outlives_its_container(engine, net):
    web = sleeper(engine, net)
    ns, bundle = netns(engine, web), str(web.bundle)
    (pid,) = [p for p, b in resolvers(engine).items() if b == bundle]
    with open(f"/proc/{pid}/status") as f:
        assert "CapEff:\t0000000000000000" in f.read()      # it runs with no capability
    rules = subprocess.run(["nsenter", f"--net={ns}", "nft", "list", "ruleset"],
                           capture_output=True, text=True, check=True).stdout
    assert "dockyard_dns" in rules and "dport 53 dnat to 127.0.0.11:" in rules
    with in_netns(ns) as sock:      # port 53 stays free for a DNS server of the container's
        sock(socket.AF_INET, socket.SOCK_DGRAM).bind(("0.0.0.0", 53))
    os.kill(web.state.monitor, signal.SIGKILL)       # the resolver dies with its monitor
    deadline = time.monotonic() + 5
    while pid in resolvers(engine) and time.monotonic() < deadline:   # (a zombie has no argv)
        time.sleep(0.01)
    assert pid not in resolvers(engine)
    check(engine, repair=True)
    assert not os.path.exists(ns)
    out = nslookup(engine, net, "$(hostname)")          # a foreground run --rm
    assert "Address" in out and "rc=0" in out, out
    assert resolvers(engine) == {}


def test_system_check_knows_a_container_that_lost_its_server(engine, net):
    web = sleeper(engine, net)
    (pid,) = [p for p, b in resolvers(engine).items() if b == str(web.bundle)]
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.1)
    texts = [f.text for f in check(engine).findings]
    assert any(web.id[:12] in t and "DNS server" in t for t in texts), texts


def test_a_stale_redirect_table_in_the_namespace_is_replaced(engine, net):
    web = engine.containers.create("busybox", ["sleep", "120"], network=net)
    ns = netns(engine, web)     # made at create: a table a dead start left there
    stale = ("table ip dockyard_dns {\n chain output { type nat hook output priority -100\n"
             " ip daddr 127.0.0.11 udp dport 53 dnat to 127.0.0.11:9\n }\n}\n")
    subprocess.run(["nsenter", f"--net={ns}", "nft", "-f", "-"], input=stale, text=True,
                   check=True)
    web.start()
    rules = subprocess.run(["nsenter", f"--net={ns}", "nft", "list", "ruleset"],
                           capture_output=True, text=True, check=True).stdout
    assert rules.count("table ip dockyard_dns") == 1 and ":9\n" not in rules, rules
    assert ask(ns, web.id[:12])["answers"] == [(A, ip_of(web, net))]


def test_link_aliases_answer_in_the_linking_container_only(engine, net):
    web = sleeper(engine, net, name=f"web-{net}")
    client = sleeper(engine, net, links=[f"{web.name}:site"])
    other = sleeper(engine, net)
    assert client.attrs["HostConfig"]["Links"] == [f"/{web.name}:/{client.name}/site"]
    assert ask(netns(engine, client), "site")["answers"] == [(A, ip_of(web, net))]
    assert ask(netns(engine, other), "site")["rcode"] != "NOERROR"
    # on the default bridge (legacy links): /etc/hosts, and the target must exist
    old = sleeper(engine, "bridge")
    legacy = sleeper(engine, "bridge", links=[f"{old.name}:olddb"])
    assert f"{ip_of(old, 'bridge')}\tolddb {old.name}\n" in (legacy.bundle / "hosts").read_text()
    before = len(engine.containers.list(all=True))
    with pytest.raises(ContainerNotFound, match="nosuch"):
        sleeper(engine, "bridge", links=["nosuch:x"])
    assert len(engine.containers.list(all=True)) == before


def test_a_container_on_anothers_network_resolves_at_its_server(engine, net):
    web = sleeper(engine, net, name=f"web-{net}")
    host = sleeper(engine, net)
    out = nslookup(engine, f"container:{host.id}", web.name)
    assert f"Address: {ip_of(web, net)}" in out and "rc=0" in out, out
    for flags, word in (({"dns": ["10.0.0.1"]}, "dns"), ({"extra_hosts": ["a:10.0.0.1"]}, "host"),
                        ({"links": [web.name]}, "links")):
        with pytest.raises(InvalidArgument, match=f"conflicting options: .*{word}"):
            sleeper(engine, f"container:{host.id}", **flags)


def test_a_restarted_container_keeps_its_server(engine, net):
    """The monitor starts the server once and it serves every restart of the container; it
    goes when the container is stopped for good."""
    web = sleeper(engine, net)
    ip = ip_of(web, net)
    flaky = engine.containers.run(        # fails once after an answer, then answers and stays
        "busybox", ["sh", "-c", f"nslookup {web.name} >> /tmp/answers 2>&1; "
                    f"[ $(grep -c 'Address: {ip}$' /tmp/answers) -ge 2 ] && sleep 120; exit 1"],
        detach=True, network=net, restart_policy={"Name": "on-failure"})
    deadline = time.monotonic() + 20
    while flaky.attrs["State"]["Status"] != "running" or flaky.attrs["RestartCount"] < 1:
        assert time.monotonic() < deadline, flaky.attrs["State"]
        time.sleep(0.1)
        flaky.reload()
    bundle = str(flaky.bundle)
    assert len([p for p, b in resolvers(engine).items() if b == bundle]) == 1
    code, out = flaky.exec_run(["cat", "/tmp/answers"])
    assert out.decode().count(f"Address: {ip}\n") == 2, out
    flaky.stop(timeout=1)
    assert bundle not in resolvers(engine).values()
