"""The image store's plain values: Layer and Image, and the OCI media types and JSON they use."""
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"

_ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386",
                  "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


@dataclass(frozen=True)
class Layer:
    """One layer: its gzip blob, its uncompressed diff, and the snapshot where it is unpacked."""
    digest: str            # sha256 of the gzip blob (manifest descriptor)
    diff_id: str           # sha256 of the uncompressed tar (config rootfs.diff_ids)
    size: int              # bytes of the uncompressed tar
    chain_id: str          # identity of this layer on top of its parents
    snapshot: Path         # the diff dir, in overlay lower format
    link: str              # short name: snapshots/l/<link> -> the diff dir


@dataclass(frozen=True)
class Image:
    """An image: id = config digest; config is the OCI image config JSON."""
    id: str
    config: dict
    layers: tuple[Layer, ...]
    tags: tuple[str, ...] = ()
    manifest_digest: str = ""
    added: float = field(default=0.0, compare=False)
    repo_digests: tuple[str, ...] = ()   # `name@sha256:...` of manifests pulled or pushed

    @property
    def short_id(self) -> str:
        """The first 12 hex digits of the id, as `docker images` shows."""
        return self.id.split(":", 1)[1][:12]

    @property
    def created(self) -> str:
        return self.config.get("created", "")

    @property
    def size(self) -> int:
        """Uncompressed bytes of all layers."""
        return sum(layer.size for layer in self.layers)


def canonical_json(value) -> bytes:
    """Stable JSON bytes (sorted keys, no spaces), so the same content gets the same digest."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def host_architecture() -> str:
    """The host's architecture in OCI/Go terms (amd64, arm64, ...)."""
    machine = os.uname().machine       # what platform.machine() says, without its import
    return _ARCHITECTURES.get(machine, machine)


def rfc3339(timestamp: float) -> str:
    """`2024-05-01T12:00:00Z` style UTC time (fractions kept when present)."""
    moment = datetime.fromtimestamp(timestamp, tz=timezone.utc)
    text = moment.isoformat().replace("+00:00", "Z")
    return text


def parse_time(text: str) -> float:
    """Seconds since the epoch for an RFC 3339 string (Go's 9-digit fractions too); 0 if bad."""
    if not text:
        return 0.0
    text = text.replace("Z", "+00:00")
    if "." in text:
        head, rest = text.split(".", 1)
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = head + "." + rest[:min(digits, 6)].ljust(1, "0") + rest[digits:]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return 0.0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()
