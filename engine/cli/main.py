"""The `dockyard` command: Docker's verbs and flags over the in-process engine.

Each command group is a module of this package with `register(subparsers)`; every subparser sets
`func=handler`, and `handler(args) -> int` does one engine call and prints the result. Modules
import only argparse at the top, so `dockyard ps` does not pay for the builder or pyroute2.
The magics in dockyard.extension parse with the same parser through `parse()`.
"""
import argparse
import importlib
import os
import sys

from ..errors import DockyardError, InvalidArgument

# Command modules and the commands each registers, in the order `dockyard --help` lists them.
# parse() builds only the module a command needs: building every subparser costs ~10 ms.
COMMANDS = {
    "containers": ("run", "create", "start", "stop", "restart", "kill", "wait", "rm", "ps", "logs",
                   "exec", "inspect", "top", "diff", "port", "stats", "commit", "cp", "export"),
    "images": ("images", "rmi", "tag", "history", "import", "image"),
    "build": ("build",),
    "dockerfile": ("dockerfile",),
    "network": ("network",),
    "volume": ("volume",),
    "system": ("info", "version", "system"),
    "kernel": ("kernel",),
    "registry": ("pull", "push", "save", "load", "login", "logout"),
}
GLOBAL_OPTIONS_WITH_VALUE = ("--data-root",)


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises InvalidArgument instead of exiting, so magics can show one line."""

    def error(self, message):
        raise InvalidArgument(f"{self.prog}: {message}")


class _Skipped:
    """Stands in for the parser of a command that isn't being run: it records nothing."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: self


class _OnlyCommand:
    """Subparsers that build just `command`: argparse spends ~100 µs per flag, and the
    container verbs alone have ~140 flags, so `dockyard run` builds only run's."""

    def __init__(self, subparsers, command: str):
        self.subparsers, self.command = subparsers, command

    def __getattr__(self, name):
        return getattr(self.subparsers, name)

    def add_parser(self, name, **kwargs):
        if name == self.command or self.command in kwargs.get("aliases", ()):
            return self.subparsers.add_parser(name, **kwargs)
        return _Skipped()


def build_parser(modules=tuple(COMMANDS), command: str | None = None) -> ArgumentParser:
    """The `dockyard` parser (with the commands of `modules`, or just `command`), shared by
    the CLI and the magics."""
    parser = ArgumentParser(prog="dockyard", description="Containers for notebooks, daemonless.")
    parser.add_argument("--data-root", default=None,
                        help="engine state directory (default $DOCKYARD_DATA_ROOT or /var/lib/dockyard)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    for name in modules:
        try:
            module = importlib.import_module(f"{__package__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.{name}":
                raise
            continue        # a command group not written yet
        module.register(_OnlyCommand(sub, command) if command else sub)
    return parser


def parse(argv: list[str]) -> argparse.Namespace:
    """Parse `argv` (without the program name); InvalidArgument on bad flags."""
    modules, command = _command_of(argv)
    args = build_parser(modules, command).parse_args(argv)
    if not getattr(args, "func", None):
        raise InvalidArgument("dockyard: a command is needed (see dockyard --help)")
    args.data_root = args.data_root or os.environ.get("DOCKYARD_DATA_ROOT") or None
    return args


def _command_of(argv: list[str]) -> tuple[tuple[str, ...], str | None]:
    """(the command module `argv` needs, its command), or every module when it is unclear."""
    words = iter(argv)
    for word in words:
        if word in GLOBAL_OPTIONS_WITH_VALUE:
            next(words, None)
        elif not word.startswith("-"):
            found = tuple(m for m, commands in COMMANDS.items() if word in commands)
            return (found, word) if found else (tuple(COMMANDS), None)
    return tuple(COMMANDS), None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        build_parser().print_help()
        return 0
    debug = "--debug" in argv
    try:
        args = parse(argv)
        return args.func(args) or 0
    except DockyardError as exc:
        if debug:
            raise
        print(f"Error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_status", 125)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
