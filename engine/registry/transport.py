"""HTTP(S) requests for the registry client over httpx: kept-alive connections, redirects,
retries, streamed bodies.

    transport = Transport()                                   # or Transport(transport=
    response = transport.request("GET", url, headers)         #   httpx.MockTransport(handler))
    while data := response.read(1 << 20): ...

Redirects are followed (at most MAX_REDIRECTS); httpx drops the `Authorization` header when one
leads to another host (Docker Hub sends blobs to a CDN that must not see the registry's token).
A request that fails before a response arrives (refused, reset, timed out) or is answered 502,
503 or 504 is sent again, up to ATTEMPTS times with a growing pause, when that is safe: GET and
HEAD, and requests whose body can be sent again (bytes, or a file that seeks back). Once a
response's body is being read, nothing is retried: the caller verifies digests and fails
cleanly instead.
"""
from __future__ import annotations

import ssl
import threading
import time

import httpx

from ..errors import RegistryError

MAX_REDIRECTS = 5
TIMEOUT_S = 60.0
ATTEMPTS = 3
BACKOFF_S = 0.5                      # pause before the second attempt; doubled after that
RETRY_STATUSES = (502, 503, 504)
BLOCK = 1 << 20                      # bytes per read of a body sent from a file
DRAIN = 64 << 10                     # a body this small is read to its end to keep the connection


class Response:
    """A response whose body is read with read(n) (streaming) or body() (all of it)."""

    def __init__(self, raw: httpx.Response):
        self._raw = raw
        self.status = raw.status_code
        self.headers = raw.headers
        self.url = str(raw.url)
        self._chunks = raw.iter_bytes()
        self._buf, self._pos = b"", 0

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes of the body (all that is left when negative); b"" at its end."""
        if size < 0:
            return self.body()
        while self._pos >= len(self._buf):
            try:
                self._buf, self._pos = next(self._chunks), 0
            except StopIteration:
                self._raw.close()
                return b""
            except httpx.HTTPError as exc:
                raise RegistryError(f"reading {self.url}: {_reason(exc)}") from exc
        if self._pos == 0 and size >= len(self._buf):
            self._pos = len(self._buf)
            return self._buf
        data = self._buf[self._pos:self._pos + size]
        self._pos += len(data)
        return data

    def body(self) -> bytes:
        parts = []
        while data := self.read(BLOCK):
            parts.append(data)
        return b"".join(parts)

    def close(self) -> None:
        """Let the connection go back to the pool: the rest of a small body is read (an error
        message, a HEAD's nothing), a large one's connection is closed."""
        try:
            if self._raw.request.method == "HEAD" or \
                    int(self.header("Content-Length") or DRAIN + 1) <= DRAIN:
                while self.read(DRAIN):
                    pass
        except (ValueError, RegistryError):
            pass
        self._raw.close()


class Transport:
    """Requests through one httpx client per TLS mode; `transport` replaces the network (an
    httpx.MockTransport in tests)."""

    def __init__(self, *, timeout: float = TIMEOUT_S, transport: httpx.BaseTransport | None = None,
                 attempts: int = ATTEMPTS, backoff: float = BACKOFF_S):
        self.timeout, self.attempts, self.backoff = timeout, attempts, backoff
        self._transport = transport
        self._clients: dict[bool, httpx.Client] = {}

    def _client(self, verify: bool) -> httpx.Client:
        client = self._clients.get(verify)
        if client is None:
            mounts = None if self._transport else {
                "http://": httpx.HTTPTransport(verify=False),     # plain: no TLS set-up
                "https://": _OnFirstUse(lambda: httpx.HTTPTransport(verify=_tls(verify)))}
            client = self._clients[verify] = httpx.Client(
                transport=self._transport, mounts=mounts,
                timeout=httpx.Timeout(self.timeout), follow_redirects=True,
                max_redirects=MAX_REDIRECTS,
                # Digests are over the bytes as stored: no transfer compression.
                headers={"Accept-Encoding": "identity", "User-Agent": "dockyard"})
        return client

    def request(self, method: str, url: str, headers: dict | None = None, body=None, *,
                verify: bool = True, attempts: int | None = None) -> Response:
        """Send one request (retried when safe, see the module doc); the Response, any status."""
        attempts = attempts or self.attempts
        start = body.tell() if hasattr(body, "seek") else None
        replayable = body is None or isinstance(body, (bytes, bytearray)) or start is not None
        idempotent = method in ("GET", "HEAD") or replayable
        for attempt in range(1, attempts + 1):
            last = attempt == attempts or not idempotent
            if start is not None:
                body.seek(start)
            try:
                raw = self._send(method, url, headers, body, verify)
            except httpx.TooManyRedirects as exc:
                raise RegistryError(f"{method} {url}: more than {MAX_REDIRECTS} redirects") \
                    from exc
            except httpx.TransportError as exc:
                if last or not _transient(exc):
                    raise RegistryError(f"{method} {url}: {_reason(exc)}") from exc
            else:
                if raw.status_code not in RETRY_STATUSES or last:
                    return Response(raw)
                raw.close()
            time.sleep(self.backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    def _send(self, method, url, headers, body, verify) -> httpx.Response:
        client = self._client(verify)
        content = _chunks(body) if hasattr(body, "read") else body
        request = client.build_request(method, url, headers=headers, content=content)
        return client.send(request, stream=True)

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()


class _OnFirstUse(httpx.BaseTransport):
    """A transport made when the first request needs it: loading the system's CA certificates
    costs ~30 ms, which a pull from a plain-HTTP registry never needs."""

    def __init__(self, make):
        self._make, self._made, self._lock = make, None, threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            if self._made is None:
                self._made = self._make()
        return self._made.handle_request(request)

    def close(self) -> None:
        if self._made is not None:
            self._made.close()


def _tls(verify: bool) -> ssl.SSLContext:
    """The system's trust store (as Docker on Linux, and $SSL_CERT_FILE), or no checks."""
    if verify:
        return ssl.create_default_context()
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _chunks(fileobj):
    """A file's bytes in blocks of BLOCK (httpx itself would send it 64 KiB at a time)."""
    while data := fileobj.read(BLOCK):
        yield data


def _transient(exc: httpx.TransportError) -> bool:
    """Whether sending again may help: not for TLS failures or bad URLs."""
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.ProxyError)):
        return False
    return "CERTIFICATE" not in str(exc).upper() and "SSL" not in str(exc).upper()


def _reason(exc: httpx.HTTPError) -> str:
    text = str(exc) or type(exc).__name__
    if "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text.upper():
        return f"TLS failed: {text}"
    return text
