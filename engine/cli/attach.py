"""Attached `run` and `start -a`: stream the container's output as it comes, pass stdin on.

The monitor writes the container's output to its log; an attached client follows that log, so
attaching works from any process, and output written before we looked is never lost. With -t
the client's terminal is raw (with -i) and the container's pty follows its size (terminal.py).
"""
import contextlib
import os
import sys
import threading

from .render import binary


def run_attached(engine, container, *, remove=False, stdin=False) -> int:
    """Start, stream until this run exits, return its exit code (and remove with --rm)."""
    tty = bool(container.record["Config"].get("Tty"))
    try:
        with _raw(tty and stdin):
            state = engine.containers.start(container, attach=True)
            with _resizing(container, tty):
                if stdin:
                    _pump_stdin(container)
                return follow_until_exit(container, state.pid)
    except KeyboardInterrupt:       # Ctrl-C stops the container, as docker's sig-proxy does
        container.stop(timeout=3)
        return 130
    finally:
        if remove:
            engine.containers.remove(container, force=True)


def follow_until_exit(container, pid: int | None = None) -> int:
    """Copy the output of the run whose PID 1 is `pid` (the current one) until it exits; its
    exit code, as Docker's CLI waits for the next exit (a restart policy may start it again)."""
    from ..runtime import process
    pid = pid or container.state.pid
    for entry in container.log_entries(follow=True, run_of=pid):
        out = binary(sys.stdout if entry.stream == "stdout" else sys.stderr)
        out.write(entry.data)
        out.flush()
    return process.wait(container.bundle, exit_of=pid).exit_code


def _raw(on: bool):
    """-it: our terminal in raw mode, so keys reach the container's pty as typed."""
    from .terminal import raw_mode
    return raw_mode(0) if on else contextlib.nullcontext()


def _resizing(container, tty: bool):
    """-t: the container's pty follows our terminal's size (it got the first one at create)."""
    from .terminal import resizing
    return resizing(container.resize) if tty else contextlib.nullcontext()


def _pump_stdin(container):
    """Copy our stdin into the container's stdin until EOF, in a daemon thread."""
    from ..runtime import process

    def pump():
        with process.open_stdin(container.bundle) as sink:
            while True:
                data = os.read(0, 65536)
                if not data:
                    break
                sink.write(data)
                sink.flush()

    threading.Thread(target=pump, daemon=True).start()
