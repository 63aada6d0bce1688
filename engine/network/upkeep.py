"""Upkeep of a data root's networks: recovery, idle and stale bridges, audit, teardown.

Part of `Networks` (a mixin, so the class stays one API): what keeps the kernel's objects in
line with the records when processes were killed, containers stopped, or data roots deleted.
"""
import os
import time
from pathlib import Path

from ..errors import HostError
from .state import NetworkState

ALIAS = "dockyard-root"                # a bridge's alias: "dockyard-root <root id> <root path>"
IDLE_S = 60.0                          # an unused default bridge goes after this long


def _host_error(what: str, exc: OSError) -> HostError:
    return HostError(f"{what}: {exc.strerror or exc}")


def table_name(root_path: str) -> str:
    """The nftables table of the data root at `root_path` (resolved)."""
    import hashlib
    return "dockyard_" + hashlib.sha256(root_path.encode()).hexdigest()[:8]


class Upkeep:
    """The recovery half of Networks (see networks.py for the attributes it uses)."""

    def retire_idle(self, idle_for: float = IDLE_S) -> bool:
        """Delete the default bridge (and its rules) if no container used it for `idle_for`
        seconds; True if it did. Cheap when there is nothing to do (no netlink)."""
        def idle(records):
            return [r for r in records if r["default"] and not r["endpoints"]
                    and r.get("realized", True)
                    and time.time() - self.state.mtime(r["id"]) >= idle_for]
        if not idle(self.state.networks()):         # the usual answer, without the lock
            return False
        with self.state.locked():
            for record in idle(self.state.networks()):
                self._retire(record)
                self._apply_firewall()
                return True
        return False

    def _retire(self, record: dict) -> None:
        try:
            self.links.delete_link(record["bridge"])
        except OSError as exc:
            raise _host_error(f"delete bridge {record['bridge']}", exc) from exc
        record["realized"] = False
        self.state.save_network(record, durable=False)

    def _alias(self) -> str | None:
        """This root's mark on its bridges (None when too long for an alias)."""
        alias = f"{ALIAS} {self.state.root_id()} {self.root.resolve()}"
        return alias if len(alias.encode()) < 256 else None

    def reclaim_stale_bridges(self, dry_run: bool = False) -> list[str]:
        """Delete bridges (and their nftables tables) of data roots that no longer exist;
        the names of those bridges. Bridges without dockyard's alias are left alone."""
        removed = []
        try:
            marked = self.links.bridges_with_alias(ALIAS + " ")
        except OSError as exc:
            raise _host_error("list bridges", exc) from exc
        for bridge, alias in marked:
            _, root_id, path = alias.split(" ", 2)
            if NetworkState(Path(path)).root_id(create=False) == root_id:
                continue                      # that root is alive
            removed.append(bridge)
            if dry_run:
                continue
            self.links.delete_link(bridge)
            if not (Path(path) / "networks").exists():   # the table's name is the path's
                self.firewall.delete(table_name(path))
        return removed

    def _free_dead(self, container_ids) -> bool:
        """Release the reservations of containers that may not hold them; True if any."""
        dead = [cid for cid in container_ids if self.holder is not None and not self.holder(cid)]
        for cid in dead:
            self.release(cid)
        return bool(dead)

    def cleanup_stale(self, alive: set[str]) -> list[str]:
        """Remove what dead containers left (endpoints, ports, netns files); re-create bridges
        and the nftables table from the records. Returns the container ids cleaned up."""
        with self.state.locked():
            dead = self._drop_dead(alive)
            for record in self.state.networks():
                if record.get("realized", True):
                    self._realize(record)
            self._apply_firewall()
        return sorted(dead)

    def _drop_dead(self, alive: set[str]) -> set[str]:
        dead = set()
        with self.state.locked():
            records = self.state.networks()
            for record in records:
                for cid in [c for c in record["endpoints"] if c not in alive]:
                    self._unplug(record, cid)
                    dead.add(cid)
            for cid in self.state.ports():
                if cid not in alive:
                    self.state.save_ports(cid, [])
                    dead.add(cid)
            if self.netns_dir.is_dir():
                for entry in os.listdir(self.netns_dir):
                    if entry not in alive:
                        self.links.remove_netns(str(self.netns_dir / entry))
                        dead.add(entry)
        return dead

    def teardown(self) -> None:
        """Remove everything of this root: endpoints, netns files, networks, the nftables table."""
        with self.state.locked():
            self._drop_dead(alive=set())
            for record in self.state.networks():
                self.links.delete_link(record["bridge"])
                self.state.delete_network(record["id"])
            self.firewall.delete(self.table)

    def reapply_firewall(self) -> None:
        """Write the nftables table again from the records (after a writer was killed)."""
        with self.state.locked():
            self._apply_firewall()

    def audit(self, repair: bool = False) -> list[tuple[str, bool]]:
        """What this root's records and the kernel hold that they shouldn't: reservations of
        containers that may not hold them, veths no endpoint names, a table out of step with
        the records, bridges of deleted roots. [(problem, repaired?)]."""
        found = []
        with self.state.locked():
            records, ports = self.state.networks(), self.state.ports()
            netns = os.listdir(self.netns_dir) if self.netns_dir.is_dir() else []
            ids = {c for r in records for c in r["endpoints"]} | set(ports) | set(netns)
            for cid in sorted(c for c in ids if self.holder is not None and not self.holder(c)):
                if repair:
                    self.release(cid)
                found.append((f"{cid[:12]} holds an address, port or netns but is stopped or "
                              "gone" + (": released" if repair else ""), repair))
            records = self.state.networks()
            for record in records:
                if record.get("realized", True) and self.links.index(record["bridge"]) is None:
                    if repair and record["default"] and not record["endpoints"]:
                        self._retire(record)    # it comes back with its next container
                    elif repair:
                        self._realize(record)
                    found.append((f"bridge {record['bridge']} of network {record['name']} is "
                                  "missing" + (": fixed" if repair else ""), repair))
            for bridge, veth in self._stray_veths(records):
                if repair:
                    self.links.delete_link(veth)
                found.append((f"veth {veth} on {bridge} belongs to no container"
                              + (": deleted" if repair else ""), repair))
            if not self._table_in_step(records):
                if repair:
                    self._apply_firewall()
                found.append((f"nftables table {self.table} does not match the records"
                              + (": written again" if repair else ""), repair))
        for bridge in self.reclaim_stale_bridges(dry_run=not repair):
            found.append((f"bridge {bridge} belongs to a data root that no longer exists"
                          + (": deleted" if repair else ""), repair))
        return found

    def _stray_veths(self, records) -> list[tuple[str, str]]:
        """(bridge, veth) of veths on this root's bridges that no endpoint names. The kernel
        deletes a freed namespace's veths in the background: those get 2 s to go."""
        named = {ep["host_ifname"] for r in records for ep in r["endpoints"].values()}
        deadline = time.monotonic() + 2
        while True:
            strays = [(r["bridge"], v) for r in records
                      for v in set(self.links.ports_of(r["bridge"])) - named]
            if not strays or time.monotonic() > deadline:
                return strays
            time.sleep(0.05)

    def _table_in_step(self, records) -> bool:
        forwards = sum(len(bs) for cid, bs in self.state.ports().items()
                       if self._publish_address(records, cid))
        bridges = [r for r in records if r.get("realized", True)]
        have = self.firewall.forward_count(self.table)
        if have is None:
            return not (bridges or forwards)
        return have == forwards
