"""NAT, port publishing and isolation in one nftables table per data root, plus the sysctls.

The table is a pure function of the engine's state (`render`), replaced atomically in one
`nft -f -` transaction (`Firewall.apply`), so removing everything dockyard added is deleting
the table, and a crashed engine's leftovers are overwritten by the next apply. nftables
rather than iptables: a table of our own replaces in one atomic step and never interleaves
with other tools' chains. Shelling out to `nft` (2-20 ms) happens only when networks or
published ports change, never on a plain container start.

Published ports are DNAT rules, not a userland proxy: no process per port to keep alive
(dockyard has no daemon) and kernel-speed forwarding. DNAT in `output` makes them answer from
the host itself, 127.0.0.1 included; that needs route_localnet=1 on the bridge (so a packet
from 127.0.0.1 may be routed out of it) and a masquerade of 127.0.0.0/8 leaving the bridge (so
the container's reply comes back to an address it can route to). Docker does the same with
`userland-proxy: false`.
"""
import subprocess
from dataclasses import dataclass

from ..errors import HostError, Unsupported
from .ports import PortBinding


@dataclass(frozen=True)
class BridgeRules:
    """What the firewall needs to know about one network."""

    bridge: str
    subnet: str
    internal: bool


@dataclass(frozen=True)
class Forward:
    """One published port: a binding and the container address it leads to."""

    binding: PortBinding
    address: str


def _q(name: str) -> str:
    return f'"{name}"'


def render(table: str, bridges: list[BridgeRules], forwards: list[Forward]) -> str:
    """The nft script that (re)creates table `ip <table>` with exactly these rules."""
    port_rules = []
    for f in forwards:
        b = f.binding
        match = f"ip daddr {b.host_ip} " if b.host_ip else ""
        port_rules.append(f"{match}{b.protocol} dport {b.host_port} "
                          f"dnat to {f.address}:{b.container_port}")
    post, forward, inbound = [], [], []
    for n in bridges:
        br = _q(n.bridge)
        others = [_q(o.bridge) for o in bridges if o.bridge != n.bridge]
        if others:
            # Networks are isolated from each other, as Docker's DOCKER-ISOLATION chains do.
            forward.append(f"iifname {br} oifname {{ {', '.join(others)} }} drop")
        # Replies to a port published on 127.0.0.1 must not leave with a loopback source.
        post.append(f"ip saddr 127.0.0.0/8 oifname {br} masquerade")
        if n.internal:
            forward.append(f"iifname {br} oifname != {br} drop")
            forward.append(f"oifname {br} iifname != {br} drop")
            inbound.append(f"iifname {br} drop")
        else:
            # Our chains accept by policy; only internal networks need forward rules (drops).
            post.append(f"ip saddr {n.subnet} oifname != {br} masquerade")

    def chain(name: str, hook: str | None, rules: list[str]) -> str:
        head = f"\t\t{hook}\n" if hook else ""
        return f"\tchain {name} {{\n{head}" + "".join(f"\t\t{r}\n" for r in rules) + "\t}\n"
    return (
        f"table ip {table}\n"
        f"delete table ip {table}\n"        # the first line makes this delete never fail
        f"table ip {table} {{\n"
        + chain("ports", None, port_rules)
        + chain("prerouting", "type nat hook prerouting priority dstnat; policy accept;",
                ["fib daddr type local jump ports"])
        + chain("output", "type nat hook output priority -100; policy accept;",
                ["fib daddr type local jump ports"])
        + chain("postrouting", "type nat hook postrouting priority srcnat; policy accept;", post)
        + chain("forward", "type filter hook forward priority filter; policy accept;", forward)
        + chain("input", "type filter hook input priority filter; policy accept;", inbound)
        + "}\n"
    )


def _nft(script: str, what: str) -> None:
    try:
        done = subprocess.run(["nft", "-f", "-"], input=script, capture_output=True, text=True,
                              timeout=30)
    except FileNotFoundError:
        raise Unsupported("nft is not installed (apt-get install nftables)") from None
    if done.returncode:
        raise HostError(f"{what}: nft: {done.stderr.strip().splitlines()[-1:]}")


def write_sysctl(name: str, value: str) -> None:
    """Set /proc/sys/<name> (a slash-separated path) if it differs; HostError when refused."""
    path = f"/proc/sys/{name}"
    try:
        with open(path) as f:
            if f.read().strip() == value:
                return
        with open(path, "w") as f:
            f.write(value)
    except OSError as exc:
        raise HostError(f"set {name}={value}: {exc.strerror}") from exc


class Firewall:
    """Applies a rendered table with `nft`; forwarding and route_localnet through /proc/sys."""

    def apply(self, table: str, bridges: list[BridgeRules], forwards: list[Forward]) -> None:
        """Replace table `ip <table>` atomically with the rules for these networks and ports."""
        _nft(render(table, bridges, forwards), f"update nftables table {table}")

    def delete(self, table: str) -> None:
        """Remove table `ip <table>` if it exists."""
        _nft(f"table ip {table}\ndelete table ip {table}\n", f"delete nftables table {table}")

    def enable_forwarding(self) -> None:
        """net.ipv4.ip_forward=1, as Docker does; left on when dockyard goes away."""
        write_sysctl("net/ipv4/ip_forward", "1")

    def prepare_bridge(self, bridge: str) -> None:
        """route_localnet=1 on `bridge`, so DNAT'd 127.0.0.1 traffic may leave through it."""
        write_sysctl(f"net/ipv4/conf/{bridge}/route_localnet", "1")

    def forward_count(self, table: str) -> int | None:
        """How many published-port (dnat) rules table `ip <table>` holds; None without it."""
        done = subprocess.run(["nft", "list", "chain", "ip", table, "ports"], capture_output=True,
                              text=True)
        return done.stdout.count(" dnat to ") if done.returncode == 0 else None

    def table_exists(self, table: str) -> bool:
        """Whether table `ip <table>` exists (for tests and cleanup checks)."""
        done = subprocess.run(["nft", "list", "table", "ip", table], capture_output=True)
        return done.returncode == 0
