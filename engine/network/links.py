"""The one door to netlink: bridges, veth pairs, addresses, routes and netns files.

This is the only module that imports pyroute2, and it does so lazily (150-250 ms, 33 MB):
importing it costs nothing, and a `Links` opens one netlink socket on first use and keeps it.
Errors come out as OSError(errno, what) so callers need no pyroute2 types.

Namespaces are made without a process. pyroute2's `netns.create` and `IPRoute(netns=...)` fork
the caller, which the engine must never do (it has threads), so instead a short-lived thread
unshare(2)s or setns(2)s itself (a network namespace is per thread), bind-mounts
/proc/thread-self/ns/net onto the netns file and opens a netlink socket there; the socket keeps
that namespace after the thread ends. That takes about 1 ms, against ~20 ms for `unshare(1)`.
ctypes is used here (not runtime/linux.py) only for unshare, setns, mount and umount2 on netns
files, so that networking does not depend on the runtime's module.
"""
import errno
import os
import socket
import threading
from ipaddress import IPv4Network

CLONE_NEWNET = 0x40000000
MS_BIND = 4096
MNT_DETACH = 2
NETLINK_ROUTE = 0
MAIN_TABLE = 254
RECYCLE_AFTER = 100                     # requests on one IPRoute before a fresh one

_libc = None


def _syscalls():
    """libc through ctypes, loaded on first use."""
    global _libc
    if _libc is None:
        import ctypes
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _check(result: int, what: str) -> None:
    if result != 0:
        import ctypes
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _netlink_error(exc: Exception, what: str) -> OSError:
    code = getattr(exc, "code", None) or errno.EIO
    return OSError(code, f"{what}: {os.strerror(code)}")


def _run_in_thread(target) -> object:
    """Run `target()` in a fresh thread (which may change its own netns) and return its result."""
    box: dict = {}

    def body():
        try:
            box["result"] = target()
        except BaseException as exc:       # handed to the caller below
            box["error"] = exc
    thread = threading.Thread(target=body, name="dockyard-netns")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


def _off_loop(target) -> object:
    """Run `target()` here, or in a fresh thread when this thread runs an asyncio loop.

    pyroute2's synchronous API drives its own event loop with run_until_complete, which fails in
    a thread whose loop is already running: a Jupyter kernel runs cells in such a thread.
    """
    import asyncio
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return target()
    return _run_in_thread(target)


def _route_socket() -> socket.socket:
    return socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_ROUTE)


class Links:
    """Netlink operations on the host's namespace and on containers' netns files."""

    def __init__(self):
        self._ipr = None
        self._requests = 0                   # on the current socket
        self._lock = threading.RLock()       # pyroute2's sync IPRoute is not thread-safe

    # -- the one host socket -------------------------------------------------------------------

    def _route(self):
        # An IPRoute grows with every request it makes (pyroute2 0.9: ~2 KB of RSS each,
        # measured over 3,000), so a long-lived engine (a notebook kernel) takes a fresh one
        # now and then: 3,000 requests then cost 0.8 MB instead of 7 MB, for ~2 ms per 100.
        self._requests += 1
        if self._ipr is not None and self._requests > RECYCLE_AFTER:
            self.close()
        if self._ipr is None:
            from pyroute2 import IPRoute
            self._ipr = IPRoute()
            self._requests = 0
        return self._ipr

    def _call(self, what: str, method: str, *args, **kwargs):
        from pyroute2.netlink.exceptions import NetlinkError

        def call():
            try:
                return getattr(self._route(), method)(*args, **kwargs)
            except NetlinkError as exc:
                raise _netlink_error(exc, what) from exc
        with self._lock:
            return _off_loop(call)

    def close(self) -> None:
        """Close the netlink socket (a later call opens a new one)."""
        with self._lock:
            if self._ipr is not None:
                self._ipr.close()
                self._ipr = None

    # -- host links ----------------------------------------------------------------------------

    def index(self, ifname: str) -> int | None:
        """The interface index of `ifname` in the host namespace, or None."""
        found = self._call(f"look up {ifname}", "link_lookup", ifname=ifname)
        return found[0] if found else None

    def mtu(self, ifname: str) -> int | None:
        """The MTU of host link `ifname`, or None if it does not exist."""
        from pyroute2.netlink.exceptions import NetlinkError

        def get():
            try:
                return self._route().link("get", ifname=ifname)[0].get("mtu")
            except NetlinkError as exc:
                if exc.code == errno.ENODEV:
                    return None
                raise _netlink_error(exc, f"get {ifname}") from exc
        with self._lock:
            return _off_loop(get)

    def link_names(self) -> set[str]:
        """Names of all links in the host namespace."""
        return {link.get("ifname") for link in self._call("list links", "get_links")}

    def routed_subnets(self) -> list[IPv4Network]:
        """IPv4 destinations of the host's main routing table, the default route left out."""
        routes = self._call("list routes", "get_routes", family=socket.AF_INET, table=MAIN_TABLE)
        return [IPv4Network(f"{r.get('dst')}/{r['dst_len']}", strict=False)
                for r in routes if r["dst_len"] > 0 and r.get("dst")]

    def ensure_bridge(self, name: str, address: str | None, prefixlen: int,
                      alias: str | None = None) -> int:
        """Make bridge `name` exist, up, with `address`/`prefixlen` on it (and `alias` when it
        is made); return its MTU."""
        index = self.index(name)
        if index is None:
            try:
                self._call(f"add bridge {name}", "link", "add", ifname=name, kind="bridge")
            except OSError as exc:
                if exc.errno != errno.EEXIST:    # another engine process made it meanwhile
                    raise
            index = self.index(name)
            if alias:
                self._call(f"set alias of {name}", "link", "set", index=index, ifalias=alias)
        if address:
            have = {a.get("address") for a in self._call(f"list addresses of {name}", "get_addr",
                                                          index=index, family=socket.AF_INET)}
            if address not in have:
                self._call(f"add {address} to {name}", "addr", "add", index=index,
                           address=address, prefixlen=prefixlen)
        self._call(f"set {name} up", "link", "set", index=index, state="up")
        return self._call(f"get {name}", "link", "get", index=index)[0].get("mtu")

    def bridges_with_alias(self, prefix: str) -> list[tuple[str, str]]:
        """(name, alias) of the host's bridges whose alias starts with `prefix`."""
        found = []
        for link in self._call("list links", "get_links"):
            info = link.get("IFLA_LINKINFO")
            alias = link.get("IFLA_IFALIAS") or ""
            if alias.startswith(prefix) and info and info.get("IFLA_INFO_KIND") == "bridge":
                found.append((link.get("ifname"), alias))
        return found

    def ports_of(self, bridge: str) -> list[str]:
        """Names of the links enslaved to `bridge` (its veths); [] when it doesn't exist."""
        index = self.index(bridge)
        if index is None:
            return []
        return [link.get("ifname") for link in self._call("list links", "get_links")
                if link.get("IFLA_MASTER") == index]

    def delete_link(self, name: str) -> bool:
        """Delete link `name` (a veth takes its peer along); False if it did not exist."""
        index = self.index(name)
        if index is None:
            return False
        try:
            self._call(f"delete {name}", "link", "del", index=index)
        except OSError as exc:
            if exc.errno != errno.ENODEV:
                raise
            return False
        return True

    # -- network namespaces --------------------------------------------------------------------

    def create_netns(self, path: str) -> None:
        """Make a new network namespace, held by a bind mount on the new file `path`, lo up."""
        fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444)
        os.close(fd)

        def body() -> socket.socket:
            libc = _syscalls()
            _check(libc.unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
            _check(libc.mount(b"/proc/thread-self/ns/net", path.encode(), None, MS_BIND, None),
                   f"bind-mount netns on {path}")
            return _route_socket()
        try:
            sock = _run_in_thread(body)
        except BaseException:
            os.unlink(path)
            raise
        self._configure_netns(sock, path, lambda ipr: ipr.link("set", index=1, state="up"))

    def remove_netns(self, path: str) -> bool:
        """Unmount and delete netns file `path`; False if it was not there."""
        if not os.path.lexists(path):
            return False
        # MNT_DETACH: a concurrent opener (a container's setns) may still hold the file open.
        result = _syscalls().umount2(path.encode(), MNT_DETACH)
        if result != 0:
            import ctypes
            err = ctypes.get_errno()
            if err != errno.EINVAL:           # EINVAL: a crash left the file but no mount
                raise OSError(err, f"unmount {path}: {os.strerror(err)}")
        os.unlink(path)
        return True

    def _netns_socket(self, path: str) -> socket.socket:
        """A netlink socket inside the namespace held by `path`."""
        def body() -> socket.socket:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                _check(_syscalls().setns(fd, CLONE_NEWNET), f"setns({path})")
            finally:
                os.close(fd)
            return _route_socket()
        return _run_in_thread(body)

    def _configure_netns(self, sock: socket.socket, what: str, apply) -> None:
        """Run `apply(ipr)` with an IPRoute over `sock` (opened inside some netns), then close it."""
        from pyroute2 import IPRoute
        from pyroute2.netlink.exceptions import NetlinkError

        def configure():
            fd = sock.detach()                # IPRoute.close() closes the descriptor itself
            try:
                ipr = IPRoute(fileno=fd)
            except BaseException:
                os.close(fd)
                raise
            try:
                apply(ipr)
            except NetlinkError as exc:
                raise _netlink_error(exc, f"configure {what}") from exc
            finally:
                ipr.close()
        _off_loop(configure)

    def add_endpoint(self, *, netns: str, host_ifname: str, bridge: str, ifname: str,
                     address: str, prefixlen: int, mac: str, mtu: int,
                     gateway: str | None) -> None:
        """A veth pair: `host_ifname` on `bridge`, `ifname` in `netns` with address and route."""
        bridge_index = self.index(bridge)
        if bridge_index is None:
            raise OSError(errno.ENODEV, f"bridge {bridge} does not exist")
        fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
        try:
            # The peer is born inside the namespace under its final name: no rename, no move.
            self._call(f"add veth {host_ifname}", "link", "add", ifname=host_ifname, kind="veth",
                       master=bridge_index, mtu=mtu, state="up",
                       peer={"ifname": ifname, "net_ns_fd": fd, "address": mac, "mtu": mtu})
        finally:
            os.close(fd)

        def apply(ipr) -> None:
            index = ipr.link_lookup(ifname=ifname)[0]
            ipr.addr("add", index=index, address=address, prefixlen=prefixlen)
            ipr.link("set", index=index, state="up")
            if gateway:
                ipr.route("add", dst="0.0.0.0/0", gateway=gateway)
        self._configure_netns(self._netns_socket(netns), f"{ifname} in {netns}", apply)

    def netns_addresses(self, netns: str) -> dict[str, list[str]]:
        """{ifname: [IPv4 addresses]} inside `netns` (for inspection and tests)."""
        result: dict[str, list[str]] = {}

        def collect(ipr) -> None:
            names = {link["index"]: link.get("ifname") for link in ipr.get_links()}
            for name in names.values():
                result[name] = []
            for addr in ipr.get_addr(family=socket.AF_INET):
                result[names[addr["index"]]].append(addr.get("address"))
        self._configure_netns(self._netns_socket(netns), f"read {netns}", collect)
        return result
