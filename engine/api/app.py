"""The Engine API application: the route tables of engine/api's modules, the /vX.Y prefix, and
the error table; a request in, a reply (or a stream the route wrote itself) out.

    api = Api(Engine(root))
    Connection(sock, api, api.common_headers).serve()     # see http.py and server.py

A module's ROUTES table names its handlers; a handler is `handler(api, request)`. `{name}` in
a pattern matches one path segment, `{name*}` the rest of the path (image names have
slashes: `localhost:5000/app/web`).
"""
import re
import sys
import traceback
import threading
from collections import Counter
from contextlib import contextmanager
from functools import cached_property

from ..errors import DockyardError
from .http import ClientGone, error_reply
from .status import status_of

API_VERSION = "1.47"
MIN_API_VERSION = "1.24"
_VERSIONED = re.compile(r"^/v(\d+)\.(\d+)(/.*)$")


def _version_tuple(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


def _compile(pattern: str) -> re.Pattern:
    def group(m):
        name = m.group(1)
        return f"(?P<{name[:-1]}>.+)" if name.endswith("*") else f"(?P<{name}>[^/]+)"
    return re.compile("^" + re.sub(r"\{([a-z_]+\*?)\}", group, pattern) + "$")


def route_table() -> list[tuple[str, re.Pattern, object]]:
    """(method, compiled pattern, handler) of every module, in their tables' order."""
    from . import (build, containers, exec as exec_routes, images, networks, streams, system,
                   transfer, volumes)
    table = []
    for module in (system, containers, streams, exec_routes, transfer, images, build,
                   networks, volumes):
        table += [(method, _compile(pattern), getattr(module, handler))
                  for method, pattern, handler in module.ROUTES]
    return table


class Api:
    """What every route reaches: the engine, the event log, exec instances, container life."""

    def __init__(self, engine, *, log=sys.stderr):
        self.engine, self.log = engine, log
        self.routes = route_table()
        self.console_sizes: dict[str, tuple[int, int]] = {}     # TTY size, set before start
        self._attaching = Counter()         # container id -> clients attached to it now
        self._attaching_lock = threading.Lock()

    @cached_property
    def execs(self):
        from .exec import ExecTable
        return ExecTable()

    @cached_property
    def lifecycle(self):
        from .lifecycle import Lifecycle
        return Lifecycle(self.engine)

    @contextmanager
    def attached(self, container_id: str):
        """Count a client attached to the container while the block runs (start needs to
        know: with the `none` log driver only attached clients get the output)."""
        with self._attaching_lock:
            self._attaching[container_id] += 1
        try:
            yield
        finally:
            with self._attaching_lock:
                self._attaching[container_id] -= 1
                if not self._attaching[container_id]:
                    del self._attaching[container_id]

    def is_attached(self, container_id: str) -> bool:
        with self._attaching_lock:
            return self._attaching[container_id] > 0

    def common_headers(self) -> dict:
        """Headers dockerd puts on every answer."""
        from .system import server_header
        return {"Api-Version": API_VERSION, "Docker-Experimental": "false", "Ostype": "linux",
                "Server": server_header()}

    def __call__(self, request):
        try:
            handler = self._route(request)
            return handler(self, request)
        except ClientGone:
            raise
        except Exception as exc:    # noqa: BLE001 - the one place errors become statuses
            status = status_of(exc)
            if not isinstance(exc, DockyardError):
                print(f"dockyard daemon: {request.method} {request.raw_path}: unexpected error",
                      file=self.log)
                traceback.print_exc(file=self.log)
            if request.responded:       # the status line went out already: end the stream
                raise ClientGone() from exc
            return error_reply(status, str(exc) or type(exc).__name__)

    def _route(self, request):
        from ..errors import InvalidArgument, NotFound
        m = _VERSIONED.match(request.raw_path)
        if m:
            version = (int(m.group(1)), int(m.group(2)))
            if version < _version_tuple(MIN_API_VERSION):
                raise InvalidArgument(
                    f"client version {m.group(1)}.{m.group(2)} is too old. Minimum supported API "
                    f"version is {MIN_API_VERSION}, please upgrade your client to a newer version")
            if version > _version_tuple(API_VERSION):
                raise InvalidArgument(
                    f"client version {m.group(1)}.{m.group(2)} is too new. Maximum supported API "
                    f"version is {API_VERSION}")
            request.version, request.path = f"{version[0]}.{version[1]}", m.group(3)
        else:
            request.version = API_VERSION
        for method, pattern, handler in self.routes:
            if method == request.method:
                found = pattern.match(request.path)
                if found:
                    request.params = found.groupdict()
                    return handler
        raise NotFound("page not found")
