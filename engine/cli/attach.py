"""Attached `run`, `start -a` and `attach`: stream the container's output as it comes, pass
stdin on.

The monitor writes the container's output to its log; an attached client follows that log, so
attaching works from any process, and output written before we looked is never lost. With -t
the client's terminal is raw (with -i) and the container's pty follows its size (terminal.py).
"""
import contextlib
import os
import sys
import threading
import time

from .. import Engine
from ..errors import Conflict
from .render import binary
from .terminal import raw_mode, resizing


def register(sub) -> None:
    p = sub.add_parser("attach", help="Attach local standard input, output, and error streams "
                                      "to a running container")
    p.add_argument("--no-stdin", action="store_true", help="do not attach stdin")
    p.add_argument("--sig-proxy", default="true", choices=("true", "false"),
                   help="proxy Ctrl-C to the container (default true)")
    p.add_argument("--detach-keys", help="accepted; Ctrl-C with --sig-proxy=false detaches")
    p.add_argument("container")
    p.set_defaults(func=cmd_attach)


def run_attached(engine, container, *, remove=False, stdin=False) -> int:
    """Start, stream until this run exits, return its exit code (and remove with --rm, with
    its anonymous volumes)."""
    tty = bool(container.record["Config"].get("Tty"))
    with engine.containers.attached(container):
        try:
            with _raw(tty and stdin):
                state = engine.containers.start(container, attach=True)
                with _resizing(container, tty):
                    if stdin:
                        pump_stdin(container)
                    return follow_until_exit(container, pid=state.pid)
        except KeyboardInterrupt:       # Ctrl-C stops the container, as docker's sig-proxy does
            container.stop(timeout=3)
            return 130
        finally:
            if remove:
                engine.containers.remove(container, force=True, volumes=True)


def follow_until_exit(container, since=None, pid: int | None = None) -> int:
    """Copy the log's entries (written at `since` or later) to stdout/stderr until the
    container exits; its exit code. pid=PID 1 of the run `run` started: until that run exits,
    its exit code, as Docker's CLI waits for the next exit (a restart policy may start it
    again)."""
    for entry in container.log_entries(follow=True, since=since, attached=True, run_of=pid):
        out = binary(sys.stdout if entry.stream == "stdout" else sys.stderr)
        out.write(entry.data)
        out.flush()
    return container.wait(exit_of=pid)["StatusCode"]


def _raw(on: bool):
    """-it: our terminal in raw mode, so keys reach the container's pty as typed."""
    return raw_mode(0) if on else contextlib.nullcontext()


def _resizing(container, tty: bool):
    """-t: the container's pty follows our terminal's size (it got the first one at create)."""

    def resize(rows, columns):
        try:
            container.resize(rows, columns)
        except Conflict:        # it exited meanwhile: nothing to size
            pass
    return resizing(resize) if tty else contextlib.nullcontext()


def pump_stdin(container):
    """Copy our stdin into the container's stdin until EOF, in a daemon thread."""
    sink = container.open_stdin()

    def pump():
        with sink:
            while True:
                data = os.read(0, 65536)
                if not data:
                    break
                sink.write(data)
                sink.flush()

    threading.Thread(target=pump, daemon=True).start()


def cmd_attach(args) -> int:
    """docker attach: the output from now on, stdin when the container has it open; Ctrl-C
    goes to the container (--sig-proxy=false: detaches). Exits with the container's code."""
    container = Engine(args.data_root).containers.get(args.container)
    status = container.status
    if status == "paused":
        raise Conflict("You cannot attach to a paused container, unpause it first")
    if status != "running":
        raise Conflict("You cannot attach to a stopped container, start it first")
    since = time.time()
    container.emit("attach")
    if not args.no_stdin and container.record["Config"].get("OpenStdin"):
        pump_stdin(container)
    while True:
        try:
            return follow_until_exit(container, since=since)
        except KeyboardInterrupt:
            if args.sig_proxy == "false":
                return 0
            container.kill("SIGINT")
            since = time.time()
