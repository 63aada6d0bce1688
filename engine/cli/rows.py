"""The rows `ps`, `images`, `network ls`, `volume ls` and `stats` hand to `--format`: each
field a template may name is a method, as in Docker's formatter contexts (`.ID`, `.Names`,
`.Label "key"`...), with Docker's column headers and default table formats.
"""
import re
import time
from datetime import datetime

from ..units import bytes_size, human_duration, human_size
from .gotemplate import GoObject
from .gotemplate.gofmt import quote
from .tabwriter import display_width
from .timestamps import unix_seconds


def natural_key(name: str) -> tuple:
    """sortorder.NaturalLess as a sort key: digit runs compare as numbers (net2 < net10)."""
    return tuple(int(part) if i % 2 else part for i, part in enumerate(re.split(r"(\d+)", name)))


def truncate_id(full: str) -> str:
    """stringid.TruncateID: the 12 hex digits after any `sha256:`."""
    return full.split(":", 1)[-1][:12]


def ellipsis(text: str, width: int) -> str:
    """Docker's Ellipsis: `text` cut to `width` columns, ending in … when cut."""
    if width <= 0:
        return ""
    if display_width(text) <= width:
        return text
    out = ""
    for c in text:
        if display_width(out + c) > width - 1:
            break
        out += c
    return out + "…"


def go_time(unix: float) -> str:
    """Go's time.Time.String() in local time: 2024-05-01 12:00:00 +0000 UTC."""
    moment = datetime.fromtimestamp(unix).astimezone()
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return f"{text} {moment.strftime('%z')} {moment.tzname()}"


def _labels(labels: dict | None, sort: bool = True) -> str:
    items = [f"{k}={v}" for k, v in (labels or {}).items()]
    return ",".join(sorted(items) if sort else items)


class ContainerRow(GoObject):
    go_type = "*formatter.ContainerContext"
    TABLE = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
    HEADERS = {"ID": "CONTAINER ID", "Names": "NAMES", "Image": "IMAGE", "Command": "COMMAND",
               "CreatedAt": "CREATED AT", "RunningFor": "CREATED", "Ports": "PORTS",
               "State": "STATE", "Status": "STATUS", "Size": "SIZE", "Labels": "LABELS",
               "Mounts": "MOUNTS", "LocalVolumes": "LOCAL VOLUMES", "Networks": "NETWORKS"}

    def __init__(self, summary: dict, trunc: bool = True):
        self.c, self.trunc = summary, trunc

    def ID(self):
        return truncate_id(self.c["Id"]) if self.trunc else self.c["Id"]

    def Names(self):
        names = [n.lstrip("/") for n in self.c.get("Names") or ()]
        if self.trunc:
            return next((n for n in names if "/" not in n), "")
        return ",".join(names)

    def Image(self):
        image = self.c.get("Image") or ""
        if not image:
            return "<no image>"
        if self.trunc and truncate_id(self.c.get("ImageID", "")) == truncate_id(image):
            return truncate_id(image)
        if self.trunc and "@" in image:        # name@digest: the name (and its tag), no digest
            return image.split("@", 1)[0]
        return image

    def Command(self):
        command = self.c.get("Command", "")
        return quote(ellipsis(command, 20) if self.trunc else command)

    def CreatedAt(self):
        return go_time(self.c.get("Created", 0))

    def RunningFor(self):
        return human_duration(time.time() - self.c.get("Created", 0)) + " ago"

    def Ports(self):
        return displayable_ports(self.c.get("Ports") or [])

    def State(self):
        return self.c.get("State", "")

    def Status(self):
        return self.c.get("Status", "")

    def Size(self):
        written = human_size(self.c.get("SizeRw", 0))
        total = self.c.get("SizeRootFs", 0)
        return f"{written} (virtual {human_size(total)})" if total > 0 else written

    def Labels(self):
        return _labels(self.c.get("Labels"))

    def Label(self, name: str):
        return (self.c.get("Labels") or {}).get(name, "")

    def Mounts(self):
        names = [m.get("Name") or m.get("Source", "") for m in self.c.get("Mounts") or ()]
        return ",".join(ellipsis(n, 15) if self.trunc else n for n in names)

    def LocalVolumes(self):
        return str(sum(m.get("Driver") == "local" for m in self.c.get("Mounts") or ()))

    def Networks(self):
        return ",".join(sorted((self.c.get("NetworkSettings") or {}).get("Networks") or {}))


def displayable_ports(ports: list[dict]) -> str:
    """Docker's PORTS column: "0.0.0.0:8080->80/tcp, 443/tcp", consecutive ports as ranges."""
    groups: dict[str, list[int]] = {}
    result, mappings = [], []
    for p in sorted(ports, key=lambda p: (p["PrivatePort"], p.get("IP", ""),
                                          p.get("PublicPort", 0), p["Type"])):
        current, key = p["PrivatePort"], p["Type"]
        if p.get("IP"):
            if p.get("PublicPort") != current:
                mappings.append(f"{_host_port(p['IP'], p['PublicPort'])}->{current}/{p['Type']}")
                continue
            key = f"{p['IP']}/{p['Type']}"
        group = groups.get(key)
        if group and current == group[1] + 1:
            group[1] = current
            continue
        if group:
            result.append(_port_group(key, *group))
        groups[key] = [current, current]
    return ", ".join(result + [_port_group(k, *g) for k, g in groups.items()] + mappings)


def _host_port(ip: str, port) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _port_group(key: str, first: int, last: int) -> str:
    ip, _, kind = key.rpartition("/")
    ports = str(first) if first == last else f"{first}-{last}"
    return (f"{_host_port(ip, ports)}->{ports}" if ip else ports) + "/" + kind


class ImageRow(GoObject):
    go_type = "*formatter.imageContext"
    TABLE = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}"
    DIGEST_TABLE = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}"
    HEADERS = {"ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
               "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE",
               "Containers": "CONTAINERS", "VirtualSize": "SIZE", "SharedSize": "SHARED SIZE",
               "UniqueSize": "UNIQUE SIZE"}

    def __init__(self, summary: dict, repo: str, tag: str, digest: str, trunc: bool = True):
        self.i, self.repo, self.tag, self.digest, self.trunc = summary, repo, tag, digest, trunc

    def ID(self):
        return truncate_id(self.i["Id"]) if self.trunc else self.i["Id"]

    def Repository(self):
        return self.repo

    def Tag(self):
        return self.tag

    def Digest(self):
        return self.digest

    def CreatedSince(self):
        return human_duration(time.time() - self.i.get("Created", 0)) + " ago"

    def CreatedAt(self):
        return go_time(self.i.get("Created", 0))

    def Size(self):
        return human_size(self.i.get("Size", 0))

    def Containers(self):
        count = self.i.get("Containers", -1)
        return "N/A" if count == -1 else str(count)

    def VirtualSize(self):
        return human_size(self.i.get("Size", 0), 4)

    def SharedSize(self):
        shared = self.i.get("SharedSize", -1)
        return "N/A" if shared == -1 else human_size(shared, 4)

    def UniqueSize(self):
        shared = self.i.get("SharedSize", -1)
        return "N/A" if shared == -1 else human_size(self.i.get("Size", 0) - shared, 4)


class NetworkRow(GoObject):
    go_type = "*network.networkContext"
    TABLE = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
    HEADERS = {"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE",
               "IPv4": "IPV4", "IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS",
               "CreatedAt": "CREATED AT"}

    def __init__(self, network: dict, trunc: bool = True):
        self.n, self.trunc = network, trunc

    def ID(self):
        return truncate_id(self.n["Id"]) if self.trunc else self.n["Id"]

    def Name(self):
        return self.n["Name"]

    def Driver(self):
        return self.n["Driver"]

    def Scope(self):
        return self.n["Scope"]

    def IPv4(self):
        return "true" if self.n.get("EnableIPv4", True) else "false"

    def IPv6(self):
        return "true" if self.n.get("EnableIPv6") else "false"

    def Internal(self):
        return "true" if self.n.get("Internal") else "false"

    def Labels(self):
        return _labels(self.n.get("Labels"), sort=False)

    def Label(self, name: str):
        return (self.n.get("Labels") or {}).get(name, "")

    def CreatedAt(self):
        return go_time(unix_seconds(self.n.get("Created")))


class VolumeRow(GoObject):
    go_type = "*formatter.volumeContext"
    TABLE = "table {{.Driver}}\t{{.Name}}"
    HEADERS = {"ID": "ID", "Name": "VOLUME NAME", "Group": "GROUP", "Driver": "DRIVER",
               "Scope": "SCOPE", "Availability": "AVAILABILITY", "Mountpoint": "MOUNTPOINT",
               "Labels": "LABELS", "Links": "LINKS", "Size": "SIZE", "Status": "STATUS"}

    def __init__(self, volume: dict):
        self.v = volume

    def Name(self):
        return self.v["Name"]

    def Driver(self):
        return self.v["Driver"]

    def Scope(self):
        return self.v.get("Scope", "local")

    def Mountpoint(self):
        return self.v.get("Mountpoint", "")

    def Labels(self):
        return _labels(self.v.get("Labels"), sort=False)

    def Label(self, name: str):
        return (self.v.get("Labels") or {}).get(name, "")

    def Links(self):
        usage = self.v.get("UsageData")
        return str(usage["RefCount"]) if usage else "N/A"

    def Size(self):
        usage = self.v.get("UsageData")
        return human_size(usage["Size"], 4) if usage else "N/A"

    def Group(self):
        return "N/A"

    def Availability(self):
        return "N/A"

    def Status(self):
        return "N/A"


class StatsRow(GoObject):
    go_type = "*container.statsContext"
    TABLE = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"
    HEADERS = {"Container": "CONTAINER", "Name": "NAME", "ID": "CONTAINER ID", "CPUPerc": "CPU %",
               "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O",
               "BlockIO": "BLOCK I/O", "PIDs": "PIDS"}

    def __init__(self, entry: dict, trunc: bool = True):
        self.s, self.trunc = entry, trunc

    def Container(self):
        return self.s["Container"]

    def Name(self):
        name = self.s.get("Name", "")
        return name[1:] if len(name) > 1 else "--"

    def ID(self):
        return truncate_id(self.s["ID"]) if self.trunc else self.s["ID"]

    def CPUPerc(self):
        return f"{self.s['CPUPercentage']:.2f}%"

    def MemUsage(self):
        return f"{bytes_size(self.s['Memory'])} / {bytes_size(self.s['MemoryLimit'])}"

    def MemPerc(self):
        return f"{self.s['MemoryPercentage']:.2f}%"

    def NetIO(self):
        return f"{human_size(self.s['NetworkRx'])} / {human_size(self.s['NetworkTx'])}"

    def BlockIO(self):
        return f"{human_size(self.s['BlockRead'])} / {human_size(self.s['BlockWrite'])}"

    def PIDs(self):
        return str(self.s["PidsCurrent"])
