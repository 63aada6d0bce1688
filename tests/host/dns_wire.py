"""DNS on the wire for the embedded DNS tests: raw queries from inside a container's network
namespace, and a fake upstream server (UDP and TCP) on an address the test owns."""
import ctypes
import os
import socket
import struct
import threading
from contextlib import contextmanager

CLONE_NEWNET = 0x40000000
A, PTR, AAAA = 1, 12, 28
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def query(name: str, qtype: int = A, qid: int = 0x1234) -> bytes:
    """A standard query with RD set."""
    labels = b"".join(bytes([len(part)]) + part.encode() for part in name.split(".") if part)
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + labels + b"\0" + struct.pack("!HH", qtype, 1)


def _name(msg: bytes, at: int) -> tuple[str, int]:
    parts, end = [], None
    while msg[at]:
        if msg[at] & 0xC0 == 0xC0:
            end = end or at + 2
            at = struct.unpack("!H", msg[at:at + 2])[0] & 0x3FFF
            continue
        parts.append(msg[at + 1:at + 1 + msg[at]].decode())
        at += 1 + msg[at]
    return ".".join(parts), end or at + 1


def parse(msg: bytes) -> dict:
    """{"id", "rcode", "flags", "answers": [(type, value)]} of a response."""
    qid, flags, qd, an = struct.unpack("!HHHH", msg[:8])
    at = 12
    for _ in range(qd):
        at = _name(msg, at)[1] + 4
    answers = []
    for _ in range(an):
        at = _name(msg, at)[1]
        rtype, _, _, rdlen = struct.unpack("!HHIH", msg[at:at + 10])
        rdata = msg[at + 10:at + 10 + rdlen]
        value = (socket.inet_ntoa(rdata) if rtype == A else _name(msg, at + 10)[0]
                 if rtype == PTR else rdata)
        answers.append((rtype, value))
        at += 10 + rdlen
    return {"id": qid, "flags": flags, "rcode": RCODES.get(flags & 0xF, flags & 0xF),
            "answers": answers}


@contextmanager
def in_netns(path: str):
    """Sockets made in the block live in the network namespace held by `path` (a thread of
    its own enters it, so the test's thread never changes namespace)."""
    made = []

    def make(family, kind):
        box = {}

        def body():
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    box["error"] = OSError(ctypes.get_errno(), f"setns {path}")
                    return
            finally:
                os.close(fd)
            box["sock"] = socket.socket(family, kind)
        thread = threading.Thread(target=body)
        thread.start()
        thread.join()
        if "error" in box:
            raise box["error"]
        made.append(box["sock"])
        return box["sock"]
    try:
        yield make
    finally:
        for sock in made:
            sock.close()


def ask(netns: str, name: str, qtype: int = A, server=("127.0.0.11", 53), tcp=False,
        timeout=8.0) -> dict:
    """One query from inside `netns`, over UDP (or TCP), parsed."""
    with in_netns(netns) as sock:
        if tcp:
            s = sock(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(timeout)
            s.connect(server)
            msg = query(name, qtype)
            s.sendall(struct.pack("!H", len(msg)) + msg)
            length = struct.unpack("!H", _recv_exactly(s, 2))[0]
            return parse(_recv_exactly(s, length))
        s = sock(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(timeout)
        s.sendto(query(name, qtype, qid=0x4242), server)
        reply = parse(s.recv(4096))
        assert reply["id"] == 0x4242
        return reply


def _recv_exactly(s, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed early")
        data += chunk
    return data


class FakeUpstream:
    """A DNS server on (address, 53), UDP and TCP: A records from `names`, NXDOMAIN for the
    rest; it records the names it was asked."""

    def __init__(self, address: str, names: dict[str, str]):
        self.names, self.asked = {k.lower(): v for k, v in names.items()}, []
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.udp.bind((address, 53))
        self.tcp.bind((address, 53))
        self.tcp.listen()
        self.threads = [threading.Thread(target=target, daemon=True)
                        for target in (self._serve_udp, self._serve_tcp)]
        for thread in self.threads:
            thread.start()

    def answer(self, msg: bytes) -> bytes:
        name, end = _name(msg, 12)
        self.asked.append(name.lower())
        address = self.names.get(name.lower())
        qtype = struct.unpack("!H", msg[end:end + 2])[0]
        flags = 0x8180 if address else 0x8183
        count = 1 if address and qtype == A else 0
        head = msg[:2] + struct.pack("!HHHHH", flags, 1, count, 0, 0)
        answer = (b"\xc0\x0c" + struct.pack("!HHIH", A, 1, 60, 4) + socket.inet_aton(address)
                  if count else b"")
        return head + msg[12:end + 4] + answer

    def _serve_udp(self):
        while True:
            try:
                msg, peer = self.udp.recvfrom(4096)
            except OSError:
                return
            if not msg:             # shut down
                return
            self.udp.sendto(self.answer(msg), peer)

    def _serve_tcp(self):
        while True:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            with conn:
                length = struct.unpack("!H", _recv_exactly(conn, 2))[0]
                reply = self.answer(_recv_exactly(conn, length))
                conn.sendall(struct.pack("!H", len(reply)) + reply)

    def close(self):
        """Stop serving: once this returns, nothing listens on the address (a thread still
        inside recvfrom would keep the socket bound, and queries would wait, not fail)."""
        for s in (self.udp, self.tcp):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in self.threads:
            thread.join(10)
        for s in (self.udp, self.tcp):
            s.close()
