"""Published ports: the `-p` spec parser and the PortBinding value.

    parse_publish("127.0.0.1:8080:80/tcp")  -> [PortBinding(80, "tcp", "127.0.0.1", 8080)]
    parse_publish("8000-8001:80-81")        -> two bindings, 8000->80 and 8001->81
    parse_publish("80")                     -> [PortBinding(80, "tcp", "", 0)]  (host port chosen later)
"""
import ipaddress
import random
import socket
from dataclasses import dataclass

from ..errors import Conflict, InvalidArgument

PROTOCOLS = ("tcp", "udp")
EPHEMERAL_PORTS = (32768, 60999)     # Linux's default ip_local_port_range


@dataclass(frozen=True)
class PortBinding:
    """One container port published on one host address and port ("" = all addresses, 0 = any port)."""

    container_port: int
    protocol: str = "tcp"
    host_ip: str = ""
    host_port: int = 0

    def __str__(self) -> str:
        # The `docker port` line: "80/tcp -> 0.0.0.0:8080".
        return f"{self.container_port}/{self.protocol} -> {self.host_ip or '0.0.0.0'}:{self.host_port}"

    def to_json(self) -> dict:
        return {"container_port": self.container_port, "protocol": self.protocol,
                "host_ip": self.host_ip, "host_port": self.host_port}

    @classmethod
    def from_json(cls, data: dict) -> "PortBinding":
        return cls(int(data["container_port"]), data["protocol"], data["host_ip"], int(data["host_port"]))


def _ports(text: str, spec: str) -> range:
    """"80" or "8000-8010" as a range of valid port numbers."""
    low, sep, high = text.partition("-")
    try:
        first, last = int(low), int(high) if sep else int(low)
    except ValueError:
        raise InvalidArgument(f"invalid port {text!r} in publish spec {spec!r}") from None
    if not 1 <= first <= last <= 65535:
        raise InvalidArgument(f"invalid port range {text!r} in publish spec {spec!r}")
    return range(first, last + 1)


def _split_host_ip(spec: str, rest: str) -> tuple[str, str]:
    """Split "[IP:]HOST:CONT" into (IP, "HOST:CONT"); IPv6 addresses come in brackets."""
    if rest.startswith("["):
        ip, sep, tail = rest[1:].partition("]:")
        if not sep:
            raise InvalidArgument(f"invalid publish spec {spec!r}: unclosed '['")
        return ip, tail
    parts = rest.split(":")
    if len(parts) <= 2:
        return "", rest
    if len(parts) == 3:
        return parts[0], f"{parts[1]}:{parts[2]}"
    raise InvalidArgument(f"invalid publish spec {spec!r}: too many ':'")


def parse_publish(spec: str) -> list[PortBinding]:
    """Parse one `-p` value, "[IP:][HOSTPORT:]CONTAINERPORT[/PROTO]" with optional ranges."""
    body, _, protocol = spec.strip().partition("/")
    protocol = (protocol or "tcp").lower()
    if protocol not in PROTOCOLS:
        raise InvalidArgument(f"invalid protocol {protocol!r} in publish spec {spec!r} (tcp or udp)")
    if not body:
        raise InvalidArgument(f"invalid publish spec {spec!r}: no container port")
    host_ip, ports = _split_host_ip(spec, body)
    if host_ip:
        try:
            if ipaddress.ip_address(host_ip).version != 4:
                raise InvalidArgument(f"publish spec {spec!r}: only IPv4 host addresses are supported")
        except ValueError:
            raise InvalidArgument(f"invalid host address {host_ip!r} in publish spec {spec!r}") from None
        if host_ip == "0.0.0.0":
            host_ip = ""
    host_text, sep, container_text = ports.rpartition(":")
    container = _ports(container_text, spec)
    if not sep or host_text in ("", "0"):
        return [PortBinding(port, protocol, host_ip, 0) for port in container]
    host = _ports(host_text, spec)
    if len(host) != len(container):
        if len(container) != 1:
            raise InvalidArgument(f"publish spec {spec!r}: host and container ranges differ in size")
        # "8000-8010:80" asks for any one free port of the host range; take the first.
        host = host[:1]
    return [PortBinding(c, protocol, host_ip, h) for h, c in zip(host, container)]


def clashes(a: PortBinding, b: PortBinding) -> bool:
    """Whether two bindings claim the same host port (an empty host_ip means every address)."""
    return (a.protocol == b.protocol and a.host_port == b.host_port
            and (not a.host_ip or not b.host_ip or a.host_ip == b.host_ip))


def host_port_free(binding: PortBinding) -> bool:
    """Whether no host socket holds the binding's address and port."""
    kind = socket.SOCK_STREAM if binding.protocol == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as probe:
        # SO_REUSEADDR: TIME_WAIT leftovers don't count, only a live listener does.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((binding.host_ip or "0.0.0.0", binding.host_port))
        except OSError:
            return False
    return True


def check_port(binding: PortBinding, taken: list[tuple[str, PortBinding]]) -> None:
    """Conflict if another container published this host port or a host socket holds it."""
    where = f"{binding.host_ip or '0.0.0.0'}:{binding.host_port}/{binding.protocol}"
    for owner, other in taken:
        if clashes(binding, other):
            raise Conflict(f"port {where} is already published by container {owner[:12]}")
    if not host_port_free(binding):
        raise Conflict(f"port {where} is in use on the host")


def free_port(binding: PortBinding, taken: list[PortBinding]) -> int:
    """A host port from the ephemeral range that no binding in `taken` or host socket holds."""
    low, high = EPHEMERAL_PORTS
    start = random.randint(low, high)
    for step in range(high - low + 1):
        port = low + (start - low + step) % (high - low + 1)
        candidate = PortBinding(binding.container_port, binding.protocol, binding.host_ip, port)
        if not any(clashes(candidate, other) for other in taken) and host_port_free(candidate):
            return port
    raise Conflict("no free host port left to publish on")
