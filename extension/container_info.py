"""Read what a person wants to see about a container out of its `docker inspect`-shaped attrs."""
from datetime import datetime, timezone


def _dig(data: dict, *keys, default=None):
    for key in keys:
        if not isinstance(data, dict):
            return default
        data = data.get(key)
    return default if data is None else data


def state(attrs: dict) -> str:
    return _dig(attrs, "State", "Status", default="unknown")


def health(attrs: dict) -> str:
    """The health check's status (starting, healthy, unhealthy), '' without a health check."""
    return _dig(attrs, "State", "Health", "Status", default="")


def hostname(attrs: dict) -> str:
    return _dig(attrs, "Config", "Hostname", default="")


def image_name(attrs: dict) -> str:
    return _dig(attrs, "Config", "Image", default="") or attrs.get("Image", "")


def ip_addresses(attrs: dict) -> dict[str, str]:
    """{network name: IPv4 address} for every network the container is on."""
    networks = _dig(attrs, "NetworkSettings", "Networks", default={}) or {}
    found = {name: net.get("IPAddress") for name, net in networks.items() if net.get("IPAddress")}
    if not found and _dig(attrs, "NetworkSettings", "IPAddress"):
        found["default"] = attrs["NetworkSettings"]["IPAddress"]
    return found


def published_ports(attrs: dict) -> list[tuple[str, str]]:
    """[(container port "80/tcp", host URL "http://127.0.0.1:8080")] for published ports."""
    ports = _dig(attrs, "NetworkSettings", "Ports", default={}) or {}
    found = []
    for port, bindings in sorted(ports.items()):
        for binding in bindings or []:
            host = binding.get("HostIp") or "127.0.0.1"
            host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
            found.append((port, f"http://{host}:{binding.get('HostPort')}"))
    return found


def parse_time(text: str | None) -> datetime | None:
    """Docker's RFC 3339 times, nanoseconds included ('2024-05-01T10:00:00.123456789Z')."""
    if not text or text.startswith("0001-"):
        return None
    text = text.replace("Z", "+00:00")
    if "." in text:
        head, rest = text.split(".", 1)
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits):] or "+00:00"
        text = f"{head}.{digits[:6]}{zone}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def exit_code(attrs: dict) -> int | None:
    return _dig(attrs, "State", "ExitCode")


def finished_at(attrs: dict) -> datetime | None:
    return parse_time(_dig(attrs, "State", "FinishedAt"))


def uptime(attrs: dict, now: datetime | None = None) -> str:
    """'3m 12s' since StartedAt while running, '' otherwise."""
    started = parse_time(_dig(attrs, "State", "StartedAt"))
    if state(attrs) != "running" or started is None:
        return ""
    seconds = int(((now or datetime.now(timezone.utc)) - started).total_seconds())
    hours, rest = divmod(max(seconds, 0), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h {minutes}m {seconds}s" if hours else f"{minutes}m {seconds}s"


def memory_bytes(stats: dict) -> int | None:
    """Memory in use: dockyard's flat `memory_usage`, or Docker's `memory_stats.usage`."""
    flat = stats.get("memory_usage")
    return flat if flat is not None else _dig(stats, "memory_stats", "usage")


def cpu_total_ns(stats: dict) -> int | None:
    """CPU time used so far: dockyard's `cpu_usage_ns`, or Docker's `cpu_stats.cpu_usage.total_usage`."""
    flat = stats.get("cpu_usage_ns")
    return flat if flat is not None else _dig(stats, "cpu_stats", "cpu_usage", "total_usage")
