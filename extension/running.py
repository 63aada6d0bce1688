"""Run containers for the magics: a foreground run streams into the cell, a cell body runs as a
script. Options come from the CLI's own parser and its `run_options`, so the meaning is shared.
"""
import codecs
import contextlib
import sys

from dockyard.engine.cli.runflags import run_options
from dockyard.engine.errors import ContainerError, Interrupted, InvalidArgument, NotFound

from .commandline import parse
from .interrupts import shielded


def reorder_trailing_flags(words: list[str], positional: str, command: list[str]) -> list[str]:
    """`IMAGE -e A=1` parses as image + command; move those trailing flags before IMAGE."""
    cut = len(words) - len(command)
    if cut < 1 or words[cut - 1] != positional:
        return words
    return [*words[:cut - 1], *command, positional]


def parse_with_body(verb: str, words: list[str], positional: str, data_root: str | None):
    """Parse `%%container <verb> <NAME|IMAGE> [flags]` whose command is the cell body."""
    args = parse([verb, *words], data_root)
    if args.command:
        args = parse([verb, *reorder_trailing_flags(words, getattr(args, positional), args.command)],
                     data_root)
    if args.command:
        raise InvalidArgument(f"%%container {verb}: the cell body is the command; "
                              f"unexpected {' '.join(args.command)!r}")
    return args


def body_command(cell: str, python: bool) -> list[str]:
    return ["python3", "-c", cell] if python else ["sh", "-c", cell]


def create(engine, args, default_network: str | None):
    """Create the container `args` (a parsed run) describes; nothing runs yet."""
    if getattr(args, "network", None) is None and default_network:
        args.network = default_network
    return engine.containers.create_from(run_options(args))


def run_foreground(engine, container, *, remove: bool, interrupt_timeout: float, out=None,
                   stopping=contextlib.nullcontext) -> int:
    """Start, stream output into the cell as it comes, return the exit code.

    Interrupting the cell stops the container (SIGKILL after `interrupt_timeout` s), removes it
    with --rm, and raises Interrupted saying so; `with stopping():` wraps that cleanup, to
    show it meanwhile.
    """
    out = out or sys.stdout
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    removed = False
    with engine.containers.attached(container):
        try:
            engine.containers.start(container)
            for chunk in container.logs(stream=True, follow=True):
                out.write(decoder.decode(chunk))
                out.flush()
            out.write(decoder.decode(b"", final=True))
            return container.wait()["StatusCode"] or 0
        except KeyboardInterrupt:
            with shielded(), stopping():
                out.write(decoder.decode(b"", final=True))
                out.flush()
                container.stop(timeout=interrupt_timeout)
                if remove:
                    _remove(engine, container)
                    removed = True
            raise Interrupted(f"container {container.name} stopped"
                              + (" and removed" if remove else "")) from None
        finally:
            if remove and not removed:
                with shielded():
                    _remove(engine, container)


def _remove(engine, container) -> None:
    """--rm: the container and its anonymous volumes, as Docker does."""
    try:
        engine.containers.remove(container, force=True, volumes=True)
    except NotFound:            # removed meanwhile (another cell, the CLI): what we wanted
        pass


def check_exit(name: str, code: int) -> None:
    """A non-zero exit shows as the cell's one-line error."""
    if code:
        raise ContainerError(f"container {name} exited with code {code}", code)


def exec_script(container, args, cell: str, python: bool, out=None) -> int:
    """Run the cell body inside a running container (`%%container exec`); print its output."""
    out = out or sys.stdout
    environment = list(getattr(args, "env", []) or []) or None
    code, output = container.exec_run(body_command(cell, python), user=args.user,
                                      workdir=args.workdir, environment=environment)
    out.write(output.decode(errors="replace"))
    out.flush()
    return code or 0
