"""Image references with Docker's normalization: `busybox` is `docker.io/library/busybox:latest`.

    >>> str(parse("busybox"))
    'docker.io/library/busybox:latest'
    >>> familiar("docker.io/me/app:1")
    'me/app:1'

The grammar follows the distribution project's reference package: a lowercase path of
components, an optional registry domain (a first component with `.` or `:`, or `localhost`), a tag
of at most 128 word characters, and an optional `@algorithm:hex` digest.
"""
import re
from dataclasses import dataclass

from ..errors import InvalidArgument

DEFAULT_DOMAIN = "docker.io"
OFFICIAL_PREFIX = "library/"
DEFAULT_TAG = "latest"
MAX_NAME_LENGTH = 255

_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_DOMAIN = re.compile(r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)"
                     r"(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?"
                     r"|\[[0-9a-fA-F:]+\](?::[0-9]+)?")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}")
_HEX64 = re.compile(r"[a-f0-9]{64}")


@dataclass(frozen=True)
class Reference:
    """A parsed, normalized reference: `domain/path[:tag][@digest]`."""
    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """The repository name with its domain, e.g. `docker.io/library/busybox`."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar(self) -> str:
        """The short form Docker displays: `busybox:latest`, `me/app:1`."""
        return familiar(self)

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += ":" + self.tag
        if self.digest:
            text += "@" + self.digest
        return text


def parse(text: str, *, default_tag: bool = True) -> Reference:
    """Parse and normalize `text`; adds the `latest` tag when there is neither tag nor digest.

    Raises InvalidArgument naming what is wrong with the reference.
    """
    if not isinstance(text, str) or not text:
        raise InvalidArgument("invalid reference format: empty reference")
    if _HEX64.fullmatch(text):
        raise InvalidArgument(f"invalid repository name ({text}), cannot specify 64-byte "
                              "hexadecimal strings")
    rest, digest = text, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST.fullmatch(digest):
            raise InvalidArgument(f"invalid reference format: bad digest in {text!r}")
        algorithm, hexpart = digest.split(":", 1)
        if algorithm == "sha256" and not _HEX64.fullmatch(hexpart):
            raise InvalidArgument(f"invalid reference format: sha256 digest in {text!r} needs "
                                  "64 lowercase hex digits")
    tag = None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:                     # a colon after the last slash starts the tag
        rest, tag = rest[:colon], rest[colon + 1:]
        if not _TAG.fullmatch(tag):
            raise InvalidArgument(f"invalid reference format: bad tag {tag!r} in {text!r}")
    domain, path = _split_domain(rest, text)
    for component in path.split("/"):
        if not _COMPONENT.fullmatch(component):
            if component.lower() != component and _COMPONENT.fullmatch(component.lower()):
                raise InvalidArgument(f"invalid reference format: repository name must be "
                                      f"lowercase: {text!r}")
            raise InvalidArgument(f"invalid reference format: bad name component "
                                  f"{component!r} in {text!r}")
    if len(domain) + 1 + len(path) > MAX_NAME_LENGTH:
        raise InvalidArgument(f"invalid reference format: repository name longer than "
                              f"{MAX_NAME_LENGTH} characters: {text!r}")
    if tag is None and digest is None and default_tag:
        tag = DEFAULT_TAG
    return Reference(domain, path, tag, digest)


def _split_domain(name: str, text: str) -> tuple[str, str]:
    """Docker's splitDockerDomain: the first component is a domain only if it looks like one."""
    first, sep, remainder = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"
                or first.lower() != first):
        if not _DOMAIN.fullmatch(first):
            raise InvalidArgument(f"invalid reference format: bad registry {first!r} in {text!r}")
        domain, path = first, remainder
    else:
        domain, path = DEFAULT_DOMAIN, name
    if domain == "index.docker.io":
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = OFFICIAL_PREFIX + path
    if not path:
        raise InvalidArgument(f"invalid reference format: empty repository name in {text!r}")
    return domain, path


def normalize(text: str) -> str:
    """The full string form of a reference: `busybox` -> `docker.io/library/busybox:latest`."""
    return str(parse(text))


def familiar(text: str | Reference) -> str:
    """The short form Docker displays: `docker.io/library/busybox:latest` -> `busybox:latest`."""
    ref = text if isinstance(text, Reference) else parse(text, default_tag=False)
    name = ref.name
    if ref.domain == DEFAULT_DOMAIN:
        name = ref.path
        if name.startswith(OFFICIAL_PREFIX) and name.count("/") == 1:
            name = name[len(OFFICIAL_PREFIX):]
    if ref.tag:
        name += ":" + ref.tag
    if ref.digest:
        name += "@" + ref.digest
    return name


def familiar_name(text: str | Reference) -> str:
    """The familiar repository name without tag or digest: `docker.io/library/busybox` -> `busybox`."""
    ref = text if isinstance(text, Reference) else parse(text, default_tag=False)
    return familiar(Reference(ref.domain, ref.path))
