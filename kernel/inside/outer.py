"""The dockyard kernel's side of `%dockyard use`: where cells run, and the switch between.

    kernel.use_image(engine, "python:3.11", volumes=["/data:/data"])   # next cells run inside
    kernel.use_host()                                                   # back on the host

A mixin for the IPython kernel class: execute, complete and inspect requests go to the kernel
inside while one is in use, except cells that start with a dockyard magic; comm messages go
where their comm lives; shutdown (and restart) removes the container.
"""
import functools
import inspect
import os

from dockyard.engine.errors import KernelDied, NoIpykernel

from .forward import Inside, runs_on_host
from .ipykernel_image import with_ipykernel
from .launch import start

RED, RESET = "\x1b[0;31m", "\x1b[0m"


class UseMixin:
    """Forwarding for an IPythonKernel subclass; `inside` is None while cells run on the host."""

    inside: Inside | None = None

    def init_forwarding(self) -> None:
        """Route front-end comm messages for comms that live inside (call once, after init)."""
        for kind in ("comm_msg", "comm_close"):
            self.shell_handlers[kind] = functools.partial(self._route_comm,
                                                          self.shell_handlers[kind])

    def use_image(self, engine, image: str, *, volumes=(), environment=(), network=None,
                  on_event=None) -> Inside:
        """Start a kernel in a container of `image`; from now on cells run there."""
        self.use_host()
        options = dict(cwd=os.getcwd(), volumes=volumes, environment=environment,
                       network=network)
        try:
            kernel = start(engine, image, **options)
        except NoIpykernel as missing:
            derived = with_ipykernel(engine, image, missing.python, on_event=on_event)
            kernel = start(engine, derived, **options)
            kernel.image = image
        try:
            self.inside = Inside(self, kernel)
        except BaseException:
            kernel.stop()
            raise
        return self.inside

    def use_host(self) -> None:
        """Cells run on the host again; the container (if any) is removed."""
        inside, self.inside = self.inside, None
        if inside is not None:
            inside.close()

    async def do_execute(self, code, silent, store_history=True, user_expressions=None,
                         allow_stdin=False, **kwargs):
        if self.inside is None or runs_on_host(code):
            return await super().do_execute(code, silent, store_history, user_expressions,
                                            allow_stdin, **kwargs)
        try:
            reply = self.inside.execute(code, silent=silent, store_history=store_history,
                                        user_expressions=user_expressions,
                                        allow_stdin=allow_stdin)
        except KernelDied as died:
            reply = self._lost(died)
        if store_history and not silent:
            self.shell.execution_count += 1
        reply["execution_count"] = self.shell.execution_count - 1
        return reply

    def _lost(self, died: KernelDied) -> dict:
        """The container ended mid-cell: one line in the cell, and back to the host."""
        code = f" (exit code {died.exit_code})" if died.exit_code is not None else ""
        text = f"{died}{code}; cells run on the host again"
        content = {"ename": "KernelDied", "evalue": text,
                   "traceback": [f"{RED}KernelDied{RESET}: {text}"]}
        self.session.send(self.iopub_socket, "error", content, parent=self.get_parent("shell"),
                          ident=b"kernel.dockyard.error")
        self.use_host()
        return dict(content, status="error")

    async def do_complete(self, code, cursor_pos):
        if self.inside is not None and not runs_on_host(code):
            try:
                return self.inside.request("complete_request",
                                           {"code": code, "cursor_pos": cursor_pos})
            except (KernelDied, TimeoutError):
                pass
        return super().do_complete(code, cursor_pos)

    async def do_inspect(self, code, cursor_pos, detail_level=0, omit_sections=()):
        if self.inside is not None and not runs_on_host(code):
            try:
                return self.inside.request("inspect_request", {
                    "code": code, "cursor_pos": cursor_pos, "detail_level": detail_level,
                    "omit_sections": list(omit_sections)})
            except (KernelDied, TimeoutError):
                pass
        return super().do_inspect(code, cursor_pos, detail_level, omit_sections)

    async def do_shutdown(self, restart):
        self.use_host()
        reply = super().do_shutdown(restart)
        return await reply if inspect.isawaitable(reply) else reply

    def _route_comm(self, host_handler, stream, ident, msg):
        if self.inside is not None and self.inside.owns_comm(msg):
            return self.inside.forward_comm(msg)
        return host_handler(stream, ident, msg)
