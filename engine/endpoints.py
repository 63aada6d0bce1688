"""Containers on networks: the glue between container records and engine/network/.

A container joins its network at create time (so its address is known before it starts),
publishes its ports, gives both back when it exits (`release`: the monitor's exit command, stop,
or the engine that waited for it) and takes them again when it starts (`rejoin`), as Docker
does. Its record keeps what it asked for (networks, aliases, a fixed --ip, -p) across that.
Every attached container's /etc/hosts is rewritten in place whenever a container joins or
leaves, and so are the records its embedded DNS server answers from (engine/network/hosts.py,
engine/network/dns.py).
"""
from . import intents
from .errors import Conflict, ContainerNotFound, InvalidArgument

# The states in which a container keeps its network reservations.
HOLDING = ("created", "running", "restarting", "paused")   # restarting: between two runs


def join(engine, cid: str, name: str, hostname: str, options, image) -> tuple[str, dict, dict]:
    """(netns path, NetworkSettings.Networks, NetworkSettings.Ports) for a new container."""
    nets = engine.networks
    network = options.network or engine.default_network()
    if network == "bridge":
        nets.ensure_default()
    endpoint = nets.attach(cid, network, ip=options.ip, aliases=options.network_aliases,
                           hostname=hostname, name=name)
    from .runtime.convert import parse_expose
    ports = {}
    exposed = {**((image.config.get("config") or {}).get("ExposedPorts") or {}),
               **parse_expose(options.expose)}
    bindings = _bindings(options.ports, options.publish_all, exposed)
    if bindings:
        ports = ports_record(nets.publish(cid, bindings))
    return nets.netns_path(cid), {endpoint.network: endpoint_record(endpoint, options.ip)}, ports


def _bindings(specs, publish_all: bool, exposed):
    from .network.ports import PortBinding, parse_publish
    bindings = [b for spec in specs for b in parse_publish(spec)]
    if publish_all:
        published = {(b.container_port, b.protocol) for b in bindings}
        for key in exposed:
            port, _, proto = key.partition("/")
            if (int(port), proto or "tcp") not in published:
                bindings.append(PortBinding(int(port), proto or "tcp"))
    return bindings


def endpoint_record(endpoint, fixed_ip: str | None = None) -> dict:
    """Docker's NetworkSettings.Networks entry (IPAMConfig: the address asked for with --ip)."""
    return {"IPAMConfig": {"IPv4Address": fixed_ip} if fixed_ip else None,
            "IPAddress": endpoint.ip, "IPPrefixLen": endpoint.prefixlen,
            "Gateway": endpoint.gateway, "MacAddress": endpoint.mac,
            "Aliases": list(endpoint.aliases), "NetworkID": endpoint.network}


def _fixed_ip(entry: dict) -> str | None:
    return (entry.get("IPAMConfig") or {}).get("IPv4Address") or None


def release(engine, container) -> bool:
    """Give back what a stopped container holds on networks (addresses, ports, netns, veths);
    its record keeps which networks and ports it asked for. False when it held nothing."""
    record = container.record
    if not record.get("Endpoints") or not engine.networks.release(container.id):
        return False
    for entry in record["Endpoints"].values():
        entry.update(IPAddress="", IPPrefixLen=0, Gateway="", MacAddress="")
    record["Ports"] = {}
    engine.containers.save(container)
    refresh_hosts(engine)
    return True


def rejoin(engine, container) -> None:
    """Take the networks and ports of a stopped container again, before it starts: the same
    networks, aliases and fixed addresses; published ports as asked (a random one anew)."""
    nets, record, cid = engine.networks, container.record, container.id
    if nets.endpoints(cid):
        return
    try:
        joined = {}
        for network, entry in record["Endpoints"].items():   # in attach order: eth0 first
            if nets.is_default(network):
                nets.ensure_default()
            endpoint = nets.attach(cid, network, ip=_fixed_ip(entry),
                                   aliases=tuple(entry.get("Aliases") or ()),
                                   hostname=record["Config"]["Hostname"], name=container.name)
            joined[endpoint.network] = endpoint_record(endpoint, _fixed_ip(entry))
        host = record["HostConfig"]
        bindings = _bindings(host.get("PortBindings") or (), host.get("PublishAllPorts"),
                             record["Config"].get("ExposedPorts") or {})
        ports = ports_record(nets.publish(cid, bindings)) if bindings else {}
    except BaseException:
        nets.release(cid)
        raise
    record["Endpoints"], record["Ports"] = joined, ports
    engine.containers.save(container)
    refresh_hosts(engine)


def ports_record(bindings) -> dict:
    """Docker's NetworkSettings.Ports: {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}."""
    ports = {}
    for b in bindings:
        ports.setdefault(f"{b.container_port}/{b.protocol}", []).append(
            {"HostIp": b.host_ip or "0.0.0.0", "HostPort": str(b.host_port)})
    return ports


def refresh_hosts(engine) -> None:
    """Rewrite the /etc/hosts of every container on a network (in place: it is bind-mounted),
    and the records of the embedded DNS servers (network/dns.py)."""
    from .network.hosts import write_in_place

    networks = engine.networks.list()

    def write(cid, text):
        path = engine.root / "containers" / cid / "hosts"
        if path.exists():
            write_in_place(str(path), text + _extra_hosts(engine, cid)
                           + _legacy_link_hosts(networks, cid, _links(engine, cid)))
    engine.networks.refresh_hosts(write)
    _refresh_dns(engine, networks)


def _refresh_dns(engine, networks) -> None:
    """Rewrite `<bundle>/dns-records` of every attached container that has one."""
    from .network import dns
    for cid in sorted({cid for net in networks for cid in net.endpoints}):
        path = engine.root / "containers" / cid / dns.RECORDS
        if path.exists():
            names, subnets = dns.names_for(networks, cid, _links(engine, cid))
            servers = dns.upstreams(_host_config(engine, cid).get("Dns") or (), subnets)
            dns.write_records(str(path), dns.render_records(names, servers))


def _links(engine, cid: str) -> list[tuple[str, str]]:
    """The container's --link (target, alias) pairs."""
    from .network.dns import parse_link
    return [parse_link(entry) for entry in _host_config(engine, cid).get("Links") or ()]


def _legacy_link_hosts(networks, cid: str, links) -> str:
    """/etc/hosts lines of --link on the default bridge (Docker's legacy links): "IP alias
    name" for each target there. On user networks the embedded DNS server answers them."""
    from .network.dns import is_link_target
    bridge = next((net for net in networks if net.default and cid in net.endpoints), None)
    if bridge is None or not links:
        return ""
    return "".join(f"{ep['ip']}\t{alias} {ep.get('name') or peer[:12]}\n"
                   for target, alias in links for peer, ep in sorted(bridge.endpoints.items())
                   if peer != cid and is_link_target(target, peer, ep))


def _host_config(engine, cid: str) -> dict:
    import json
    try:
        with open(engine.root / "containers" / cid / "container.json") as f:
            return json.load(f)["HostConfig"]
    except (OSError, ValueError, KeyError):
        return {}


def _extra_hosts(engine, cid: str) -> str:
    """The container's --add-host lines, kept below the network's names on every rewrite."""
    from .runtime.bundle import extra_hosts_text
    entries = _host_config(engine, cid).get("ExtraHosts") or []
    return extra_hosts_text(entry.split(":", 1) for entry in entries)


def holding(engine, cid: str, live: set | None = None) -> bool:
    """Whether `cid` may hold network reservations: an operation on it is in progress, or it
    is created or running. `live`: intents.live_keys(), when the caller has it already."""
    if cid in (intents.live_keys(engine.root) if live is None else live):
        return True
    bundle = engine.root / "containers" / cid
    try:
        return (engine.runtime.state(str(bundle)).status in HOLDING
                and (bundle / "container.json").exists())
    except ContainerNotFound:
        return False


def connect(engine, network: str, ref: str, *, aliases=(), ip=None) -> None:
    """docker network connect: one more network for a container created on a bridge network."""
    container = engine.containers.get(ref)
    if not engine.has_networks(container):
        raise Conflict(f"container {container.name} has no network namespace of its own to "
                       "connect (it was created with --network none, host or container:)")
    with engine.runtime.start_lock(str(container.bundle)):
        endpoints = container.record.setdefault("Endpoints", {})
        if not holding(engine, container.id):       # stopped: it joins when it starts
            net = engine.networks.get(network)
            if net.name in endpoints:
                raise Conflict(f"container {container.name} is already connected to {net.name}")
            endpoints[net.name] = {
                "IPAMConfig": {"IPv4Address": ip} if ip else None, "IPAddress": "",
                "IPPrefixLen": 0, "Gateway": "", "MacAddress": "", "Aliases": list(aliases),
                "NetworkID": net.name}
            engine.containers.save(container)
            return
        endpoint = engine.networks.attach(container.id, network, ip=ip, aliases=tuple(aliases),
                                          hostname=container.record["Config"]["Hostname"],
                                          name=container.name)
        endpoints[endpoint.network] = endpoint_record(endpoint, ip)
        engine.containers.save(container)
    refresh_hosts(engine)


def disconnect(engine, network: str, ref: str) -> None:
    container = engine.containers.get(ref)
    name = engine.networks.get(network).name
    if name not in container.record.get("Endpoints", {}):
        raise InvalidArgument(f"container {container.name} is not connected to network {name}")
    if any(ep.network == name for ep in engine.networks.endpoints(container.id)):
        engine.networks.detach(container.id, name)
    del container.record["Endpoints"][name]
    engine.containers.save(container)
    refresh_hosts(engine)
