"""System routes: ping, version, info, events, disk usage, registry login."""
import os
import sys
import time
from functools import lru_cache

from .http import JSON, Reply, json_line


ROUTES = [
    ("GET", "/_ping", "ping"),
    ("HEAD", "/_ping", "ping"),
    ("GET", "/version", "version"),
    ("GET", "/info", "info"),
    ("GET", "/events", "events"),
    ("GET", "/system/df", "disk_usage"),
    ("POST", "/auth", "auth"),
]


def ping(api, request):
    # The CLI pings with HEAD first and negotiates its API version from these headers.
    headers = {"Builder-Version": "1", "Swarm": "inactive",
               "Cache-Control": "no-cache, no-store, must-revalidate", "Pragma": "no-cache"}
    return Reply(200, b"OK", "text/plain; charset=utf-8", headers)


def version(api, request):
    from .app import API_VERSION, MIN_API_VERSION
    from ..image.model import host_architecture
    details = {"ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION, "Os": "linux",
               "Arch": host_architecture(), "KernelVersion": os.uname().release,
               "GitCommit": "", "GoVersion": "python" + ".".join(map(str, sys.version_info[:3])),
               "BuildTime": "", "Experimental": "false"}
    # Components[].Details must be strings; the top-level Experimental a bool (the Go client).
    return {"Platform": {"Name": "dockyard"}, "Version": dockyard_version(), **details,
            "Experimental": False,
            "Components": [{"Name": "Engine", "Version": dockyard_version(), "Details": details}]}


@lru_cache(maxsize=1)
def dockyard_version() -> str:
    from importlib.metadata import PackageNotFoundError, version as package_version
    try:
        return package_version("dockyard")
    except PackageNotFoundError:
        return "0.0.0"


def server_header() -> str:
    return f"dockyard/{dockyard_version()} (linux)"


def info(api, request):
    """`docker info`: Docker's keys, filled from the engine's own host report."""
    from .app import API_VERSION
    engine = api.engine
    host = engine.info()
    containers = engine.containers.list(all=True)
    running = sum(c.status == "running" for c in containers)
    cgroup = host["Cgroup Version"][:1]
    meminfo = _meminfo_total()
    return {
        "ID": _daemon_id(engine), "Containers": len(containers), "ContainersRunning": running,
        "ContainersPaused": 0, "ContainersStopped": len(containers) - running,
        "Images": host["Images"], "Driver": host["Storage Driver"],
        "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]],
        "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "null"],
                    "Authorization": None, "Log": ["json-file"]},
        "MemoryLimit": True, "SwapLimit": True, "CpuCfsPeriod": True, "CpuCfsQuota": True,
        "CPUShares": False, "CPUSet": False, "PidsLimit": True, "IPv4Forwarding": True,
        "BridgeNfIptables": False, "BridgeNfIp6tables": False, "Debug": False,
        "NFd": len(os.listdir("/proc/self/fd")), "OomKillDisable": False,
        "NGoroutines": 0, "SystemTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "LoggingDriver": "json-file", "CgroupDriver": "cgroupfs", "CgroupVersion": cgroup,
        "NEventsListener": api.events.listeners, "KernelVersion": host["Kernel Version"],
        "OperatingSystem": _os_name(), "OSVersion": "", "OSType": "linux",
        "Architecture": host["Architecture"], "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {"IndexConfigs": {}, "InsecureRegistryCIDRs": ["127.0.0.0/8"],
                           "Mirrors": []},
        "NCPU": host["CPUs"], "MemTotal": meminfo, "DockerRootDir": host["Docker Root Dir"],
        "Name": os.uname().nodename, "Labels": [], "ExperimentalBuild": False,
        "ServerVersion": dockyard_version(),
        "Runtimes": {"dockyard-shim": {"path": "dockyard-shim"}},
        "DefaultRuntime": "dockyard-shim", "Swarm": {"LocalNodeState": "inactive",
                                                      "ControlAvailable": False, "NodeID": "",
                                                      "NodeAddr": "", "Error": "",
                                                      "RemoteManagers": None},
        "LiveRestoreEnabled": True, "Isolation": "", "InitBinary": "",
        "ContainerdCommit": {"ID": ""}, "RuncCommit": {"ID": ""}, "InitCommit": {"ID": ""},
        "SecurityOptions": ["name=cgroupns"], "Warnings": [],
        "ApiVersion": API_VERSION,
    }


def _daemon_id(engine) -> str:
    """A stable id per data root (docker info's ID)."""
    import hashlib
    return hashlib.sha256(str(engine.root).encode()).hexdigest()[:36]


def _meminfo_total() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _os_name() -> str:
    try:
        with open("/etc/os-release") as f:
            fields = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
        return fields.get("PRETTY_NAME", "Linux").strip('"')
    except OSError:
        return "Linux"


def events(api, request):
    """A JSON stream of Docker events, past ones from `since` on, until `until` or the client
    goes; filters as `docker events --filter` sends them."""
    from .events import event_matcher
    since, until = _time_arg(request.arg("since")), _time_arg(request.arg("until"))
    matches = event_matcher(request.json_arg("filters", {}))
    out = request.stream(JSON)
    for event in api.events.follow(since=since, until=until, stop=request.gone):
        if matches(event):
            out.write(json_line(event))
    out.close()


def _time_arg(value: str | None) -> float | None:
    """A Unix time (maybe fractional) or a duration such as 10m ago, as the CLI sends both as
    seconds, or RFC 3339."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        from ..image.model import parse_time
        from ..errors import InvalidArgument
        try:
            return parse_time(value)
        except ValueError:
            raise InvalidArgument(f"invalid time: {value!r}") from None


def disk_usage(api, request):
    """`docker system df`: images, containers, volumes and their sizes."""
    from ..container_inspect import container_summary
    from ..image.inspect import summary as image_summary
    from ..volumes import tree_size
    engine = api.engine
    containers = engine.containers.list(all=True)
    used = {}
    for c in containers:
        used[c.record["Image"]] = used.get(c.record["Image"], 0) + 1
    images = [{**image_summary(im), "Containers": used.get(im.id, 0)}
              for im in engine.images.list()]
    layers = {layer.chain_id: layer.size for im in engine.images.list() for layer in im.layers}
    mounted = {}
    for c in containers:
        for m in c.record.get("Mounts") or ():
            if m.get("Name"):
                mounted[m["Name"]] = mounted.get(m["Name"], 0) + 1
    volumes = []
    for volume in engine.volumes.list():
        view = volume.inspect()
        view["UsageData"] = {"Size": tree_size(volume.mountpoint),
                             "RefCount": mounted.get(volume.name, 0)}
        volumes.append(view)
    return {"LayersSize": sum(layers.values()), "Images": images,
            "Containers": [container_summary(c, size=True) for c in containers],
            "Volumes": volumes, "BuildCache": []}


def auth(api, request):
    """`docker login`: check the credentials with the registry; the client keeps them."""
    body = request.json()
    server = body.get("serveraddress") or "docker.io"
    api.engine.images.login(server, body.get("username") or "", body.get("password") or "",
                            remember=False)
    return {"Status": "Login Succeeded", "IdentityToken": ""}

