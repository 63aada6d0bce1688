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
                   "exec", "inspect", "top", "diff", "port", "stats", "commit", "cp", "export",
                   "pause", "unpause", "rename", "update", "attach", "container"),
    "images": ("images", "rmi", "tag", "history", "import", "image"),
    "build": ("build",),
    "dockerfile": ("dockerfile",),
    "network": ("network",),
    "volume": ("volume",),
    "system": ("info", "version", "system", "events"),
    "kernel": ("kernel",),
    "notebook": ("notebook",),
    "daemon": ("daemon",),
    "registry": ("pull", "push", "save", "load", "login", "logout", "search"),
}
GLOBAL_OPTIONS_WITH_VALUE = ("--data-root",)


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises InvalidArgument instead of exiting, so magics can show one line."""

    def error(self, message):
        raise InvalidArgument(f"{self.prog}: {message}")

    def parse_known_args(self, args=None, namespace=None):
        args = sys.argv[1:] if args is None else list(args)
        self._refuse_single_dash_long(args)
        return super().parse_known_args(args, namespace)

    def _refuse_single_dash_long(self, args: list[str]) -> None:
        """`-tag x:1` is a typo for `--tag x:1`, not `-t ag x:1`: say so, as Docker's CLI does.

        Only this parser's own flags are looked at: the scan stops at a subcommand, or at a
        command given to the container (`run busybox find / -name x`).
        """
        stop_at_positional = any(a.nargs in (argparse.REMAINDER, argparse.PARSER)
                                 for a in self._positionals._group_actions)
        words = iter(args)
        for word in words:
            if word == "--":
                return
            if not word.startswith("-") or word == "-":
                if stop_at_positional:
                    return
                continue
            flag = word.split("=", 1)[0]
            action = self._option_string_actions.get(flag)
            if action is not None:
                if "=" not in word and (action.nargs is None or action.nargs == 1):
                    next(words, None)                   # its value, e.g. `-e -x`
            elif not flag.startswith("--") and len(flag) > 2 \
                    and "-" + flag in self._option_string_actions:
                self.error(f"unknown flag {flag}: did you mean -{flag}?")


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
    """Run one command; every failure is one `Error: ...` line on stderr and Docker's exit
    status: 125 for a bad command line and for run/create, 1 for any other verb that failed."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        build_parser().print_help()
        return 0
    debug = "--debug" in argv
    status = 125        # Docker's CLI: a flag error is 125 on every verb
    try:
        args = parse(argv)
        status = getattr(args, "failure_status", 1)
        return args.func(args) or 0
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except Exception as exc:        # the boundary: whatever escapes is still one line
        if debug:
            raise
        print(f"Error: {describe(exc)}", file=sys.stderr)
        # run/create exit 126/127 when the command can't be run, as `docker run` does
        return getattr(exc, "exit_status", status) if status == 125 else status


def describe(exc: BaseException) -> str:
    """The one line a user sees for `exc`: a dockyard error's own words, an OSError's path
    and reason ("/proc/nope: No such file or directory"), else the type and message."""
    if isinstance(exc, DockyardError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        where = " -> ".join(str(p) for p in (exc.filename, exc.filename2) if p is not None)
        return f"{where}: {exc.strerror}" if where else exc.strerror
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _silence_stdout() -> None:
    # The reader went away (`dockyard ps | head -1`): point stdout at /dev/null so the
    # interpreter's final flush doesn't print a second BrokenPipeError.
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
