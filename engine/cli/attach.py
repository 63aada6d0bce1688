"""Attached `run` and `start -a`: stream the container's output as it comes, pass stdin on.

The monitor writes the container's output to its log; an attached client follows that log, so
attaching works from any process, and output written before we looked is never lost.
"""
import os
import sys
import threading

from .render import binary


def run_attached(engine, container, *, remove=False, stdin=False) -> int:
    """Start, stream until exit, return the exit code (and remove with --rm, with its
    anonymous volumes)."""
    with engine.containers.attached(container):
        try:
            engine.containers.start(container)
            if stdin:
                _pump_stdin(container)
            return follow_until_exit(container)
        except KeyboardInterrupt:       # Ctrl-C stops the container, as docker's sig-proxy does
            container.stop(timeout=3)
            return 130
        finally:
            if remove:
                engine.containers.remove(container, force=True, volumes=True)


def follow_until_exit(container) -> int:
    from ..runtime import process
    for entry in process.logs(container.bundle, follow=True):
        out = binary(sys.stdout if entry.stream == "stdout" else sys.stderr)
        out.write(entry.data)
        out.flush()
    return process.wait(container.bundle).exit_code


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
