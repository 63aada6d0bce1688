"""Cells forwarded to a kernel inside a container, and everything relayed back (`%dockyard use`).

`Inside` sits between the dockyard kernel (the outer kernel the notebook talks to) and an
InsideKernel: an execute request goes to the inner kernel's shell socket; IOPub messages
(streams, displays, results, errors, comms) come back through the relay thread and are
published on the outer IOPub under the outer request's header; input requests are answered
through the outer kernel's own stdin round trip; completion and inspection are forwarded.

Cells whose first line is a dockyard magic stay on the host (see `runs_on_host`).
"""
import re
import threading
from collections import OrderedDict

import zmq

from dockyard.engine.errors import KernelDied

from .channels import InnerClient

HOST_MAGICS = re.compile(r"^\s*%{1,2}(dockyard|dockerfile|container|image|network|volume)\b")
RELAYED = {"stream", "display_data", "update_display_data", "execute_result", "error",
           "clear_output", "comm_open", "comm_msg", "comm_close"}
KEEP_PARENTS = 2000          # inner msg_id -> outer header, for output that comes late


def runs_on_host(code: str) -> bool:
    """True for a cell whose first non-blank line is a dockyard magic (they use the host)."""
    for line in code.splitlines():
        if line.strip():
            return bool(HOST_MAGICS.match(line))
    return True                  # an empty cell: nothing to forward


class Inside:
    """The forwarding state of one outer kernel while its cells run in `kernel` (a container)."""

    def __init__(self, outer, kernel):
        self.outer, self.kernel = outer, kernel
        self.parents: OrderedDict[str, dict] = OrderedDict()
        self.idle: dict[str, threading.Event] = {}
        self.comms: set[str] = set()
        self.iopub_seen = threading.Event()
        self.client = InnerClient(kernel.connection, self._on_iopub, lifeline=kernel.lifeline)
        self.info = self.client.wait_ready(self.iopub_seen)

    # -- IOPub, in the relay thread --------------------------------------------------------
    def _on_iopub(self, msg: dict) -> None:
        self.iopub_seen.set()
        msg_type = msg["header"]["msg_type"]
        parent_id = msg["parent_header"].get("msg_id")
        if msg_type == "status":
            if msg["content"].get("execution_state") == "idle" and parent_id in self.idle:
                self.idle[parent_id].set()
            return
        if msg_type not in RELAYED:
            return
        content = msg["content"]
        if msg_type == "comm_open":
            self.comms.add(content.get("comm_id"))
        elif msg_type == "comm_close":
            self.comms.discard(content.get("comm_id"))
        elif msg_type == "execute_result":
            content = dict(content, execution_count=self.outer.shell.execution_count)
        parent = self.parents.get(parent_id) or self.outer.get_parent("shell")
        self.outer.session.send(self.outer.iopub_socket, msg_type, content, parent=parent,
                                metadata=msg["metadata"], buffers=_bytes(msg.get("buffers")),
                                ident=b"kernel.dockyard." + msg_type.encode())

    def _remember(self, msg_id: str, outer_parent: dict) -> None:
        self.parents[msg_id] = outer_parent
        while len(self.parents) > KEEP_PARENTS:
            self.parents.popitem(last=False)

    # -- execute, in the outer kernel's main thread ------------------------------------------
    def execute(self, code: str, *, silent: bool, store_history: bool, user_expressions,
                allow_stdin: bool) -> dict:
        """Run `code` inside; the execute_reply content (KernelDied when the container ends)."""
        parent = self.outer.get_parent("shell")
        content = {"code": code, "silent": silent, "store_history": store_history,
                   "user_expressions": user_expressions or {}, "allow_stdin": allow_stdin,
                   "stop_on_error": False}
        request = self.client.session.msg("execute_request", content)
        msg_id = request["header"]["msg_id"]
        self._remember(msg_id, parent)          # before sending: output may come at once
        idle = self.idle[msg_id] = threading.Event()
        try:
            self.client.session.send(self.client.shell, request)
            reply = self._wait(msg_id, allow_stdin)
            # Outputs travel on IOPub; the kernel says idle after the last one of this cell.
            while True:
                try:
                    if idle.wait(0.5) or not self.kernel.alive():
                        break
                except KeyboardInterrupt:        # the cell is over; its output still comes
                    continue
        finally:
            self.idle.pop(msg_id, None)
        return reply

    def _wait(self, msg_id: str, allow_stdin: bool) -> dict:
        client = self.client
        poller = zmq.Poller()
        for sock in (client.shell, client.stdin, self.kernel.lifeline):
            poller.register(sock, zmq.POLLIN)
        while True:
            try:
                events = dict(poller.poll())
            except KeyboardInterrupt:
                self.kernel.interrupt()      # SIGINT inside; the reply tells how the cell ended
                continue
            if self.kernel.lifeline in events or self.kernel.lifeline.fileno() in events:
                raise KernelDied(f"the container {self.kernel.short_id} ({self.kernel.image}) "
                                 "ended during this cell", self.kernel.exit_code())
            if client.stdin in events:
                self._answer_input(client.receive(client.stdin), allow_stdin)
            if client.shell in events:
                msg = client.receive(client.shell)
                if msg["parent_header"].get("msg_id") == msg_id:
                    return dict(msg["content"])

    def _answer_input(self, request: dict, allow_stdin: bool) -> None:
        outer = self.outer
        prompt, password = request["content"].get("prompt", ""), request["content"].get("password")
        try:
            value = outer._input_request(prompt, outer._get_shell_context_var(
                outer._shell_parent_ident), outer.get_parent("shell"), password=bool(password))
        except KeyboardInterrupt:
            self.kernel.interrupt()
            value = ""
        self.client.session.send(self.client.stdin, "input_reply", {"value": value},
                                 parent=request["header"])

    # -- completion, inspection, comms -------------------------------------------------------
    def request(self, msg_type: str, content: dict) -> dict:
        return dict(self.client.request(msg_type, content)["content"])

    def forward_comm(self, msg: dict) -> None:
        """A comm message from the front end for a comm that lives inside."""
        request = self.client.session.msg(msg["header"]["msg_type"], msg["content"],
                                          metadata=msg["metadata"])
        self._remember(request["header"]["msg_id"], msg)
        self.client.session.send(self.client.shell, request, buffers=_bytes(msg.get("buffers")))

    def owns_comm(self, msg: dict) -> bool:
        return msg["content"].get("comm_id") in self.comms

    def close(self) -> None:
        """Shut the inner kernel down and remove its container."""
        try:
            if self.kernel.alive():
                self.client.request("shutdown_request", {"restart": False}, channel="control",
                                    timeout=2)
        except (KernelDied, TimeoutError, zmq.ZMQError):
            pass
        finally:
            self.client.close()
            self.kernel.stop()


def _bytes(buffers):
    return [bytes(b) for b in buffers] if buffers else None
