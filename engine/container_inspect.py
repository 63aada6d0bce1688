"""Docker's views of a container, from its record and the monitor's state: `docker inspect`
JSON (ContainerInspect of the Engine API, keys in Docker's order) and the summary
`GET /containers/json` lists (what `docker ps` shows).
"""
import time

from .containerfs import lowerdirs_abs
from .image.inspect import docker_config
from .units import human_duration

ZERO_TIME = "0001-01-01T00:00:00Z"
# Docker's HostConfig, field by field in its order, with what Docker shows when unset; keys a
# record has that aren't here (flags added later) follow them.
HOST_CONFIG_FIELDS = (
    ("Binds", None), ("ContainerIDFile", ""), ("LogConfig", {"Type": "json-file", "Config": {}}),
    ("NetworkMode", "bridge"), ("PortBindings", {}),
    ("RestartPolicy", {"Name": "no", "MaximumRetryCount": 0}), ("AutoRemove", False),
    ("VolumeDriver", ""), ("VolumesFrom", None), ("ConsoleSize", [0, 0]), ("CapAdd", None),
    ("CapDrop", None), ("CgroupnsMode", "private"), ("Dns", []), ("DnsOptions", []),
    ("DnsSearch", []), ("ExtraHosts", None), ("GroupAdd", None), ("IpcMode", "private"),
    ("Cgroup", ""), ("Links", None), ("OomScoreAdj", 0), ("PidMode", ""), ("Privileged", False),
    ("PublishAllPorts", False), ("ReadonlyRootfs", False), ("SecurityOpt", None),
    ("Tmpfs", None), ("UTSMode", ""), ("UsernsMode", ""), ("ShmSize", 67108864),
    ("Runtime", "runc"), ("Isolation", ""), ("CpuShares", 0), ("Memory", 0), ("NanoCpus", 0),
    ("CgroupParent", ""), ("BlkioWeight", 0), ("BlkioWeightDevice", []),
    ("BlkioDeviceReadBps", []), ("BlkioDeviceWriteBps", []), ("BlkioDeviceReadIOps", []),
    ("BlkioDeviceWriteIOps", []), ("CpuPeriod", 0), ("CpuQuota", 0), ("CpuRealtimePeriod", 0),
    ("CpuRealtimeRuntime", 0), ("CpusetCpus", ""), ("CpusetMems", ""), ("Devices", []),
    ("DeviceCgroupRules", None), ("DeviceRequests", None), ("MemoryReservation", 0),
    ("MemorySwap", 0), ("MemorySwappiness", None), ("OomKillDisable", None),
    ("PidsLimit", None), ("Ulimits", []), ("CpuCount", 0), ("CpuPercent", 0),
    ("IOMaximumIOps", 0), ("IOMaximumBandwidth", 0), ("MaskedPaths", None),
    ("ReadonlyPaths", None), ("Init", None))


def container_inspect(container, size: bool = False) -> dict:
    """`docker inspect` of a container; `size` adds SizeRw and SizeRootFs (`inspect --size`)."""
    record, state = container.record, container.state
    paused = state.status == "running" and container.status == "paused"
    bundle = container.bundle
    networks = network_settings(container)
    inspect = {
        "Id": record["Id"], "Created": record["Created"], "Path": record["Path"],
        "Args": record["Args"],
        "State": {
            # restarting counts as running, as in Docker (rm, stop... treat it so)
            "Status": "paused" if paused else state.status,
            "Running": state.status in ("running", "restarting"), "Paused": paused,
            "Restarting": state.status == "restarting",
            "OOMKilled": bool(state.oom_killed), "Dead": state.status == "dead",
            "Pid": state.pid or 0 if state.status == "running" else 0,
            "ExitCode": state.exit_code or 0, "Error": state.error or "",
            "StartedAt": state.started_at or ZERO_TIME, "FinishedAt": state.finished_at or ZERO_TIME,
            # "Health" follows here once the container has a healthcheck (Docker omits it).
        },
        "Image": record["Image"],
        "ResolvConfPath": str(bundle / "resolv.conf"), "HostnamePath": str(bundle / "hostname"),
        "HostsPath": str(bundle / "hosts"), "LogPath": log_path(container),
        "Name": record["Name"], "RestartCount": state.restart_count,
        "Driver": "overlay2", "Platform": "linux", "MountLabel": "", "ProcessLabel": "",
        "AppArmorProfile": "", "ExecIDs": None,
        "HostConfig": host_config(record.get("HostConfig") or {}),
        "GraphDriver": {"Data": {
            "LowerDir": ":".join(lowerdirs_abs(container)), "MergedDir": str(bundle / "merged"),
            "UpperDir": str(bundle / "upper"), "WorkDir": str(bundle / "work")},
            "Name": "overlay2"},
    }
    if state.health:        # the monitor's health.json, once a container with a check started
        inspect["State"]["Health"] = state.health
    if size:
        inspect.update(zip(("SizeRw", "SizeRootFs"), sizes(container)))
    inspect.update({
        "Mounts": [mount_point(m) for m in record.get("Mounts") or ()],
        "Config": docker_config(record.get("Config") or {}),
        "NetworkSettings": networks,
    })
    return inspect


def log_path(container) -> str:
    """The json-file log's path; "" with --log-driver none, which keeps none (as Docker)."""
    config = container.record.get("HostConfig", {}).get("LogConfig") or {}
    return "" if config.get("Type") == "none" else str(container.bundle / "container.log")


def host_config(recorded: dict) -> dict:
    """Docker's HostConfig from a record's: every field, -p specs as Docker's PortBindings map
    ({"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}), --tmpfs as its map."""
    out = {key: recorded.get(key, default) for key, default in HOST_CONFIG_FIELDS}
    out.update((k, v) for k, v in recorded.items() if k not in out)
    if out["NetworkMode"] == "default":
        out["NetworkMode"] = "bridge"
    if isinstance(out["PortBindings"], list):
        out["PortBindings"] = port_bindings(out["PortBindings"])
    if isinstance(out["Tmpfs"], list):
        out["Tmpfs"] = {spec.partition(":")[0]: spec.partition(":")[2] for spec in out["Tmpfs"]}
    for key in ("Binds", "VolumesFrom", "CapAdd", "CapDrop", "SecurityOpt", "Tmpfs"):
        out[key] = out[key] or None         # Docker shows null, not [], for these when unset
    out["PidsLimit"] = out["PidsLimit"] or None
    if not out["Init"]:
        del out["Init"]                     # omitempty: present only with --init
    return out


def port_bindings(specs) -> dict:
    """`-p` specs as Docker's HostConfig.PortBindings: what was asked, "" where unset."""
    from .network.ports import parse_publish
    bindings: dict[str, list] = {}
    for spec in specs:
        for b in parse_publish(spec):
            bindings.setdefault(f"{b.container_port}/{b.protocol}", []).append(
                {"HostIp": b.host_ip, "HostPort": str(b.host_port) if b.host_port else ""})
    return bindings


def mount_point(mount: dict) -> dict:
    """Docker's MountPoint for a record's mount."""
    kind = mount.get("Type") or "bind"
    point = {"Type": kind}
    if mount.get("Name"):
        point["Name"] = mount["Name"]
    point.update({"Source": mount.get("Source", ""), "Destination": mount.get("Destination", "")})
    if kind == "volume":
        point["Driver"] = mount.get("Driver") or "local"
    point.update({"Mode": mount.get("Mode", "z" if kind == "volume" else ""),
                  "RW": mount.get("RW", True),
                  "Propagation": mount.get("Propagation", "rprivate" if kind == "bind" else "")})
    return point


def network_settings(container, network_ids: dict | None = None) -> dict:
    """Docker's NetworkSettings: a map of EndpointSettings per network; the top-level address
    fields are the default bridge's (empty on other networks, as in Docker)."""
    record = container.record
    endpoints = record.get("Endpoints") or {}
    if network_ids is None:
        network_ids = ({n.name: n.id for n in container.engine.networks.list()} if endpoints
                       else {})
    networks = {name: endpoint_settings(name, ep, network_ids.get(name, ""), container)
                for name, ep in endpoints.items()}
    bridge = networks.get("bridge") or {}
    exposed = (record.get("Config") or {}).get("ExposedPorts") or {}
    return {
        "Bridge": "", "SandboxID": record["Id"] if endpoints else "",
        "SandboxKey": container.engine.networks.netns_path(record["Id"]) if endpoints else "",
        "Ports": {**{port: None for port in exposed}, **(record.get("Ports") or {})},
        "HairpinMode": False, "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0,
        "SecondaryIPAddresses": None, "SecondaryIPv6Addresses": None,
        "EndpointID": bridge.get("EndpointID", ""), "Gateway": bridge.get("Gateway", ""),
        "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
        "IPAddress": bridge.get("IPAddress", ""), "IPPrefixLen": bridge.get("IPPrefixLen", 0),
        "IPv6Gateway": "", "MacAddress": bridge.get("MacAddress", ""),
        "Networks": networks,
    }


def endpoint_settings(network: str, ep: dict, network_id: str, container) -> dict:
    """Docker's EndpointSettings for the record's endpoint on `network`; DNSNames are the
    names the container answers to there (none on the default bridge, as in Docker)."""
    from .network.model import endpoint_id
    aliases = list(ep.get("Aliases") or [])
    dns_names = [container.name, *aliases, container.short_id] if network != "bridge" else None
    return {
        "IPAMConfig": ep.get("IPAMConfig"), "Links": None, "Aliases": aliases or None,
        "MacAddress": ep.get("MacAddress", ""), "DriverOpts": None,
        "NetworkID": network_id,
        "EndpointID": endpoint_id(network_id, container.id) if ep.get("IPAddress") else "",
        "Gateway": ep.get("Gateway", ""), "IPAddress": ep.get("IPAddress", ""),
        "IPPrefixLen": ep.get("IPPrefixLen", 0), "IPv6Gateway": "", "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "DNSNames": list(dict.fromkeys(dns_names)) if dns_names else None,
    }


def sizes(container) -> tuple[int, int]:
    """(SizeRw, SizeRootFs): bytes the container wrote, and those plus its image's."""
    import os
    seen, written = set(), 0
    for top, _, files in os.walk(container.bundle / "upper"):
        for name in files:
            try:
                st = os.lstat(os.path.join(top, name))
            except FileNotFoundError:
                continue
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                written += st.st_size
    try:
        image = container.engine.images.get(container.record["Image"]).size
    except LookupError:             # its image was removed with --force
        image = 0
    return written, written + image


def container_summary(container, network_ids: dict | None = None, size: bool = False) -> dict:
    """The container as `GET /containers/json` lists it: Names, Command, Ports, State, Status."""
    record, state = container.record, container.state
    paused = state.status == "running" and container.status == "paused"
    settings = network_settings(container, network_ids)
    summary = {
        "Id": record["Id"], "Names": [record["Name"]], "Image": record.get("ImageRef") or
        record["Image"], "ImageID": record["Image"], "Command": command_text(record),
        "Created": int(_unix(record["Created"])),
        "Ports": port_list(settings["Ports"]),
    }
    if size:
        summary["SizeRw"], summary["SizeRootFs"] = sizes(container)
    summary.update({
        "Labels": (record.get("Config") or {}).get("Labels") or {},
        "State": "paused" if paused else state.status,
        "Status": status_text(state) + (" (Paused)" if paused else ""),
        "HostConfig": {"NetworkMode": host_config(record.get("HostConfig") or {})["NetworkMode"]},
        "NetworkSettings": {"Networks": settings["Networks"]},
        "Mounts": [mount_point(m) for m in record.get("Mounts") or ()],
    })
    return summary


def command_text(record: dict) -> str:
    """Docker's Command column: the path, then the args, those with spaces in 'quotes'."""
    args = [f"'{a}'" if " " in a else a for a in record.get("Args") or ()]
    return " ".join([record["Path"], *args]) if args else record["Path"]


def port_list(ports: dict) -> list[dict]:
    """NetworkSettings.Ports as the summary's list: one entry per binding, or per exposed port."""
    out = []
    for key, bindings in ports.items():
        port, _, proto = key.partition("/")
        if not bindings:
            out.append({"PrivatePort": int(port), "Type": proto or "tcp"})
        for b in bindings or ():
            out.append({"IP": b.get("HostIp") or "0.0.0.0", "PrivatePort": int(port),
                        "PublicPort": int(b["HostPort"]), "Type": proto or "tcp"})
    return out


def status_text(state, now: float | None = None) -> str:
    """Docker's Status: "Up 2 hours (healthy)", "Up 3 seconds (health: starting)",
    "Restarting (1) 2 seconds ago", "Exited (0) 3 seconds ago", "Created", "Dead"."""
    now = time.time() if now is None else now
    if state.status == "running":
        health = (state.health or {}).get("Status")
        suffix = f" (health: {health})" if health == "starting" else f" ({health})" if health else ""
        return f"Up {human_duration(now - _unix(state.started_at))}{suffix}"
    if state.status == "restarting":
        return f"Restarting ({state.exit_code or 0}) {human_duration(now - _unix(state.finished_at))} ago"
    if state.status == "dead":
        return "Dead"
    if state.status == "created" or not state.started_at or state.started_at == ZERO_TIME:
        return "Created"
    finished = _unix(state.finished_at) if state.finished_at else now
    return f"Exited ({state.exit_code or 0}) {human_duration(now - finished)} ago"


def _unix(rfc3339: str | None) -> float:
    from .image.model import parse_time
    return parse_time(rfc3339 or "")
