"""Registry credentials in `<data_root>/auth.json` (docker's config.json shape) and auth challenges.

    save_credentials(root, "127.0.0.1:5000", "me", "secret")
    credentials(root, "127.0.0.1:5000")        # ("me", "secret")

The file is `{"auths": {"<server>": {"auth": base64("user:password")}}}`, mode 0600, written by
an atomic rename. Docker Hub's key is `https://index.docker.io/v1/`, as docker login writes it.
"""
from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path

from ..errors import ContentError, InvalidArgument

AUTH_FILE = "auth.json"
DOCKER_HUB_KEY = "https://index.docker.io/v1/"
DOCKER_HUB_HOSTS = ("docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com")

_PARAM = re.compile(r'([a-zA-Z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')


def server_key(server: str) -> str:
    """The auths key for a server given as host, host:port or URL (Docker Hub's legacy URL)."""
    host = server.strip()
    for prefix in ("https://", "http://"):
        if host.startswith(prefix):
            host = host[len(prefix):]
    host = host.split("/", 1)[0]
    if not host:
        raise InvalidArgument(f"invalid registry server {server!r}")
    return DOCKER_HUB_KEY if host in DOCKER_HUB_HOSTS else host


def registry_domain(server: str) -> str:
    """The registry a `docker login` SERVER argument means, as references name it (`docker.io`)."""
    key = server_key(server)
    return "docker.io" if key == DOCKER_HUB_KEY else key


def _path(root) -> Path:
    return Path(root) / AUTH_FILE


def _read(root) -> dict:
    try:
        data = json.loads(_path(root).read_text())
    except FileNotFoundError:
        return {"auths": {}}
    except ValueError as exc:
        raise ContentError(f"{_path(root)} is not valid JSON: {exc}") from exc
    data.setdefault("auths", {})
    return data


def _write(root, data: dict) -> None:
    path = _path(root)
    temp = path.with_name(f".{AUTH_FILE}.{os.getpid()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.rename(temp, path)


def credentials(root, server: str) -> tuple[str, str] | None:
    """(username, password) stored for `server`, or None."""
    entry = _read(root)["auths"].get(server_key(server))
    if not entry or not entry.get("auth"):
        return None
    try:
        user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ContentError(f"{_path(root)}: bad auth entry for {server}") from exc
    return user, password


def save_credentials(root, server: str, username: str, password: str) -> None:
    """Store credentials for `server` (replacing earlier ones)."""
    if not username or ":" in username:
        raise InvalidArgument(f"invalid username {username!r}")
    data = _read(root)
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    data["auths"][server_key(server)] = {"auth": token}
    _write(root, data)


def remove_credentials(root, server: str) -> bool:
    """Forget `server`'s credentials; False if there were none."""
    data = _read(root)
    if data["auths"].pop(server_key(server), None) is None:
        return False
    _write(root, data)
    return True


def parse_challenge(header: str) -> tuple[str, dict]:
    """`Bearer realm="https://a/token",service="reg"` -> ("bearer", {"realm": ..., "service": ...})."""
    scheme, _, rest = header.strip().partition(" ")
    params = {}
    for match in _PARAM.finditer(rest):
        value = match.group(2) if match.group(2) is not None else match.group(3)
        params[match.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
    return scheme.lower(), params


def basic_header(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
