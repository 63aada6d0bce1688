"""Networks: bridges with IPAM, container endpoints in netns files, published ports, names.

    nets = Networks(Path("/var/lib/dockyard"))
    net = nets.create("backend")                       # bridge dy-<id>, a /16 from the pool
    ep = nets.attach(cid, "backend", aliases=("db",))  # veth, eth0 in <root>/netns/<cid>
    nets.publish(cid, parse_publish("8080:80"))       # 127.0.0.1:8080 and every host address
    hosts = nets.hosts_for(cid)                        # the container's /etc/hosts text
    nets.release(cid)                                  # veths, address, rules, netns file gone

Every change is intent-first: the record (endpoint, network) is written before the kernel
object is made and removed after it is gone, so after a crash the records name everything
that may exist. A reservation (address, host port) of a container that no longer holds one
(`holder(cid)` false: exited, removed, never finished) is taken over by whoever needs it, and
`cleanup_stale` removes everything of containers that are gone.

The default bridge is made by its first container and goes once no container used it for
IDLE_S (`retire_idle`, at an engine's first use; at once with `prune`), and the nftables table
with it when nothing else needs one. Not at once: deleting a bridge and rewriting the table
cost ~100 ms, which every `run --rm` would pay. Bridges carry their data root in their alias,
so the bridge of a root deleted by hand is found and deleted (`reclaim_stale_bridges`) instead
of holding its subnet forever.

Names resolve through kept-current /etc/hosts files; see hosts.py for why not a DNS server.
"""
from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

from ..errors import Conflict, HostError, InvalidArgument, NetworkNotFound, NotFound
from . import ipam
from .firewall import BridgeRules, Firewall, Forward
from .hosts import render_hosts
from .links import Links
from .model import Endpoint, Network
from .ports import PortBinding, check_port, clashes, free_port, parse_publish
from .state import NetworkState
from .upkeep import Upkeep, table_name

__all__ = ["Networks", "Network", "Endpoint", "PortBinding", "parse_publish"]

DEFAULT_NAME = "bridge"
NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$")


def _short_hash(*parts: str) -> str:
    return hashlib.sha256(":".join(parts).encode()).hexdigest()


def _host_error(what: str, exc: OSError) -> HostError:
    return HostError(f"{what}: {exc.strerror or exc}")


DEFAULT_ROOT = "/var/lib/dockyard"     # its default bridge is dockyard0, as Docker's is docker0


class Networks(Upkeep):
    """The networks of one data root, and the containers' endpoints on them."""

    def __init__(self, root: Path, *, links: Links | None = None, firewall: Firewall | None = None,
                 pool: Iterable[ipaddress.IPv4Network] = ipam.DEFAULT_POOL,
                 default_bridge: str | None = None, table: str | None = None,
                 holder: Callable[[str], bool] | None = None):
        self.root = Path(root)
        # holder(cid): whether a container may hold its reservations now (None: all may)
        self.holder = holder
        self.state = NetworkState(self.root)
        self.links = links or Links()
        self.firewall = firewall or Firewall()
        self.pool = tuple(pool)
        # One default bridge and one nftables table per data root: several roots (tests, users)
        # share one kernel, and each root's IPAM owns its bridge's subnet alone.
        root_hash = _short_hash(str(self.root.resolve()))[:8]
        self.default_bridge = default_bridge or (
            "dockyard0" if str(self.root.resolve()) == DEFAULT_ROOT else f"dy0-{root_hash}")
        self.table = table or table_name(str(self.root.resolve()))
        self.netns_dir = self.root / "netns"

    # -- lookup --------------------------------------------------------------------------------

    def _find(self, records: list[dict], name_or_id: str) -> dict:
        for record in records:
            if name_or_id in (record["name"], record["id"]):
                return record
        matches = [r for r in records if name_or_id and r["id"].startswith(name_or_id)]
        if len(matches) == 1:
            return matches[0]
        raise NetworkNotFound(f"network {name_or_id} not found")

    def get(self, name_or_id: str) -> Network:
        """The network with this name, id or unique id prefix; NetworkNotFound otherwise."""
        return Network.from_record(self._find(self.state.networks(), name_or_id))

    def list(self, filters=None) -> list[Network]:
        """All networks, oldest first; `filters` as `docker network ls --filter` applies them."""
        networks = [Network.from_record(r) for r in self.state.networks()]
        if filters:
            from ..filters import select_networks
            return select_networks(networks, filters)
        return networks

    def endpoints(self, container_id: str) -> list[Endpoint]:
        """The container's endpoints, in the order they were attached (eth0 first)."""
        found = [Endpoint.from_record(r, container_id) for r in self.state.networks()
                 if container_id in r["endpoints"]]
        return sorted(found, key=lambda ep: int(ep.ifname[3:]))

    def traffic(self, container_id: str) -> tuple[int, int]:
        """Bytes the container received and sent on its networks: its veths' host ends count
        the same bytes the other way round."""
        received = sent = 0
        for ep in self.endpoints(container_id):
            counters = Path("/sys/class/net") / ep.host_ifname / "statistics"
            try:
                received += int((counters / "tx_bytes").read_text())
                sent += int((counters / "rx_bytes").read_text())
            except (OSError, ValueError):     # not plugged (a stopped container) or gone
                continue
        return received, sent

    def ports(self, container_id: str) -> list[PortBinding]:
        """The container's published ports."""
        return [PortBinding.from_json(b) for b in self.state.ports().get(container_id, [])]

    @staticmethod
    def is_default(name: str) -> bool:
        """Whether `name` is the default network's name."""
        return name == DEFAULT_NAME

    def netns_path(self, container_id: str) -> str:
        """The container's netns file (exists from its first attach until release)."""
        return str(self.netns_dir / container_id)

    # -- networks ------------------------------------------------------------------------------

    def create(self, name: str, *, subnet: str | None = None, gateway: str | None = None,
               internal: bool = False, labels: dict | None = None, driver: str = "bridge") -> Network:
        """Create a bridge network; the subnet comes from the pool unless given."""
        return self._create(name, subnet=subnet, gateway=gateway, internal=internal,
                            labels=labels, driver=driver)

    def _create(self, name, *, subnet, gateway, internal, labels, driver, default=False) -> Network:
        if not NAME_RE.match(name or ""):
            raise InvalidArgument(f"invalid network name {name!r}: use letters, digits, '_', '.', '-'")
        if driver != "bridge":
            raise InvalidArgument(f"network driver {driver!r} is not supported (only bridge)")
        if gateway and not subnet:
            raise InvalidArgument("--gateway needs --subnet")
        with self.state.locked():
            records = self.state.networks()
            if any(r["name"] == name for r in records):
                raise Conflict(f"network with name {name} already exists")
            net = self._choose_subnet(records, subnet)
            gw = ipam.check_host_address(net, gateway, "gateway") if gateway else ipam.default_gateway(net)
            network_id = secrets.token_hex(32)
            record = {
                "id": network_id, "name": name, "driver": driver, "subnet": str(net),
                "gateway": str(gw), "internal": bool(internal), "default": default,
                "bridge": self.default_bridge if default else f"dy-{network_id[:12]}",
                "created": datetime.now(timezone.utc).isoformat(), "labels": dict(labels or {}),
                "ipam_cursor": None, "endpoints": {},
            }
            self.state.save_network(record)
            if default:
                return Network.from_record(record)  # its bridge comes with its first container
            try:
                self._realize(record)
                self._apply_firewall()
            except BaseException:
                self.links.delete_link(record["bridge"])
                self.state.delete_network(network_id)
                raise
            self._event("create", record)
            return Network.from_record(record)

    def _choose_subnet(self, records: list[dict], subnet: str | None) -> ipaddress.IPv4Network:
        ours = [ipaddress.IPv4Network(r["subnet"]) for r in records]
        try:
            self.reclaim_stale_bridges()
            routed = self.links.routed_subnets()
        except OSError as exc:
            raise _host_error("list host routes", exc) from exc
        if not subnet:
            return ipam.choose_subnet(ours + routed, self.pool)
        net = ipam.parse_subnet(subnet)
        clash = ipam.overlapping(net, ours)
        if clash is not None:
            other = next(r["name"] for r in records if r["subnet"] == str(clash))
            raise Conflict(f"subnet {net} overlaps network {other} ({clash})")
        clash = ipam.overlapping(net, routed)
        if clash is not None:
            raise Conflict(f"subnet {net} overlaps a route on this host ({clash})")
        return net

    def _realize(self, record: dict) -> int:
        """Make the network's bridge exist with its gateway address; return the bridge MTU."""
        prefixlen = int(record["subnet"].split("/")[1])
        try:
            mtu = self.links.ensure_bridge(record["bridge"], record["gateway"], prefixlen,
                                           alias=self._alias())
        except OSError as exc:
            raise _host_error(f"create bridge {record['bridge']}", exc) from exc
        self.firewall.prepare_bridge(record["bridge"])
        if not record["internal"]:
            self.firewall.enable_forwarding()
        if record.get("realized") is False:
            record["realized"] = True
            self.state.save_network(record, durable=False)
        return mtu

    def ensure_default(self) -> Network:
        """The default network `bridge` (on `default_bridge`): its record, made on first use;
        its bridge is made by the first attach."""
        with self.state.locked():
            for record in self.state.networks():
                if record["default"]:
                    return Network.from_record(record)
            return self._create(DEFAULT_NAME, subnet=None, gateway=None, internal=False,
                                labels=None, driver="bridge", default=True)

    def remove(self, name_or_id: str) -> None:
        """Remove a network and its bridge; Conflict while containers are attached."""
        with self.state.locked():
            record = self._find(self.state.networks(), name_or_id)
            if record["default"]:
                raise Conflict(f"{record['name']} is a pre-defined network and cannot be removed")
            self._remove(record)

    def _remove(self, record: dict) -> None:
        if self._free_dead(record["endpoints"]):
            record = self._find(self.state.networks(), record["id"])
        if record["endpoints"]:
            ids = ", ".join(cid[:12] for cid in record["endpoints"])
            raise Conflict(f"network {record['name']} has active endpoints ({ids})")
        try:
            self.links.delete_link(record["bridge"])
        except OSError as exc:
            raise _host_error(f"delete bridge {record['bridge']}", exc) from exc
        self.state.delete_network(record["id"])
        self._apply_firewall()
        self._event("destroy", record)

    def _event(self, action: str, record: dict, **attributes) -> None:
        from ..events import record as record_event
        record_event(self.root, "network", action, record["id"],
                     {"name": record["name"], "type": "bridge", **attributes})

    def prune(self) -> list[str]:
        """Remove every user-defined network without endpoints; return their names."""
        removed = []
        with self.state.locked():
            self._free_dead({cid for r in self.state.networks() for cid in r["endpoints"]})
            for record in self.state.networks():
                if not record["default"] and not record["endpoints"]:
                    self._remove(record)
                    removed.append(record["name"])
            self.retire_idle(idle_for=0)     # the default network stays, its bridge goes
        return removed

    # -- endpoints -----------------------------------------------------------------------------

    def attach(self, container_id: str, network: str, *, ip: str | None = None,
               aliases: Iterable[str] = (), hostname: str | None = None,
               name: str | None = None) -> Endpoint:
        """Connect a container: veth on the bridge, ethN with an IPAM address in its netns."""
        with self.state.locked():
            records = self.state.networks()
            record = self._find(records, network)
            if container_id in record["endpoints"]:
                raise Conflict(f"container {container_id[:12]} is already attached to {record['name']}")
            try:
                address = self._allocate(record, ip)
            except Conflict:
                # an address (or the last one) held by a container that has exited or is gone
                if not self._free_dead(set(record["endpoints"]) - {container_id}):
                    raise
                records = self.state.networks()
                record = self._find(records, network)
                address = self._allocate(record, ip)
            mine = [r["endpoints"][container_id] for r in records if container_id in r["endpoints"]]
            used_names = {ep["ifname"] for ep in mine}
            try:
                mtu = self.links.mtu(record["bridge"])
                realized = not mtu
                mtu = mtu or self._realize(record)
            except OSError as exc:
                raise _host_error(f"read bridge {record['bridge']}", exc) from exc
            endpoint = {
                "ip": address, "mac": ipam.mac_for(address), "aliases": list(dict.fromkeys(aliases)),
                "hostname": hostname or "", "name": name or "",
                "ifname": next(f"eth{n}" for n in range(len(used_names) + 1) if f"eth{n}" not in used_names),
                # Host-side name: 15 chars max; derived so one container+network maps to one name.
                "host_ifname": "dy" + _short_hash(self.table, container_id, record["id"])[:12],
                "default_route": not record["internal"] and not any(ep["default_route"] for ep in mine),
            }
            record["endpoints"][container_id] = endpoint
            if not ip:
                record["ipam_cursor"] = address
            self.state.save_network(record, durable=False)
            try:
                self._plug(container_id, record, endpoint, mtu, fresh_netns=not mine)
                # the default network's rules are in the table only while it has containers
                if realized or container_id in self.state.ports():
                    self._apply_firewall()
            except BaseException:
                del record["endpoints"][container_id]
                self.state.save_network(record, durable=False)
                raise
            self._event("connect", record, container=container_id)
            return Endpoint.from_record(record, container_id)

    @staticmethod
    def _allocate(record: dict, ip: str | None) -> str:
        subnet = ipaddress.IPv4Network(record["subnet"])
        used = {ep["ip"] for ep in record["endpoints"].values()}
        return ipam.allocate(subnet, record["gateway"], used, record["ipam_cursor"], ip)

    def rename(self, container_id: str, name: str) -> None:
        """docker rename: the container's endpoints answer to `name` from now on."""
        with self.state.locked():
            for record in self.state.networks():
                if container_id in record["endpoints"]:
                    record["endpoints"][container_id]["name"] = name
                    self.state.save_network(record, durable=False)

    def _plug(self, container_id: str, record: dict, endpoint: dict, mtu: int, fresh_netns: bool) -> None:
        """Make the veth pair (and the netns file, on a first attach); undo both on failure."""
        path = self.netns_path(container_id)
        created = False
        try:
            if not os.path.ismount(path):
                self.netns_dir.mkdir(parents=True, exist_ok=True)
                self.links.remove_netns(path)          # a file a crash left without its mount
                self.links.create_netns(path)
                created = True
            self.links.add_endpoint(
                netns=path, host_ifname=endpoint["host_ifname"], bridge=record["bridge"],
                ifname=endpoint["ifname"], address=endpoint["ip"],
                prefixlen=int(record["subnet"].split("/")[1]), mac=endpoint["mac"], mtu=mtu,
                gateway=record["gateway"] if endpoint["default_route"] else None)
        except OSError as exc:
            self.links.delete_link(endpoint["host_ifname"])
            if created and fresh_netns:
                self.links.remove_netns(path)
            raise _host_error(f"attach {container_id[:12]} to {record['name']}", exc) from exc

    def detach(self, container_id: str, network: str) -> None:
        """Disconnect a container from one network: its veth goes, its address is free again."""
        with self.state.locked():
            record = self._find(self.state.networks(), network)
            endpoint = record["endpoints"].get(container_id)
            if endpoint is None:
                raise NotFound(f"container {container_id[:12]} is not connected to network {record['name']}")
            self._unplug(record, container_id)
            if container_id in self.state.ports():
                self._apply_firewall()

    def _unplug(self, record: dict, container_id: str, *, delete_link: bool = True) -> None:
        endpoint = record["endpoints"][container_id]
        if delete_link:
            try:
                self.links.delete_link(endpoint["host_ifname"])
            except OSError as exc:
                raise _host_error(f"delete veth {endpoint['host_ifname']}", exc) from exc
        del record["endpoints"][container_id]
        self.state.save_network(record, durable=False)
        self._event("disconnect", record, container=container_id)

    def release(self, container_id: str) -> bool:
        """Detach the container from everything, drop its port rules, remove its netns file;
        False when it held none of these."""
        with self.state.locked():
            held = False
            for record in self.state.networks():
                if container_id in record["endpoints"]:
                    # Removing the netns file below frees the namespace, and the kernel then
                    # deletes its veths, host ends included, in the background: a synchronous
                    # delete here cost ~25 ms of every `run --rm` on a bridge.
                    self._unplug(record, container_id, delete_link=False)
                    held = True
            if container_id in self.state.ports():
                self.state.save_ports(container_id, [])
                held = True
                self._apply_firewall()
            try:
                held |= self.links.remove_netns(self.netns_path(container_id))
            except OSError as exc:
                raise _host_error(f"remove netns of {container_id[:12]}", exc) from exc
            return held

    # -- published ports -----------------------------------------------------------------------

    def _publish_address(self, records: list[dict], container_id: str) -> str | None:
        """The address published ports lead to: the container's first non-internal endpoint."""
        candidates = [(r["endpoints"][container_id]["ifname"], r["endpoints"][container_id]["ip"])
                      for r in records if container_id in r["endpoints"] and not r["internal"]]
        return min(candidates)[1] if candidates else None

    def publish(self, container_id: str, bindings: list[PortBinding]) -> list[PortBinding]:
        """Publish ports of an attached container; host port 0 picks a free one. Returns them."""
        with self.state.locked():
            records = self.state.networks()
            if self._publish_address(records, container_id) is None:
                raise InvalidArgument(f"container {container_id[:12]} is on no network that can "
                                      f"publish ports (it needs a non-internal bridge network)")
            everything = self.state.ports()
            taken = [(cid, PortBinding.from_json(b)) for cid, bs in everything.items() for b in bs]
            clashing = {cid for cid, other in taken if cid != container_id
                        for b in bindings if b.host_port and clashes(b, other)}
            if self._free_dead(clashing):       # ports of containers that exited or are gone
                everything = self.state.ports()
                taken = [(cid, PortBinding.from_json(b)) for cid, bs in everything.items()
                         for b in bs]
            chosen = []
            for binding in bindings:
                if binding.protocol not in ("tcp", "udp"):
                    raise InvalidArgument(f"invalid protocol {binding.protocol!r}")
                if binding.host_port == 0:
                    binding = PortBinding(binding.container_port, binding.protocol, binding.host_ip,
                                          free_port(binding, [b for _, b in taken]))
                else:
                    check_port(binding, taken)
                taken.append((container_id, binding))
                chosen.append(binding)
            before = everything.get(container_id, [])
            self.state.save_ports(container_id, before + [b.to_json() for b in chosen])
            try:
                self._apply_firewall()
            except BaseException:
                self.state.save_ports(container_id, before)
                raise
            return chosen

    def _apply_firewall(self) -> None:
        """Rewrite this root's nftables table from the records (caller holds the lock)."""
        records = self.state.networks()
        bridges = [BridgeRules(r["bridge"], r["subnet"], r["internal"]) for r in records
                   if r.get("realized", True)]
        forwards = []
        for cid, bindings in sorted(self.state.ports().items()):
            address = self._publish_address(records, cid)
            if address:
                forwards += [Forward(PortBinding.from_json(b), address) for b in bindings]
        if bridges or forwards:
            self.firewall.apply(self.table, bridges, forwards)
        else:
            self.firewall.delete(self.table)

    # -- names ---------------------------------------------------------------------------------

    def hosts_for(self, container_id: str) -> str:
        """The container's /etc/hosts: its own names, then its peers on user-defined networks."""
        own, peers = [], {}
        for record in self.state.networks():
            endpoint = record["endpoints"].get(container_id)
            if endpoint is None:
                continue
            own.append((endpoint["ip"], [endpoint["hostname"], endpoint["name"]]))
            if record["default"]:
                continue              # as Docker: no name resolution on the default bridge
            for cid, peer in record["endpoints"].items():
                if cid != container_id:
                    names = [peer["name"], *peer["aliases"], peer["hostname"]]
                    peers.setdefault(peer["ip"], []).extend(names)
        ordered = sorted(peers.items(), key=lambda item: ipaddress.IPv4Address(item[0]))
        return render_hosts(own + ordered)

    def refresh_hosts(self, write: Callable[[str, str], None]) -> None:
        """Call write(container_id, hosts text) for every attached container."""
        containers = {cid for r in self.state.networks() for cid in r["endpoints"]}
        for cid in sorted(containers):
            write(cid, self.hosts_for(cid))
