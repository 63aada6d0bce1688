"""Containers on networks: the glue between container records and engine/network/.

A container joins its network at create time (so its address is known before it starts and
stays its own until removal), publishes its ports, and every attached container's /etc/hosts is
rewritten in place whenever a container joins or leaves (names resolve through kept-current
hosts files: see engine/network/hosts.py for why).
"""
from .errors import Conflict, InvalidArgument


def join(engine, cid: str, name: str, hostname: str, options, image) -> tuple[str, dict, dict]:
    """(netns path, NetworkSettings.Networks, NetworkSettings.Ports) for a new container."""
    nets = engine.networks
    network = options.network or engine.default_network()
    if network == "bridge":
        nets.ensure_default()
    endpoint = nets.attach(cid, network, ip=options.ip, aliases=options.network_aliases,
                           hostname=hostname, name=name)
    ports = {}
    bindings = _bindings(options, image)
    if bindings:
        ports = ports_record(nets.publish(cid, bindings))
    return nets.netns_path(cid), {endpoint.network: endpoint_record(endpoint)}, ports


def _bindings(options, image):
    from .network.ports import PortBinding, parse_publish
    bindings = [b for spec in options.ports for b in parse_publish(spec)]
    if options.publish_all:
        from .runtime.convert import parse_expose
        published = {(b.container_port, b.protocol) for b in bindings}
        exposed = {**((image.config.get("config") or {}).get("ExposedPorts") or {}),
                   **parse_expose(options.expose)}
        for key in exposed:
            port, _, proto = key.partition("/")
            if (int(port), proto or "tcp") not in published:
                bindings.append(PortBinding(int(port), proto or "tcp"))
    return bindings


def endpoint_record(endpoint) -> dict:
    """Docker's NetworkSettings.Networks entry."""
    return {"IPAddress": endpoint.ip, "IPPrefixLen": endpoint.prefixlen,
            "Gateway": endpoint.gateway, "MacAddress": endpoint.mac,
            "Aliases": list(endpoint.aliases), "NetworkID": endpoint.network}


def ports_record(bindings) -> dict:
    """Docker's NetworkSettings.Ports: {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}."""
    ports = {}
    for b in bindings:
        ports.setdefault(f"{b.container_port}/{b.protocol}", []).append(
            {"HostIp": b.host_ip or "0.0.0.0", "HostPort": str(b.host_port)})
    return ports


def refresh_hosts(engine) -> None:
    """Rewrite the /etc/hosts of every container on a network (in place: it is bind-mounted)."""
    from .network.hosts import write_in_place

    def write(cid, text):
        path = engine.root / "containers" / cid / "hosts"
        if path.exists():
            write_in_place(str(path), text + _extra_hosts(engine, cid))
    engine.networks.refresh_hosts(write)


def _extra_hosts(engine, cid: str) -> str:
    """The container's --add-host lines, kept below the network's names on every rewrite."""
    import json
    from .runtime.bundle import extra_hosts_text
    try:
        with open(engine.root / "containers" / cid / "container.json") as f:
            entries = json.load(f)["HostConfig"].get("ExtraHosts") or []
    except (OSError, ValueError, KeyError):
        return ""
    return extra_hosts_text(entry.split(":", 1) for entry in entries)


def connect(engine, network: str, ref: str, *, aliases=(), ip=None) -> None:
    """docker network connect: one more network for a container created on a bridge network."""
    container = engine.containers.get(ref)
    if not engine.has_networks(container):
        raise Conflict(f"container {container.name} has no network namespace of its own to "
                       "connect (it was created with --network none, host or container:)")
    endpoint = engine.networks.attach(container.id, network, ip=ip, aliases=tuple(aliases),
                                      hostname=container.record["Config"]["Hostname"],
                                      name=container.name)
    container.record.setdefault("Endpoints", {})[endpoint.network] = endpoint_record(endpoint)
    engine.containers.save(container)
    refresh_hosts(engine)


def disconnect(engine, network: str, ref: str) -> None:
    container = engine.containers.get(ref)
    name = engine.networks.get(network).name
    if name not in container.record.get("Endpoints", {}):
        raise InvalidArgument(f"container {container.name} is not connected to network {name}")
    engine.networks.detach(container.id, name)
    del container.record["Endpoints"][name]
    engine.containers.save(container)
    refresh_hosts(engine)
