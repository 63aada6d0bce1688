"""`dockyard daemon`: listen on unix sockets (and TLS-only TCP), a thread per connection.

    serve(Engine(root), ["unix:///run/dockyard.sock"])      # until SIGTERM or SIGINT

Ready once `GET /_ping` answers. SIGTERM closes the listeners and removes the socket files,
gives requests in progress a few seconds, and exits; containers keep running (their monitors
are processes of their own), and long waits (attach, logs -f, wait, events) are cut.
TCP is only served with TLS client certificates, as dockerd insists since 27.0.
"""
import grp
import os
import selectors
import signal
import socket
import ssl
import stat
import sys
import threading
import time
from dataclasses import dataclass

from ..errors import Conflict, HostError, InvalidArgument

DEFAULT_HOST = "unix:///run/dockyard.sock"
SOCKET_GROUP = "docker"
DRAIN_S = 10


@dataclass(frozen=True)
class TLS:
    """--tlsverify with its CA (to check client certificates), certificate and key."""

    cacert: str
    cert: str
    key: str

    def context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            ctx.load_cert_chain(self.cert, self.key)
            ctx.load_verify_locations(self.cacert)
        except (OSError, ssl.SSLError) as exc:
            raise InvalidArgument(f"TLS files: {exc}") from None
        ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx


def listen(host: str, tls: TLS | None = None) -> tuple[socket.socket, str | None]:
    """(listening socket, its unix path or None) for `unix:///path` or `tcp://addr:port`."""
    scheme, sep, rest = host.partition("://")
    if not sep:
        raise InvalidArgument(f"invalid --host {host!r}: use unix:///path or tcp://address:port")
    if scheme == "unix":
        return _listen_unix(rest or DEFAULT_HOST[len("unix://"):]), rest
    if scheme == "tcp":
        if tls is None:
            raise InvalidArgument(f"--host {host}: TCP needs TLS client certificates "
                                  "(--tlsverify --tlscacert --tlscert --tlskey)")
        address, _, port = rest.rpartition(":")
        if not port.isdigit():
            raise InvalidArgument(f"invalid --host {host!r}: the port is missing")
        address = address.strip("[]") or "0.0.0.0"
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, int(port)))
        except OSError as exc:
            sock.close()
            raise HostError(f"listen on {host}: {exc.strerror}") from exc
        sock.listen(128)
        return sock, None
    raise InvalidArgument(f"invalid --host {host!r}: only unix:// and tcp:// are supported")


def _listen_unix(path: str) -> socket.socket:
    if os.path.exists(path):
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            raise Conflict(f"{path} exists and is not a socket")
        probe = socket.socket(socket.AF_UNIX)
        try:
            probe.connect(path)
            raise Conflict(f"{path} is in use by another daemon")
        except (ConnectionRefusedError, FileNotFoundError):
            os.unlink(path)               # a socket left by a daemon that died
        finally:
            probe.close()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # Made with the final mode: no moment in which anyone may connect.
    old = os.umask(0o117)
    try:
        sock.bind(path)
    except OSError as exc:
        sock.close()
        raise HostError(f"listen on {path}: {exc.strerror}") from exc
    finally:
        os.umask(old)
    try:
        os.chown(path, -1, grp.getgrnam(SOCKET_GROUP).gr_gid)
    except (KeyError, PermissionError):
        pass                              # no docker group here: root only
    sock.listen(128)
    return sock


class Server:
    """The listeners and the connection threads of one daemon."""

    def __init__(self, api, hosts: list[str], tls: TLS | None = None, log=sys.stderr):
        self.api, self.log = api, log
        self.context = tls.context() if tls else None
        self.listeners: list[tuple[socket.socket, str | None]] = []
        try:
            for host in hosts:
                self.listeners.append(listen(host, tls))
        except BaseException:
            self.close()
            raise
        self.selector = selectors.DefaultSelector()
        self.wake_r, self.wake_w = os.pipe()
        self.busy = 0
        self.busy_lock = threading.Lock()

    def close(self) -> None:
        for sock, path in self.listeners:
            sock.close()
            if path:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
        self.listeners = []

    def stop(self, *_) -> None:
        """From a signal handler or another thread: end serve_forever()."""
        os.write(self.wake_w, b"x")

    def serve_forever(self) -> None:
        for sock, _ in self.listeners:
            sock.setblocking(False)
            self.selector.register(sock, selectors.EVENT_READ)
        self.selector.register(self.wake_r, selectors.EVENT_READ)
        try:
            while True:
                for key, _ in self.selector.select():
                    if key.fileobj == self.wake_r:
                        return
                    self._accept(key.fileobj)
        finally:
            self.selector.close()
            self.close()
            self._drain()
            os.close(self.wake_r)
            os.close(self.wake_w)

    def _accept(self, listener: socket.socket) -> None:
        try:
            sock, _ = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:          # EMFILE and friends: say so, keep serving
            print(f"dockyard daemon: accept: {exc}", file=self.log)
            time.sleep(0.05)
            return
        sock.setblocking(True)
        threading.Thread(target=self._serve, args=(sock,), daemon=True,
                         name="dockyard-api-conn").start()

    def _serve(self, sock: socket.socket) -> None:
        from .http import Connection
        if self.context is not None:
            try:
                sock.settimeout(10)
                sock = self.context.wrap_socket(sock, server_side=True)
                sock.settimeout(None)
            except (OSError, ssl.SSLError) as exc:
                print(f"dockyard daemon: TLS handshake: {exc}", file=self.log)
                sock.close()
                return
        Connection(sock, self._handle, self.api.common_headers).serve()

    def _handle(self, request):
        path = request.raw_path
        long_wait = path.endswith(("/wait", "/attach", "/events", "/logs", "/stats")) or (
            "/exec/" in path and path.endswith("/start"))
        if long_wait:
            return self.api(request)
        with self.busy_lock:
            self.busy += 1
        try:
            return self.api(request)
        finally:
            with self.busy_lock:
                self.busy -= 1

    def _drain(self) -> None:
        """Give requests in progress (not long waits) up to DRAIN_S to finish."""
        deadline = time.monotonic() + DRAIN_S
        while self.busy and time.monotonic() < deadline:
            time.sleep(0.05)


def serve(engine, hosts: list[str], *, tls: TLS | None = None, log=sys.stderr) -> None:
    """Run the Engine API on `hosts` until SIGTERM or SIGINT."""
    from .app import Api
    api = Api(engine, log=log)
    server = Server(api, hosts or [DEFAULT_HOST], tls, log=log)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, server.stop)
    api.lifecycle.watch_running()
    print(f"dockyard daemon: API listening on {', '.join(hosts or [DEFAULT_HOST])}", file=log,
          flush=True)
    server.serve_forever()
