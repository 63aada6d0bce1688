"""Address management, pure: pick a subnet from the pool, hand out addresses within one.

Like Docker, the default pool skips subnets that something on the host already routes, so
dockyard, Docker (172.17.0.0/16) and Podman (10.88.0.0/16) can run side by side:

    choose_subnet(taken=[ip_network("172.18.0.0/16")])        -> IPv4Network('172.19.0.0/16')
    allocate(ip_network("172.19.0.0/16"), "172.19.0.1", used={"172.19.0.2"}, cursor="172.19.0.2")
        -> "172.19.0.3"

Allocation walks forward from the last address handed out (the cursor, persisted by the caller)
and wraps, so a released address is the last one to come back: a peer's stale ARP or /etc/hosts
entry for it does not reach a new container at once.
"""
import ipaddress
from ipaddress import IPv4Address, IPv4Network
from typing import Iterable

from ..errors import Conflict, InvalidArgument

# 172.17/16 is Docker's default bridge and is left out; 10.88/16 (Podman) is not in the pool.
DEFAULT_POOL: tuple[IPv4Network, ...] = (
    *(IPv4Network(f"172.{n}.0.0/16") for n in range(18, 32)),
    *(IPv4Network(f"192.168.{n}.0/20") for n in range(0, 256, 16)),
)


def parse_subnet(text: str) -> IPv4Network:
    """An IPv4 CIDR with no host bits set, at most /30 (room for a gateway and one container)."""
    try:
        subnet = IPv4Network(text, strict=True)
    except ValueError as exc:
        raise InvalidArgument(f"invalid subnet {text!r}: {exc}") from None
    if subnet.prefixlen > 30:
        raise InvalidArgument(f"subnet {text} is too small: at most /30")
    return subnet


def overlapping(subnet: IPv4Network, others: Iterable[IPv4Network]) -> IPv4Network | None:
    """The first of `others` that shares an address with `subnet`, or None."""
    return next((other for other in others if subnet.overlaps(other)), None)


def choose_subnet(taken: Iterable[IPv4Network], pool: Iterable[IPv4Network] = DEFAULT_POOL) -> IPv4Network:
    """The first pool subnet that overlaps nothing in `taken` (networks and host routes)."""
    taken = list(taken)
    for candidate in pool:
        if overlapping(candidate, taken) is None:
            return candidate
    raise Conflict("no free subnet left in the address pool; pass --subnet")


def default_gateway(subnet: IPv4Network) -> IPv4Address:
    """The subnet's first host address, as Docker picks it."""
    return subnet.network_address + 1


def check_host_address(subnet: IPv4Network, text: str, what: str) -> IPv4Address:
    """`text` as an address of `subnet` that a host may own (not the network or broadcast address)."""
    try:
        address = IPv4Address(text)
    except ValueError:
        raise InvalidArgument(f"invalid {what} {text!r}") from None
    if address not in subnet:
        raise InvalidArgument(f"{what} {address} is not in subnet {subnet}")
    if address in (subnet.network_address, subnet.broadcast_address):
        raise InvalidArgument(f"{what} {address} is the network or broadcast address of {subnet}")
    return address


def allocate(subnet: IPv4Network, gateway: str, used: set[str], cursor: str | None = None,
             requested: str | None = None) -> str:
    """A free address of `subnet`: `requested` if given, else the next free one after `cursor`."""
    if requested:
        address = check_host_address(subnet, requested, "address")
        if str(address) == gateway:
            raise Conflict(f"address {address} is the gateway of {subnet}")
        if str(address) in used:
            raise Conflict(f"address {address} is already in use on {subnet}")
        return str(address)
    first, last = int(subnet.network_address) + 1, int(subnet.broadcast_address) - 1
    start = int(IPv4Address(cursor)) + 1 if cursor and IPv4Address(cursor) in subnet else first
    size = last - first + 1
    for step in range(size):
        candidate = str(IPv4Address(first + (start - first + step) % size))
        if candidate != gateway and candidate not in used:
            return candidate
    raise Conflict(f"no free address left in subnet {subnet}")


def mac_for(address: str) -> str:
    """A locally administered MAC derived from the IPv4 address (Docker's 02:42:xx:xx:xx:xx)."""
    return "02:42:" + ":".join(f"{b:02x}" for b in ipaddress.IPv4Address(address).packed)
