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
        "NEventsListener": 0, "KernelVersion": host["Kernel Version"],
        "OperatingSystem": _os_name(), "OSVersion": "", "OSType": "linux",
        "Architecture": host["Architecture"], "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": _registry_config(engine.registry_config()),
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


EVENT_FILTERS = ("type", "event", "container", "image", "label", "network", "volume")


def events(api, request):
    """A JSON stream of the data root's events (engine/events.py): past ones from `since`
    (without it only new ones, as Docker does), until `until` or until the client goes."""
    import time

    from ..filters import Filters
    since, until = _time_arg(request.arg("since")), _time_arg(request.arg("until"))
    wanted = Filters.of(request.json_arg("filters", {})).validate(EVENT_FILTERS)
    out = request.stream(JSON)
    for event in api.engine.events(since=time.time() if since is None else since, until=until,
                                   filters=wanted.values, follow=until is None or
                                   until > time.time(), stop=request.gone):
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
    """`docker system df`: the engine's report, its lists in the Engine API's types (the Go
    client wants numbers where the engine keeps RFC 3339 times)."""
    from ..container_inspect import container_summary
    from ..errors import NotFound
    from ..image.inspect import summary as image_summary
    engine = api.engine
    report = engine.df()
    images = {i["Id"]: i for i in report["Images"]}
    usage = {v["Name"]: v["UsageData"] for v in report["Volumes"]}
    containers = []
    for container in engine.containers.list(all=True):
        try:
            containers.append(container_summary(container, size=True))
        except NotFound:            # removed while we looked
            continue
    return {
        **report,
        "Images": [{**image_summary(image), **{k: images.get(image.id, {}).get(k, 0)
                                               for k in ("Containers", "SharedSize")}}
                   for image in engine.images.list()],
        "Containers": containers,
        "Volumes": [{**volume.inspect(), "UsageData": usage.get(volume.name, {"Size": -1,
                                                                              "RefCount": 0})}
                    for volume in engine.volumes.list()],
    }


def auth(api, request):
    """`docker login`: check the credentials with the registry; the client keeps them."""
    body = request.json()
    server = body.get("serveraddress") or "docker.io"
    api.engine.images.login(server, body.get("username") or "", body.get("password") or "",
                            remember=False)
    return {"Status": "Login Succeeded", "IdentityToken": ""}



def _registry_config(config: dict) -> dict:
    """Docker's RegistryConfig: Docker Hub with its mirrors, and the insecure registries."""
    indexes = {"docker.io": {"Name": "docker.io", "Mirrors": config["mirrors"], "Secure": True,
                             "Official": True}}
    for host in config["insecure"]:
        indexes[host] = {"Name": host, "Mirrors": [], "Secure": False, "Official": False}
    return {"IndexConfigs": indexes, "InsecureRegistryCIDRs": ["127.0.0.0/8"],
            "Mirrors": config["mirrors"]}
