"""HTTP(S) requests for the registry client: kept-alive connections, redirects, streamed bodies.

http.client rather than urllib because a blob redirect (Docker Hub sends layers to a CDN) must
not carry the registry's Authorization header to another host, and urllib forwards it.
"""
from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from ..errors import RegistryError

MAX_REDIRECTS = 5
TIMEOUT_S = 60.0
BLOCK = 1 << 20                       # bytes sent per write of a streamed body (not 8 KiB)


@dataclass
class Response:
    """A response whose body is read with read() (streaming) or body() (all of it)."""
    status: int
    headers: http.client.HTTPMessage
    url: str
    _raw: http.client.HTTPResponse

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)

    def read(self, size: int = -1) -> bytes:
        return self._raw.read(size)

    def body(self) -> bytes:
        return self._raw.read()

    def close(self) -> None:
        """Finish the body so the connection can be reused."""
        try:
            while self._raw.read(1 << 16):
                pass
        except (OSError, http.client.HTTPException):
            pass


class Transport:
    """One kept-alive connection per (scheme, host); `verify=False` skips TLS certificate checks."""

    def __init__(self, *, timeout: float = TIMEOUT_S):
        self.timeout = timeout
        self._connections: dict[tuple[str, str, bool], http.client.HTTPConnection] = {}

    def _connection(self, scheme: str, netloc: str, verify: bool) -> http.client.HTTPConnection:
        key = (scheme, netloc, verify)
        conn = self._connections.get(key)
        if conn is None:
            if scheme == "https":
                context = ssl.create_default_context()
                if not verify:
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
                conn = http.client.HTTPSConnection(netloc, timeout=self.timeout, context=context,
                                                   blocksize=BLOCK)
            else:
                conn = http.client.HTTPConnection(netloc, timeout=self.timeout, blocksize=BLOCK)
            self._connections[key] = conn
        return conn

    def request(self, method: str, url: str, headers: dict | None = None, body=None, *,
                verify: bool = True, follow: bool = True) -> Response:
        """Send one request; follows redirects (dropping Authorization on a host change)."""
        headers = dict(headers or {})
        for _ in range(MAX_REDIRECTS + 1):
            response = self._send(method, url, headers, body, verify)
            if not follow or response.status not in (301, 302, 303, 307, 308):
                return response
            response.close()
            target = urljoin(url, response.header("Location", ""))
            if urlsplit(target).netloc != urlsplit(url).netloc:
                headers.pop("Authorization", None)
            if response.status == 303:
                method, body = "GET", None
            url = target
        raise RegistryError(f"too many redirects from {url}")

    def _send(self, method, url, headers, body, verify) -> Response:
        parts = urlsplit(url)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        # A kept-alive connection the server closed fails on first use: retry once, fresh.
        for attempt in (1, 2):
            conn = self._connection(parts.scheme, parts.netloc, verify)
            try:
                if hasattr(body, "seek") and attempt == 2:
                    body.seek(0)
                conn.request(method, path, body=body, headers=headers)
                raw = conn.getresponse()
                return Response(raw.status, raw.headers, url, raw)
            except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected,
                    http.client.CannotSendRequest, http.client.ResponseNotReady) as exc:
                conn.close()
                if attempt == 2 or (body is not None and not hasattr(body, "seek")):
                    raise RegistryError(f"{method} {url}: connection lost: {exc}") from exc
            except ssl.SSLError as exc:
                conn.close()
                raise RegistryError(f"{parts.netloc}: TLS failed: {exc.reason or exc}") from exc
            except (OSError, socket.timeout) as exc:
                conn.close()
                reason = exc.strerror or str(exc) or type(exc).__name__
                raise RegistryError(f"{method} {url}: {reason}") from exc
        raise AssertionError("unreachable")

    def close(self) -> None:
        for conn in self._connections.values():
            conn.close()
        self._connections.clear()
