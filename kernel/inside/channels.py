"""A client of the kernel inside a container: its ZMQ sockets, and a thread relaying IOPub.

    client = InnerClient(kernel.connection, on_iopub)     # on_iopub(msg) runs in the relay thread
    reply = client.request("kernel_info_request", {})
    client.close()

Shell, stdin and control sockets belong to the thread that calls request()/send() (the kernel's
main thread); the IOPub socket belongs to the relay thread. Messages are jupyter_client Session
dicts (header, parent_header, content, metadata, buffers).
"""
import threading
import time

import zmq
from jupyter_client.session import Session
from zmq.utils.monitor import recv_monitor_message

from dockyard.engine.errors import KernelDied

READY_TIMEOUT_S = 30.0


class InnerClient:
    """Sockets to one inner kernel; `on_iopub` gets every IOPub message from the relay thread."""

    def __init__(self, connection: dict, on_iopub, lifeline=None):
        self.session = Session(key=connection["key"].encode(),
                               signature_scheme=connection["signature_scheme"])
        self.context = zmq.Context.instance()
        self.lifeline = lifeline
        url = f"{connection['transport']}://{connection['ip']}-"
        self.shell = self._socket(zmq.DEALER, url + str(connection["shell_port"]))
        # The kernel sends an input request to the identity its stdin socket knows then, and
        # drops it (input() waits for ever) if ours has not finished connecting: watched, so
        # wait_ready() returns only once it has.
        self._stdin_events = None
        self.stdin = self._socket(zmq.DEALER, url + str(connection["stdin_port"]), watched=True)
        self.control = self._socket(zmq.DEALER, url + str(connection["control_port"]))
        self._iopub_url = url + str(connection["iopub_port"])
        self._on_iopub = on_iopub
        self._stopping = threading.Event()
        self._subscribed = threading.Event()
        self._thread = threading.Thread(target=self._relay, name="dockyard-iopub", daemon=True)
        self._thread.start()
        self._subscribed.wait()

    def _socket(self, kind: int, url: str, *, watched: bool = False):
        sock = self.context.socket(kind)
        sock.linger = 0
        if kind == zmq.DEALER:
            # The kernel answers stdin requests to the shell socket's identity.
            sock.identity = self.session.bsession
        if watched:
            self._stdin_events = sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
        sock.connect(url)
        return sock

    def _relay(self) -> None:
        iopub = self.context.socket(zmq.SUB)
        iopub.linger = 0
        iopub.setsockopt(zmq.SUBSCRIBE, b"")
        iopub.connect(self._iopub_url)
        self._subscribed.set()
        poller = zmq.Poller()
        poller.register(iopub, zmq.POLLIN)
        try:
            while not self._stopping.is_set():
                if not poller.poll(200):
                    continue
                while True:
                    try:
                        parts = iopub.recv_multipart(zmq.NOBLOCK, copy=False)
                    except zmq.Again:
                        break
                    _, msg = self.session.feed_identities(parts, copy=False)
                    self._on_iopub(self.session.deserialize(msg, content=True, copy=False))
        finally:
            iopub.close()

    def send(self, msg_type: str, content: dict, *, channel: str = "shell", buffers=None,
             metadata=None) -> str:
        """Send a request; its msg_id."""
        sock = getattr(self, channel)
        return self.session.send(sock, msg_type, content, buffers=buffers,
                                 metadata=metadata)["header"]["msg_id"]

    def receive(self, sock):
        """One message from `sock` (which is readable)."""
        _, msg = self.session.recv(sock, mode=0, content=True, copy=False)
        return msg

    def wait_reply(self, msg_id: str, *, channel: str = "shell", timeout: float = 10.0) -> dict:
        """The reply to `msg_id` (others are dropped); KernelDied if the container ends first."""
        sock = getattr(self, channel)
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        if self.lifeline is not None:
            poller.register(self.lifeline, zmq.POLLIN)
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            events = dict(poller.poll(left * 1000))
            if self.lifeline is not None and self.lifeline.fileno() in events:
                raise KernelDied("the kernel container ended")
            if sock in events:
                msg = self.receive(sock)
                if msg["parent_header"].get("msg_id") == msg_id:
                    return msg
        raise TimeoutError(f"no reply from the kernel inside within {timeout:.0f} s")

    def request(self, msg_type: str, content: dict, *, channel: str = "shell",
                timeout: float = 10.0) -> dict:
        return self.wait_reply(self.send(msg_type, content, channel=channel), channel=channel,
                               timeout=timeout)

    def wait_ready(self, iopub_seen: threading.Event, timeout: float = READY_TIMEOUT_S) -> dict:
        """kernel_info until both the reply and IOPub traffic arrive (no lost first output)."""
        deadline = time.monotonic() + timeout
        while True:
            reply = self.request("kernel_info_request", {},
                                 timeout=max(0.1, deadline - time.monotonic()))
            if iopub_seen.wait(0.2):
                self._stdin_connected(deadline)
                return reply["content"]
            if time.monotonic() > deadline:
                raise TimeoutError("the kernel inside sends no IOPub messages")

    def _stdin_connected(self, deadline: float) -> None:
        """Wait for the stdin socket's handshake with the kernel (see __init__)."""
        events = self._stdin_events
        if events is None:
            return
        try:
            while (left := deadline - time.monotonic()) > 0:
                if events.poll(left * 1000) and \
                        recv_monitor_message(events)["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                    return
            raise TimeoutError("the kernel inside never accepted the stdin connection")
        finally:
            self.stdin.disable_monitor()
            events.close()
            self._stdin_events = None

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(2)
        if self._stdin_events is not None:
            self._stdin_events.close()
        for sock in (self.shell, self.stdin, self.control):
            sock.close()
