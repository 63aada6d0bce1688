"""Name resolution by DNS: what the embedded DNS server at 127.0.0.11 of each container answers.

A container on a user-defined network gets Docker's embedded DNS: its /etc/resolv.conf names
127.0.0.11, where a resolver started by its monitor answers (engine/runtime/shim_dns.c). That
resolver reads one file per container, `<bundle>/dns-records`, which the engine keeps current
beside the hosts files whenever an endpoint comes or goes (endpoints.refresh_hosts):

    server 10.255.255.53            an upstream for every other name (at most 3 are used)
    a web 172.18.0.2                an A record: name (lower case) -> IPv4 address
    a web.appnet 172.18.0.2         the same, qualified with the network's name, as Docker
    ptr 2.0.18.172.in-addr.arpa web.appnet     the reverse of a container's address

The names are Docker's DNSNames of every container on the container's user networks (its name,
its aliases there, its short id), so resolvers that never read /etc/hosts (nslookup, dig, Go's,
c-ares) find them too; a name known on two networks answers with the first network's addresses,
in the container's attach order, as Docker's sandbox does. The default bridge has no names, as
in Docker. Upstream servers are --dns, else the host's resolv.conf nameservers (loopback ones
included: the resolver forwards from the host's network namespace), else Google's, as Docker;
a container only on --internal networks forwards only to servers inside its own subnets, so no
query leaves through the host (Docker's rule since CVE-2024-29018).
"""
import ipaddress
import os

RESOLVER = "127.0.0.11"
RECORDS = "dns-records"              # in the container's bundle; its presence turns DNS on
HOST_RESOLV_CONF = "/etc/resolv.conf"
FALLBACK = ("8.8.8.8", "8.8.4.4")    # Docker's when the host names no server


def read_resolv_conf(path: str | None = None) -> list[list[str]]:
    """The host's resolv.conf as lists of words, comments and blank lines left out."""
    try:
        with open(path or HOST_RESOLV_CONF) as f:
            text = f.read()
    except OSError:
        return []
    return [line.split() for line in text.splitlines()
            if line.split() and not line.lstrip().startswith(("#", ";"))]


def wants_embedded(dns_servers) -> bool:
    """Whether a container on a user network gets the embedded server. Not with a loopback
    --dns: that names a server inside the container itself, which its resolv.conf then lists
    directly (the embedded one forwards from the host, where that address means the host)."""
    return not any(ipaddress.ip_address(s).is_loopback for s in dns_servers)


def resolv_conf(search=(), options=(), host: str | None = None) -> str:
    """The container's /etc/resolv.conf with the embedded server: 127.0.0.11, the host's search
    domains and options (or --dns-search and --dns-option), and ndots:0 unless an option sets
    ndots, as Docker writes it."""
    lines = read_resolv_conf(host)
    search = list(search) or [w for line in lines if line[0] == "search" for w in line[1:]]
    options = list(options) or [w for line in lines if line[0] == "options" for w in line[1:]]
    if not any(o.startswith("ndots:") for o in options):
        options.insert(0, "ndots:0")
    text = "# dockyard's embedded DNS server: container names, then the upstream servers\n"
    text += f"nameserver {RESOLVER}\n"
    if search:
        text += f"search {' '.join(search)}\n"
    return text + f"options {' '.join(options)}\n"


def upstreams(dns=(), subnets=None, host: str | None = None) -> list[str]:
    """Where the embedded server forwards other names: --dns, else the host's nameservers,
    else Google's. `subnets`: only servers inside these (a container on internal networks)."""
    servers = list(dns) or [line[1] for line in read_resolv_conf(host)
                            if line[0] == "nameserver" and len(line) > 1] or list(FALLBACK)
    if subnets is not None:
        servers = [s for s in servers if _inside(s, subnets)]
    return servers


def _inside(server: str, subnets) -> bool:
    try:
        address = ipaddress.ip_address(server.split("%")[0])
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(n) for n in subnets)


def render_records(networks, servers) -> str:
    """The records file: `networks` is [(network name, [(ip, [names])])] in the container's
    attach order; a name another network answers already is left out (Docker's order)."""
    lines = [f"server {s}\n" for s in servers]
    claimed: dict[str, str] = {}          # unqualified name -> the network that answers it
    for network, endpoints in networks:
        network = network.lower()
        for ip, names in endpoints:
            names = [n.lower() for n in dict.fromkeys(names) if n]
            for name in names:
                if claimed.setdefault(name, network) == network:
                    lines.append(f"a {name} {ip}\n")
                lines.append(f"a {name}.{network} {ip}\n")
            if names:
                reverse = ".".join(reversed(ip.split("."))) + ".in-addr.arpa"
                lines.append(f"ptr {reverse} {names[0]}.{network}\n")
    return "".join(dict.fromkeys(lines))


def write_records(path: str, text: str) -> None:
    """Replace the records file atomically: the resolver reads it afresh for each query."""
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def parse_link(entry: str) -> tuple[str, str]:
    """One of HostConfig.Links, "/db:/web/database" (Docker's form) -> ("db", "database")."""
    target, _, alias = entry.partition(":")
    target = target.lstrip("/")
    return target, alias.rpartition("/")[2] or target


def is_link_target(target: str, peer: str, endpoint: dict) -> bool:
    """Whether --link's `target` (a name, or an id of 12 digits or more) names this endpoint's
    container."""
    target = target.lower()
    return target == (endpoint.get("name") or "").lower() or (len(target) >= 12
                                                               and peer.startswith(target))


def names_for(networks, cid: str, links=()) -> tuple[list, list[str] | None]:
    """What container `cid`'s server answers, from `networks` (Network values): for each user
    network it is on, in attach order, every endpoint's address and Docker's DNSNames there
    (name, aliases, short id), and the aliases of its own --link (target, alias) pairs, which
    only it sees, as Docker's; and the subnets it may forward into (None: anywhere, once one
    of its networks is not internal)."""
    mine = sorted((n for n in networks if cid in n.endpoints),
                  key=lambda n: int(n.endpoints[cid]["ifname"][3:]))
    answers = []
    for net in mine:
        if net.default:
            continue
        peers = sorted(net.endpoints.items(), key=lambda item: ipaddress.ip_address(item[1]["ip"]))
        answers.append((net.name, [(ep["ip"], [ep.get("name"), *ep["aliases"], peer[:12],
                                               *(alias for target, alias in links
                                                 if is_link_target(target, peer, ep))])
                                   for peer, ep in peers]))
    external = any(not net.internal for net in mine)
    return answers, None if external else [net.subnet for net in mine]
