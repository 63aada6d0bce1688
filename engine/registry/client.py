"""An OCI distribution client: ping, bearer/basic auth, manifests, blobs, uploads.

    client = RegistryClient("127.0.0.1:5000", root=data_root)
    data, media_type, digest = client.get_manifest("busybox", "latest")

Plain HTTP is used for `localhost`/`127.0.0.1`/`::1` registries, `http://` mirrors and those
listed as insecure (the `insecure` argument, the engine's settings, `<data_root>/registries.json`'s
"insecure-registries", or $DOCKYARD_INSECURE_REGISTRIES, comma separated); an insecure registry
is tried over HTTPS without certificate checks first, as Docker does. Everything else is HTTPS
with verification. Docker Hub's mirrors ("registry-mirrors", the same places) are clients of
their own: `RegistryClient("docker.io", endpoint="http://mirror:5000")`.
Every refusal becomes one line: Unauthorized (401/403) or RegistryError, with the registry's own
message from its `{"errors": [...]}` body; a 429 adds Docker Hub's pull-rate headers.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

import httpx

from ..errors import ImageNotFound, InvalidArgument, RegistryError, Unauthorized
from . import auth
from .bodies import Counted, counting, pieces
from .transport import Transport

DOCKER_HUB_HOST = "registry-1.docker.io"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
SETTINGS_FILE = "registries.json"
CHUNK = 1 << 20


def _settings(root) -> dict:
    if root is None:
        return {}
    try:
        data = json.loads((Path(root) / SETTINGS_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _listed(key: str, variable: str, root, extra: dict | None) -> list[str]:
    """`key`'s values: the engine's own (`extra`, e.g. the daemon's flags), then $variable
    (comma separated), then registries.json's; each once, in that order."""
    values = list((extra or {}).get(key) or [])
    values += os.environ.get(variable, "").split(",")
    values += _settings(root).get(key) or []
    return list(dict.fromkeys(v.strip() for v in values if isinstance(v, str) and v.strip()))


def insecure_registries(root=None, extra: dict | None = None) -> set[str]:
    """Registries to reach without TLS verification (`insecure-registries`)."""
    return set(_listed("insecure-registries", "DOCKYARD_INSECURE_REGISTRIES", root, extra))


def registry_mirrors(root=None, extra: dict | None = None) -> list[str]:
    """Docker Hub mirror URLs, in the order pulls try them (`registry-mirrors`, as in dockerd's
    daemon.json; $DOCKYARD_REGISTRY_MIRRORS)."""
    return _listed("registry-mirrors", "DOCKYARD_REGISTRY_MIRRORS", root, extra)


def mirror_url(text: str) -> str:
    """`https://host[:port]` for a --registry-mirror value; InvalidArgument for anything else
    (a path or query, as dockerd refuses them)."""
    url = urlsplit(text if "://" in text else "https://" + text)
    if url.scheme not in ("http", "https") or not url.netloc or url.path not in ("", "/") \
            or url.query:
        raise InvalidArgument(f"invalid registry mirror {text!r}: use http(s)://host[:port]")
    return f"{url.scheme}://{url.netloc}"


def rate_limit(response) -> str:
    """Docker Hub's pull-rate headers in words: `0 of 100 pulls left per 6 h`, or ''."""
    limit, left = response.header("ratelimit-limit"), response.header("ratelimit-remaining")
    if not (limit or left):
        return ""
    count, _, window = (limit or "?").partition(";w=")
    hours = f" per {int(window) / 3600:g} h" if window.isdigit() else ""
    return f"{(left or '?').split(';')[0]} of {count} pulls left{hours}"


def registry_message(data: bytes, fallback: str) -> str:
    """The registry's `errors` as `code: message` lines joined by `; `, else `fallback`."""
    try:
        errors = json.loads(data).get("errors") or []
        text = "; ".join(f"{e.get('code', '').lower().replace('_', ' ')}: {e.get('message', '')}"
                         .strip(": ") for e in errors)
    except (ValueError, AttributeError):
        text = ""
    return text or fallback


class RegistryClient:
    """Requests to one registry (by domain as in references: `docker.io`, `host:port`), or to
    a mirror of it (`endpoint`: the mirror's URL; its own credentials, never the registry's)."""

    def __init__(self, domain: str, *, root=None, credentials: tuple[str, str] | None = None,
                 insecure: bool | None = None,
                 transport: Transport | httpx.BaseTransport | None = None,
                 endpoint: str | None = None):
        self.domain = domain
        self.host = DOCKER_HUB_HOST if domain in auth.DOCKER_HUB_HOSTS else domain
        self.endpoint = mirror_url(endpoint) if endpoint else None
        server = domain
        if self.endpoint:
            scheme, _, self.host = self.endpoint.partition("://")
            server = self.host
            insecure = insecure or scheme == "http"
        self.credentials = credentials or (auth.credentials(root, server) if root else None)
        hostname = self.host.rsplit(":", 1)[0] if not self.host.startswith("[") else \
            self.host.split("]")[0] + "]"
        if insecure is None:
            insecure = server in insecure_registries(root)
        self.insecure = insecure
        self.plain = hostname in LOCAL_HOSTS or (self.endpoint or "").startswith("http://")
        self._owned = not isinstance(transport, Transport)    # close only what we made
        if isinstance(transport, httpx.BaseTransport):
            transport = Transport(transport=transport)
        self.transport = transport or Transport()
        self._base: str | None = None
        self._tokens: dict[str, str] = {}        # scope -> bearer token
        self._challenge: tuple[str, dict] | None = None

    # -- connection and auth ---------------------------------------------------------------

    @property
    def base(self) -> str:
        """`http(s)://host` as ping() settled it."""
        if self._base is None:
            self.ping()
        return self._base

    def ping(self) -> None:
        """GET /v2/: pick the scheme and remember the auth challenge; RegistryError if none answers."""
        schemes = ["http"] if self.plain else ["https", "http"] if self.insecure else ["https"]
        error = None
        for scheme in schemes:
            try:                                   # the next scheme is the retry
                response = self.transport.request("GET", f"{scheme}://{self.host}/v2/",
                                                  verify=not self.insecure,
                                                  attempts=1 if scheme != schemes[-1] else None)
            except RegistryError as exc:
                error = exc
                continue
            response.close()
            if response.status == 401:
                challenge = response.header("WWW-Authenticate")
                self._challenge = auth.parse_challenge(challenge) if challenge else None
            elif response.status >= 400:
                error = RegistryError(f"{self.domain} is not a registry: GET /v2/ answered "
                                      f"{response.status}")
                continue
            self._base = f"{scheme}://{self.host}"
            return
        raise error

    def login(self) -> None:
        """Check the credentials: authenticate once; Unauthorized if the registry refuses them."""
        self.ping()
        if self._challenge is None:
            return                                 # an open registry takes anything
        self._authorization("")
        response = self.transport.request("GET", f"{self.base}/v2/",
                                          self._auth_headers(""), verify=not self.insecure)
        response.close()
        if response.status == 401:
            raise Unauthorized(f"login to {self.domain} failed: unauthorized: incorrect "
                               "username or password")

    def _auth_headers(self, scope: str) -> dict:
        if self._challenge is None:
            return {}
        scheme, _ = self._challenge
        if scheme == "bearer" and scope in self._tokens:
            return {"Authorization": "Bearer " + self._tokens[scope]}
        if scheme == "basic" and self.credentials:
            return {"Authorization": auth.basic_header(*self.credentials)}
        return {}

    def _authorization(self, scope: str) -> None:
        """Obtain what the challenge asks for: a bearer token for `scope`, or basic credentials."""
        scheme, params = self._challenge
        if scheme == "basic":
            if not self.credentials:
                raise Unauthorized(f"{self.domain}: unauthorized: authentication required "
                                   f"(dockyard login {self.domain})")
            return
        if scheme != "bearer" or "realm" not in params:
            raise RegistryError(f"{self.domain}: unsupported auth challenge {scheme!r}")
        query = [("service", params["service"])] if params.get("service") else []
        query += [("scope", s) for s in scope.split(" ") if s]
        headers = {"Authorization": auth.basic_header(*self.credentials)} if self.credentials \
            else {}
        url = params["realm"] + ("&" if "?" in params["realm"] else "?") + urlencode(query)
        response = self.transport.request("GET", url, headers)
        data = response.body()
        if response.status in (401, 403):
            raise Unauthorized(f"{self.domain}: unauthorized: "
                               f"{registry_message(data, 'incorrect username or password')}")
        if response.status != 200:
            raise RegistryError(f"{self.domain}: token server answered {response.status}: "
                                f"{registry_message(data, data[:200].decode(errors='replace'))}")
        try:
            reply = json.loads(data)
            self._tokens[scope] = reply.get("token") or reply["access_token"]
        except (ValueError, KeyError) as exc:
            raise RegistryError(f"{self.domain}: token server sent no token") from exc

    def request(self, method: str, path: str, scope: str, *, headers=None, body=None,
                ok=(200,), what: str = ""):
        """One authenticated request; a 401 is answered once by authenticating for `scope`.

        Returns the Response when its status is in `ok`; else raises with the registry's message
        (ImageNotFound for a 404 on a manifest or blob named in `what`).
        """
        url = path if "://" in path else self.base + path
        if self._challenge and self._challenge[0] == "bearer" and scope not in self._tokens:
            self._authorization(scope)             # spare the 401 round trip
        start = body.tell() if hasattr(body, "seek") else None
        replayable = body is None or isinstance(body, (bytes, bytearray)) or start is not None
        for attempt in (1, 2):
            all_headers = {**self._auth_headers(scope), **(headers or {})}
            response = self.transport.request(method, url, all_headers, body,
                                              verify=not self.insecure)
            if response.status != 401 or attempt == 2 or not replayable:
                break
            response.close()
            challenge = response.header("WWW-Authenticate")
            if not challenge:
                break
            self._challenge = auth.parse_challenge(challenge)
            self._authorization(scope)
            if start is not None:
                body.seek(start)
        if response.status in ok:
            return response
        data = response.body() if method != "HEAD" else b""
        message = registry_message(data, f"{method} {path} answered {response.status}")
        where = what or self.domain
        if response.status in (401, 403):
            raise Unauthorized(f"{where}: {message}")
        if response.status == 404 and what:
            raise ImageNotFound(f"{where} not found: {message}")
        if response.status == 429:
            left = rate_limit(response)
            raise RegistryError(f"{where}: {message}" + (
                f" (pull rate limit: {left}; `dockyard login` raises it)" if left else ""))
        raise RegistryError(f"{where}: {message}")

    # -- the distribution API --------------------------------------------------------------

    @staticmethod
    def scope(repository: str, actions: str = "pull") -> str:
        return f"repository:{repository}:{actions}"

    def get_manifest(self, repository: str, reference: str, accept: tuple[str, ...],
                     scope: str | None = None) -> tuple[bytes, str, str | None]:
        """(bytes, media type, Docker-Content-Digest or None) of a manifest or index."""
        response = self.request("GET", f"/v2/{repository}/manifests/{reference}",
                                scope or self.scope(repository),
                                headers={"Accept": ", ".join(accept)},
                                what=f"manifest for {self.domain}/{repository}:{reference}"
                                if not reference.startswith("sha256:") else
                                f"manifest {self.domain}/{repository}@{reference}")
        data = response.body()
        media_type = (response.header("Content-Type") or "").split(";")[0].strip()
        return data, media_type, response.header("Docker-Content-Digest")

    def open_blob(self, repository: str, digest: str, scope: str | None = None):
        """A streaming Response for a blob (redirects followed, without our credentials)."""
        return self.request("GET", f"/v2/{repository}/blobs/{digest}",
                            scope or self.scope(repository),
                            what=f"blob {digest} in {self.domain}/{repository}")

    def blob_exists(self, repository: str, digest: str, scope: str) -> bool:
        response = self.request("HEAD", f"/v2/{repository}/blobs/{digest}", scope,
                                ok=(200, 404))
        response.close()
        return response.status == 200

    def start_upload(self, repository: str, scope: str, *, mount: str | None = None,
                     source: str | None = None) -> str | None:
        """POST an upload: None when `mount` was mounted from repository `source`, else its URL."""
        path = f"/v2/{repository}/blobs/uploads/"
        if mount and source:
            path += "?" + urlencode({"mount": mount, "from": source})
        response = self.request("POST", path, scope, ok=(201, 202),
                                headers={"Content-Length": "0"}, body=b"")
        response.close()
        if response.status == 201:
            return None
        location = response.header("Location")
        if not location:
            raise RegistryError(f"{self.domain}: upload started without a Location")
        return urljoin(response.url, location)

    def upload_blob(self, location: str, digest: str, fileobj, size: int, scope: str, *,
                    chunk_size: int | None = None, on_progress=None) -> None:
        """Send a blob to an upload URL: one PUT, or PATCH chunks then a PUT when chunk_size."""
        if chunk_size and size > chunk_size:
            location = self.upload_stream(location, iter(lambda: fileobj.read(chunk_size), b""),
                                          scope, chunk_size=chunk_size, on_progress=on_progress)
            self.finish_upload(location, digest, scope)
        else:
            self.finish_upload(location, digest, scope, Counted(fileobj, on_progress), size)

    def upload_stream(self, location: str, chunks, scope: str, *,
                      chunk_size: int | None = None, on_progress=None) -> str:
        """PATCH the bytes `chunks` yields to an upload, whose length and digest nobody knows
        yet: in one streamed request (as docker push sends a layer it compresses on the way),
        or in requests of `chunk_size` bytes. Returns the URL finish_upload() takes."""
        if not chunk_size:
            response = self.request("PATCH", location, scope, ok=(202,),
                                    body=counting(chunks, on_progress),
                                    headers={"Content-Type": "application/octet-stream"})
            response.close()
            return urljoin(response.url, response.header("Location") or location)
        offset = 0
        for data in pieces(chunks, chunk_size):
            end = offset + len(data) - 1
            response = self.request("PATCH", location, scope, body=data, ok=(202,),
                                    headers={"Content-Type": "application/octet-stream",
                                             "Content-Range": f"{offset}-{end}",
                                             "Content-Length": str(len(data))})
            response.close()
            location = urljoin(response.url, response.header("Location") or location)
            offset += len(data)
            if on_progress:
                on_progress(offset)
        return location

    def finish_upload(self, location: str, digest: str, scope: str, body=b"",
                      length: int = 0) -> None:
        """The upload's last request: PUT with its digest (and `body`, the rest of it)."""
        separator = "&" if "?" in location else "?"
        response = self.request("PUT", f"{location}{separator}{urlencode({'digest': digest})}",
                                scope, body=body, ok=(201, 204),
                                headers={"Content-Type": "application/octet-stream",
                                         "Content-Length": str(length)})
        response.close()

    def put_manifest(self, repository: str, tag: str, data: bytes, media_type: str,
                     scope: str) -> str | None:
        """PUT a manifest by tag; the Docker-Content-Digest the registry answered."""
        response = self.request("PUT", f"/v2/{repository}/manifests/{tag}", scope, body=data,
                                ok=(200, 201), headers={"Content-Type": media_type,
                                                        "Content-Length": str(len(data))})
        response.close()
        return response.header("Docker-Content-Digest")

    def close(self) -> None:
        if self._owned:
            self.transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
