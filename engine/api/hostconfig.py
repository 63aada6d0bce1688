"""Docker's `POST /containers/create` body (Config, HostConfig, NetworkingConfig) as RunOptions.

    plan = create_plan(body, name="web")
    plan.options          # RunOptions for engine.containers.create
    plan.connect          # [(network, aliases, ip)]: more networks to join after create
    plan.console_size     # (rows, cols) for a TTY, applied at start

Clients send every field, most with Go's zero value; a field the engine can't honour is a 400
naming it only when its value asks for something (`HostConfig.Devices is not supported`).
Fields nobody here knows are ignored, as dockerd ignores them.
"""
import csv
import io
from dataclasses import dataclass, field, replace

from ..errors import InvalidArgument
from ..options import RunOptions

# Accepted when they hold one of these values (or a zero value); anything else is a 400.
NEUTRAL = {
    "Config": {
        "Domainname": ("",), "MacAddress": ("",),
    },
    "HostConfig": {
        "VolumeDriver": ("", "local"),
        "CgroupnsMode": ("", "private"), "IpcMode": ("", "private", "shareable"),
        "PidMode": ("",), "UTSMode": ("",), "UsernsMode": ("",), "Cgroup": ("",),
        "CgroupParent": ("",), "Runtime": ("", "runc"), "Isolation": ("", "default"),
        "MemorySwappiness": (-1,), "Links": (), "OomScoreAdj": (), "CpusetMems": (),
        "DeviceCgroupRules": (), "DeviceRequests": (), "BlkioWeight": (),
        "BlkioWeightDevice": (), "BlkioDeviceReadBps": (), "BlkioDeviceWriteBps": (),
        "BlkioDeviceReadIOps": (), "BlkioDeviceWriteIOps": (), "KernelMemory": (),
        "KernelMemoryTCP": (), "CpuRealtimePeriod": (), "CpuRealtimeRuntime": (),
        "CpuCount": (), "CpuPercent": (), "IOMaximumIOps": (), "IOMaximumBandwidth": (),
        "StorageOpt": (),
    },
}


@dataclass
class CreatePlan:
    options: RunOptions
    connect: list = field(default_factory=list)
    console_size: tuple[int, int] | None = None


def _zero(value) -> bool:
    return value in (None, "", 0, False, [], {})


def _get(obj: dict, dotted: str):
    for part in dotted.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def check_supported(section: str, values: dict) -> None:
    """InvalidArgument naming the first field that asks for what the engine can't do."""
    for dotted, neutral in NEUTRAL[section].items():
        value = _get(values, dotted)
        if not _zero(value) and value not in neutral:
            raise InvalidArgument(f"{section}.{dotted} is not supported by dockyard "
                                  f"(got {value!r})")


def create_plan(body: dict, name: str | None = None, platform: str | None = None) -> CreatePlan:
    """The RunOptions (and what follows create) for a create body; InvalidArgument if bad."""
    if not isinstance(body, dict):
        raise InvalidArgument("the create body must be a JSON object")
    host = body.get("HostConfig") or {}
    check_supported("Config", body)
    check_supported("HostConfig", host)
    if not body.get("Image"):
        raise InvalidArgument("Config.Image is required")
    network = host.get("NetworkMode") or None
    if body.get("NetworkDisabled"):
        network = "none"
    elif network == "default":
        network = None
    endpoints = dict((body.get("NetworkingConfig") or {}).get("EndpointsConfig") or {})
    first = endpoints.pop(network or "default", None) or endpoints.pop("bridge", None) or {}
    ip = ((first.get("IPAMConfig") or {}).get("IPv4Address")) or None
    connect = [(net, tuple(cfg.get("Aliases") or ()),
                ((cfg or {}).get("IPAMConfig") or {}).get("IPv4Address") or None)
               for net, cfg in endpoints.items() if net not in ("default", network)]
    volumes = [*(host.get("Binds") or ()), *_anonymous(body, host)]
    options = RunOptions.from_kwargs(
        image=body["Image"], command=_command(body.get("Cmd")),
        entrypoint=_entrypoint(body.get("Entrypoint")), name=(name or "").lstrip("/") or None,
        environment=tuple(body.get("Env") or ()), working_dir=body.get("WorkingDir") or None,
        user=body.get("User") or None, hostname=body.get("Hostname") or None,
        labels=dict(body.get("Labels") or {}), tty=bool(body.get("Tty")),
        stdin_open=bool(body.get("OpenStdin")), auto_remove=bool(host.get("AutoRemove")),
        network=network, ip=ip, network_aliases=tuple(first.get("Aliases") or ()),
        ports=tuple(_port_specs(host.get("PortBindings"))),
        publish_all=bool(host.get("PublishAllPorts")), volumes=tuple(volumes),
        mounts=tuple(_mount_spec(m) for m in host.get("Mounts") or ()),
        tmpfs=tuple(f"{k}:{v}" if v else k for k, v in (host.get("Tmpfs") or {}).items()),
        volumes_from=tuple(host.get("VolumesFrom") or ()),
        memory=host.get("Memory") or None, memory_swap=_swap(host.get("MemorySwap")),
        cpus=_cpus(host), pids_limit=_positive(host.get("PidsLimit")),
        cap_add=tuple(host.get("CapAdd") or ()), cap_drop=tuple(host.get("CapDrop") or ()),
        privileged=bool(host.get("Privileged")), security_opt=tuple(host.get("SecurityOpt") or ()),
        read_only=bool(host.get("ReadonlyRootfs")), init=bool(host.get("Init")),
        stop_signal=body.get("StopSignal") or None, stop_timeout=body.get("StopTimeout"),
        ulimits=tuple(_ulimit(u) for u in host.get("Ulimits") or ()),
        devices=tuple(_device(d) for d in host.get("Devices") or ()),
        extra_hosts=tuple(host.get("ExtraHosts") or ()), dns=tuple(host.get("Dns") or ()),
        dns_search=tuple(host.get("DnsSearch") or ()),
        dns_opt=tuple(host.get("DnsOptions") or ()), links=tuple(host.get("Links") or ()),
        expose=tuple((body.get("ExposedPorts") or {}).keys()),
        shm_size=host.get("ShmSize") or None, platform=platform or None,
        log_driver=(host.get("LogConfig") or {}).get("Type") or "json-file",
        log_opts=dict((host.get("LogConfig") or {}).get("Config") or {}),
        restart_policy=host.get("RestartPolicy") or None, healthcheck=body.get("Healthcheck"),
        sysctls=dict(host.get("Sysctls") or {}), group_add=tuple(host.get("GroupAdd") or ()),
        oom_kill_disable=bool(host.get("OomKillDisable")),
        cpu_shares=host.get("CpuShares") or None, cpuset_cpus=host.get("CpusetCpus") or None,
        memory_reservation=host.get("MemoryReservation") or None,
        pull="never")
    size = host.get("ConsoleSize") or [0, 0]
    console = (int(size[0]), int(size[1])) if body.get("Tty") and all(size) else None
    return CreatePlan(replace(options, console_size=console), connect, console)


def _anonymous(body: dict, host: dict) -> list[str]:
    """Config.Volumes paths no bind or mount covers: anonymous volumes (docker-py names a
    bind's target in both places)."""
    taken = {(b.split(":")[1] if ":" in b else b) for b in host.get("Binds") or ()}
    taken |= {m.get("Target") for m in host.get("Mounts") or ()}
    taken |= set((host.get("Tmpfs") or {}).keys())
    return sorted(path for path in (body.get("Volumes") or {}) if path not in taken)


def _command(value):
    if value in (None, []):
        return None
    return (value,) if isinstance(value, str) else tuple(value)


def _entrypoint(value):
    """None: the image's; [] or [""] (`--entrypoint ""`): none at all."""
    if value is None:
        return None
    if isinstance(value, str):
        return (value,) if value else ()
    return () if list(value) in ([], [""]) else tuple(value)


def _port_specs(bindings) -> list[str]:
    """{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]} -> ["8080:80/tcp"] (-p syntax)."""
    specs = []
    for port, hosts in (bindings or {}).items():
        for binding in hosts or [{}]:
            host_ip = (binding or {}).get("HostIp") or ""
            host_port = (binding or {}).get("HostPort") or ""
            if host_ip:
                address = f"[{host_ip}]" if ":" in host_ip else host_ip
                specs.append(f"{address}:{host_port}:{port}")
            elif host_port:
                specs.append(f"{host_port}:{port}")
            else:
                specs.append(port)
    return specs


def _mount_spec(mount: dict) -> str:
    """A HostConfig.Mounts entry as the --mount syntax engine/mounts.py parses."""
    fields = [f"type={mount.get('Type') or 'volume'}"]
    if mount.get("Source"):
        fields.append(f"source={mount['Source']}")
    if not mount.get("Target"):
        raise InvalidArgument("HostConfig.Mounts: Target is required")
    fields.append(f"target={mount['Target']}")
    if mount.get("ReadOnly"):
        fields.append("readonly")
    propagation = (mount.get("BindOptions") or {}).get("Propagation")
    if propagation:
        fields.append(f"bind-propagation={propagation}")
    volume = mount.get("VolumeOptions") or {}
    if volume.get("NoCopy"):
        fields.append("volume-nocopy")
    for key, value in (volume.get("Labels") or {}).items():
        fields.append(f"volume-label={key}={value}")
    driver = (volume.get("DriverConfig") or {}).get("Name")
    if driver and driver != "local":
        raise InvalidArgument(f"HostConfig.Mounts: volume driver {driver!r} is not supported")
    tmpfs = mount.get("TmpfsOptions") or {}
    if tmpfs.get("SizeBytes"):
        fields.append(f"tmpfs-size={tmpfs['SizeBytes']}")
    if tmpfs.get("Mode"):
        fields.append(f"tmpfs-mode={tmpfs['Mode'] & 0o7777:o}")
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    return out.getvalue()


def _swap(value):
    if _zero(value):
        return None
    return "-1" if value == -1 else value


def _cpus(host: dict):
    if host.get("NanoCpus"):
        return host["NanoCpus"] / 1e9
    quota, period = host.get("CpuQuota") or 0, host.get("CpuPeriod") or 100000
    return quota / period if quota > 0 else None


def _positive(value):
    return value if isinstance(value, int) and value > 0 else None


def _device(device: dict) -> str:
    """A HostConfig.Devices entry as the --device syntax: HOST[:CONTAINER[:PERMISSIONS]]."""
    if not isinstance(device, dict) or not device.get("PathOnHost"):
        raise InvalidArgument(f"HostConfig.Devices: invalid entry {device!r}")
    return ":".join([device["PathOnHost"], device.get("PathInContainer") or device["PathOnHost"],
                     device.get("CgroupPermissions") or "rwm"])


def _ulimit(limit: dict) -> str:
    try:
        return f"{limit['Name']}={int(limit['Soft'])}:{int(limit['Hard'])}"
    except (KeyError, TypeError, ValueError):
        raise InvalidArgument(f"HostConfig.Ulimits: invalid entry {limit!r}") from None
