"""HTTP/1.1 on one connected socket, with h11: requests in, replies out, keep-alive, streams,
and the hijack that turns the connection into a raw byte stream (attach, exec start).

Engine calls block (files, pidfds, subprocesses), so every connection is served by a thread of
its own and a handler is plain blocking code that returns what to send:

    def handler(daemon, request):
        return {"Id": ...}                        # 200, JSON
        return Reply(204)                         # any status, bytes, content type
        out = request.stream("application/json")  # chunked: out.write(b"..."), sent at once
        raw = request.hijack("application/vnd.docker.raw-stream")   # 101, then raw bytes

h11 does the HTTP framing (chunked request bodies from `docker build`, keep-alive, HEAD); the
socket stays ours, so a hijacked connection is just the socket plus the bytes h11 had buffered.
"""
import http
import json
import select
import socket
from urllib.parse import parse_qs, unquote, urlsplit

import h11

from ..errors import InvalidArgument

MAX_HEADER_BYTES = 1 << 20     # X-Registry-Auth / X-Registry-Config can be long
IDLE_TIMEOUT_S = 300           # a keep-alive connection with no next request is closed
JSON = "application/json"      # exactly this: with "; charset=..." the Go client prints raw JSON


class Reply:
    """A complete answer: status, body bytes, content type, extra headers."""

    def __init__(self, status: int = 200, body: bytes = b"", content_type: str | None = None,
                 headers: dict | None = None):
        self.status, self.body, self.content_type = status, body, content_type
        self.headers = headers or {}


def json_reply(data, status: int = 200) -> Reply:
    return Reply(status, json.dumps(data).encode(), JSON)


def error_reply(status: int, message: str) -> Reply:
    return json_reply({"message": message}, status)


def json_line(data) -> bytes:
    """One message of a JSON progress stream (pull, push, build, load, events)."""
    return json.dumps(data).encode() + b"\r\n"


class ClientGone(Exception):
    """The client closed the connection while we were answering."""


class Stream:
    """A chunked answer whose body is written piece by piece; each write goes out at once."""

    def __init__(self, connection: "Connection"):
        self.connection = connection

    def write(self, data: bytes) -> None:
        if data:
            self.connection.send(h11.Data(data=data))

    def close(self) -> None:
        self.connection.finish()


class Hijacked:
    """The raw connection after a 101 (or dockerd's 200 without Upgrade): bytes both ways.

    The client half-closes (shutdown SHUT_WR) when its stdin ends: read() then gives b"", and
    writing goes on. close() is the end of output for the client.
    """

    def __init__(self, sock: socket.socket, pending: bytes, eof: bool):
        self.sock, self.pending, self.eof = sock, pending, eof

    def read(self, size: int = 65536) -> bytes:
        if self.pending:
            data, self.pending = self.pending[:size], self.pending[size:]
            return data
        if self.eof:
            return b""
        try:
            data = self.sock.recv(size)
        except OSError:
            data = b""
        self.eof = not data
        return data

    def write(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise ClientGone() from exc

    def gone(self) -> bool:
        return peer_hung_up(self.sock)

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_WR)  # FIN first: output queued before is not reset
        except OSError:
            pass


def peer_hung_up(sock: socket.socket) -> bool:
    """True once the client closed the connection completely (a half-close is not enough)."""
    p = select.poll()
    p.register(sock, select.POLLHUP | select.POLLERR)
    return bool(p.poll(0))


class Request:
    """One request: method, path (without the /vX.Y prefix), query, headers, body on demand."""

    def __init__(self, connection: "Connection", event: h11.Request):
        self.connection = connection
        self.method = event.method.decode()
        target = urlsplit(event.target.decode("latin-1"))
        self.raw_path = unquote(target.path)
        self.path, self.version = self.raw_path, None
        self.query = parse_qs(target.query, keep_blank_values=True)
        self.headers = {k.decode().lower(): v.decode("latin-1") for k, v in event.headers}
        self.params: dict[str, str] = {}
        self.responded = False
        self.hijacked = False
        self._body_done = False

    def __repr__(self):
        return f"<Request {self.method} {self.raw_path}>"

    # -- the body ------------------------------------------------------------------------------
    def chunks(self):
        """The body as it arrives, piece by piece."""
        while not self._body_done:
            event = self.connection.next_event()
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            else:                       # EndOfMessage, or the client went away
                self._body_done = True
                if not isinstance(event, h11.EndOfMessage):
                    raise ClientGone()

    def read(self) -> bytes:
        return b"".join(self.chunks())

    def json(self, default=None):
        body = self.read()
        if not body.strip():
            return {} if default is None else default
        try:
            return json.loads(body)
        except ValueError as exc:
            raise InvalidArgument(f"invalid JSON in the request body: {exc}") from None

    def file(self):
        """The body as a read-only binary file object (for streaming readers such as tarfile)."""
        return _BodyFile(self.chunks())

    # -- the query -----------------------------------------------------------------------------
    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def args(self, name: str) -> list[str]:
        return list(self.query.get(name, []))

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean parameter: the CLI sends 1/0, docker-py True/False."""
        value = self.arg(name)
        if value is None or value == "":
            return default
        return value.lower() not in ("0", "false", "no")

    def number(self, name: str, default=None):
        value = self.arg(name)
        if value is None or value == "":
            return default
        try:
            return float(value) if "." in value else int(value)
        except ValueError:
            raise InvalidArgument(f"invalid value for {name}: {value!r}") from None

    def json_arg(self, name: str, default=None):
        value = self.arg(name)
        if not value:
            return default
        try:
            return json.loads(value)
        except ValueError:
            raise InvalidArgument(f"invalid JSON in parameter {name}: {value!r}") from None

    # -- answering -----------------------------------------------------------------------------
    def stream(self, content_type: str, status: int = 200, headers: dict | None = None) -> Stream:
        """Send the status and headers now; the body follows through the Stream's writes."""
        self.responded = True
        self.connection.send_head(status, {"Content-Type": content_type, **(headers or {})})
        return Stream(self.connection)

    def hijack(self, content_type: str) -> Hijacked:
        """Answer 101 UPGRADED (200 when the client asked for no upgrade, as dockerd does) and
        hand over the socket; the request body must have been read."""
        for _ in self.chunks():
            pass
        self.responded = self.hijacked = True
        upgrade = "upgrade" in self.headers.get("connection", "").lower()
        status = "101 UPGRADED" if upgrade else "200 OK"
        headers = {**self.connection.common_headers(), "Content-Type": content_type}
        if upgrade:
            headers.update({"Connection": "Upgrade", "Upgrade": "tcp"})
        head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        sock = self.connection.sock
        try:
            sock.sendall((head + "\r\n").encode("latin-1"))
        except OSError as exc:
            raise ClientGone() from exc
        pending, eof = self.connection.h11.trailing_data
        return Hijacked(sock, bytes(pending), eof)

    def gone(self) -> bool:
        """Whether the client has closed the connection (for answers that wait long)."""
        return peer_hung_up(self.connection.sock)


class _BodyFile:
    """A file-like reader over the body's chunks."""

    def __init__(self, chunks):
        self.chunks, self.buffer = chunks, b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self.buffer) < size:
            chunk = next(self.chunks, None)
            if chunk is None:
                break
            self.buffer += chunk
        if size < 0:
            data, self.buffer = self.buffer, b""
        else:
            data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def readable(self) -> bool:
        return True


class Connection:
    """Serves the requests of one client connection, one after another (HTTP keep-alive)."""

    def __init__(self, sock: socket.socket, handle, common_headers):
        self.sock, self.handle, self.common_headers = sock, handle, common_headers
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADER_BYTES)

    def serve(self) -> None:
        try:
            while self._serve_one():
                pass
        except (ClientGone, OSError, h11.ProtocolError):
            pass
        finally:
            try:
                self.sock.close()
            except OSError:
                pass

    def _serve_one(self) -> bool:
        self.sock.settimeout(IDLE_TIMEOUT_S)
        try:
            event = self.next_event()
        except socket.timeout:
            return False
        self.sock.settimeout(None)
        if not isinstance(event, h11.Request):
            return False
        request = Request(self, event)
        result = self.handle(request)
        if request.hijacked:
            return False
        if not request.responded:
            reply = result if isinstance(result, Reply) else \
                Reply(204) if result is None else json_reply(result)
            self.send_reply(reply, head_only=request.method == "HEAD")
        elif self.h11.our_state is h11.SEND_BODY:
            self.finish()
        for _ in request.chunks():      # a body nobody read must go before the next request
            pass
        if self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE:
            self.h11.start_next_cycle()
            return True
        return False

    def next_event(self):
        while True:
            event = self.h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            data = self.sock.recv(65536)
            self.h11.receive_data(data)

    def send(self, event) -> None:
        data = self.h11.send(event)
        try:
            if data:
                self.sock.sendall(data)
        except OSError as exc:
            raise ClientGone() from exc

    def send_head(self, status: int, headers: dict) -> None:
        merged = {**self.common_headers(), **headers}
        self.send(h11.Response(status_code=status, reason=_reason(status),
                               headers=[(k, str(v)) for k, v in merged.items()]))

    def finish(self) -> None:
        if self.h11.our_state is h11.SEND_BODY:
            self.send(h11.EndOfMessage())

    def send_reply(self, reply: Reply, head_only: bool = False) -> None:
        headers = dict(reply.headers)
        if reply.content_type:
            headers["Content-Type"] = reply.content_type
        if reply.status not in (204, 304):
            headers["Content-Length"] = str(len(reply.body))
        self.send_head(reply.status, headers)
        if reply.body and reply.status not in (204, 304) and not head_only:
            self.send(h11.Data(data=reply.body))
        self.finish()


def _reason(status: int) -> bytes:
    try:
        return http.HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""

