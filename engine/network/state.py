"""Network records on disk: one JSON file per network, one per container's published ports.

    <root>/networks/<network id>.json      the network, its IPAM cursor and its endpoints
    <root>/networks/ports/<container>.json the container's published ports
    <root>/networks/.lock                  flock(2) held while a change is read-modified-written

Files are written to a temp file, fsynced and renamed, so a reader (or a crash) never sees half
a record. Several processes may open one root: every change happens under the lock.
"""
import json
import os
from contextlib import contextmanager
from pathlib import Path

from ..image.lock import file_lock


def _write_json(path: Path, data, durable: bool = True) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        if durable:
            f.flush()
            os.fsync(f.fileno())
    os.rename(tmp, path)


class NetworkState:
    """Reads and writes network and port records under `<root>/networks`."""

    def __init__(self, root: Path):
        self.dir = Path(root) / "networks"
        self.ports_dir = self.dir / "ports"

    @contextmanager
    def locked(self):
        """Hold the root's network lock (re-entrant within this process)."""
        with file_lock(self.dir / ".lock"):
            self.ports_dir.mkdir(parents=True, exist_ok=True)
            yield

    def root_id(self, create: bool = True) -> str | None:
        """A random id of this data root, made on first use (bridges carry it in their alias,
        so a bridge outlives a deleted root recognisably); None if there is none and not create."""
        path = self.dir / "root-id"
        try:
            return path.read_text().strip()
        except (FileNotFoundError, NotADirectoryError):
            if not create:
                return None
        import secrets
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / f".root-id.{os.getpid()}.tmp"
        tmp.write_text(secrets.token_hex(8) + "\n")
        try:
            os.link(tmp, path)               # the first process to make it wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        return path.read_text().strip()

    def networks(self) -> list[dict]:
        """Every network record, oldest first."""
        if not self.dir.is_dir():
            return []
        records = []
        for path in self.dir.glob("*.json"):
            try:
                records.append(json.loads(path.read_text()))
            except FileNotFoundError:       # removed by another process meanwhile
                continue
        return sorted(records, key=lambda r: (r["created"], r["id"]))

    def save_network(self, record: dict, durable: bool = True) -> None:
        """Write a network record; durable=False skips fsync (for endpoint changes only: they
        describe veths and namespaces that a power loss destroys anyway)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        _write_json(self.dir / f"{record['id']}.json", record, durable)

    def mtime(self, network_id: str) -> float:
        """When the network's record last changed (an endpoint came or went)."""
        return (self.dir / f"{network_id}.json").stat().st_mtime

    def delete_network(self, network_id: str) -> None:
        (self.dir / f"{network_id}.json").unlink(missing_ok=True)

    def ports(self) -> dict[str, list[dict]]:
        """{container id: [binding dicts]} for every container with published ports."""
        if not self.ports_dir.is_dir():
            return {}
        result = {}
        for path in self.ports_dir.glob("*.json"):
            try:
                result[path.stem] = json.loads(path.read_text())
            except FileNotFoundError:
                continue
        return result

    def save_ports(self, container_id: str, bindings: list[dict]) -> None:
        self.ports_dir.mkdir(parents=True, exist_ok=True)
        if bindings:
            _write_json(self.ports_dir / f"{container_id}.json", bindings)
        else:
            (self.ports_dir / f"{container_id}.json").unlink(missing_ok=True)
