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
    "system": ("info", "version"),
    "kernel": ("kernel",),
    "registry": ("pull", "push", "save", "load", "login", "logout"),
}
GLOBAL_OPTIONS_WITH_VALUE = ("--data-root",)


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises InvalidArgument instead of exiting, so magics can show one line."""

    def error(self, message):
        raise InvalidArgument(f"{self.prog}: {message}")


def build_parser(modules=tuple(COMMANDS)) -> ArgumentParser:
    """The `dockyard` parser (with the commands of `modules`), shared by the CLI and the magics."""
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
        module.register(sub)
    return parser


def parse(argv: list[str]) -> argparse.Namespace:
    """Parse `argv` (without the program name); InvalidArgument on bad flags."""
    args = build_parser(_modules_for(argv)).parse_args(argv)
    if not getattr(args, "func", None):
        raise InvalidArgument("dockyard: a command is needed (see dockyard --help)")
    args.data_root = args.data_root or os.environ.get("DOCKYARD_DATA_ROOT") or None
    return args


def _modules_for(argv: list[str]) -> tuple[str, ...]:
    """The one command module `argv` needs, or all of them when the command is unclear."""
    words = iter(argv)
    for word in words:
        if word in GLOBAL_OPTIONS_WITH_VALUE:
            next(words, None)
        elif not word.startswith("-"):
            found = [m for m, commands in COMMANDS.items() if word in commands]
            return tuple(found) or tuple(COMMANDS)
    return tuple(COMMANDS)


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
