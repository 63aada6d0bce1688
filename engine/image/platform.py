"""Platforms as `os/arch[/variant]`: parsed, matched against an index's entries or an image's own.

    wanted = parse("linux/arm64")              # Platform("linux", "arm64", None)
    entry = choose(index["manifests"], "linux/arm64", "busybox:latest")
    check(image.config, "linux/amd64", "busybox:latest")     # ImageNotFound if it is another

As Docker: no platform means linux on this host's architecture, a bare architecture means
linux ("arm64" is linux/arm64), architecture names are Go's (x86_64 is amd64, aarch64 arm64),
and a variant counts only when asked for (arm64's v8 is arm64).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ImageNotFound, InvalidArgument, RegistryError
from .model import host_architecture

ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm",
           "armel": "arm", "i386": "386", "i686": "386"}
DEFAULT_VARIANTS = {"arm64": "v8", "amd64": "v1"}
OPERATING_SYSTEMS = ("linux", "windows", "darwin", "freebsd")


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

    def accepts(self, other: "Platform") -> bool:
        """Whether an image for `other` is what this (wanted) platform asks for."""
        if (self.os, self.architecture) != (other.os, other.architecture):
            return False
        default = DEFAULT_VARIANTS.get(self.architecture)
        return self.variant is None or (self.variant or default) == (other.variant or default)


def parse(text: str | None) -> Platform:
    """`os/arch[/variant]`, a bare architecture or None (this host); InvalidArgument if bad."""
    if not text:
        return Platform("linux", host_architecture())
    parts = text.strip().lower().split("/")
    if len(parts) > 3 or not all(parts):
        raise InvalidArgument(f"invalid platform {text!r}: use os/arch[/variant], e.g. "
                              "linux/arm64")
    if len(parts) == 1 and parts[0] not in OPERATING_SYSTEMS:
        parts = ["linux", parts[0]]                       # "arm64": Docker reads linux/arm64
    arch = ALIASES.get(parts[1], parts[1]) if len(parts) > 1 else host_architecture()
    return Platform(parts[0], arch, parts[2] if len(parts) > 2 else None)


def of_config(config: dict) -> Platform:
    """The platform an image config says it is for."""
    arch = config.get("architecture") or "amd64"
    return Platform(config.get("os") or "linux", ALIASES.get(arch, arch),
                    config.get("variant") or None)


def choose(entries: list[dict], platform: str | None, what: str) -> dict:
    """The index entry for `platform` (default: this host's); RegistryError when none fits."""
    wanted = parse(platform)
    for entry in entries:
        given = entry.get("platform") or {}
        if given.get("architecture") and wanted.accepts(of_config(given)):
            return entry
    raise RegistryError(f"{what}: no matching manifest for {wanted} in the manifest list "
                        "entries")


def check(config: dict, platform: str | None, what: str) -> None:
    """ImageNotFound (Docker's words) unless the image `config` is for `platform`."""
    if platform is None:
        return
    wanted, actual = parse(platform), of_config(config)
    if not wanted.accepts(actual):
        raise ImageNotFound(f"image with reference {what} was found but does not match the "
                            f"specified platform: wanted {wanted}, actual: {actual}")
