"""`dockyard dockerfile parse|check|expand`: the Dockerfile front end from the shell.

    dockyard dockerfile parse Dockerfile        # the parse tree as JSON
    dockyard dockerfile check - < Dockerfile    # nothing and exit 0, or "Error: ..." and exit 1
    dockyard dockerfile expand --env A=1 -- '${A:-x} $B'
"""
import argparse
import json
import sys

from ..errors import DockerfileError, InvalidArgument


def register(subparsers) -> None:
    """Add the `dockerfile` command group."""
    group = subparsers.add_parser("dockerfile", help="Parse, check and expand Dockerfiles")
    commands = group.add_subparsers(dest="dockerfile_command", metavar="COMMAND",
                                    parser_class=type(group))
    commands.required = True
    parse = commands.add_parser("parse", help="Print a Dockerfile's parse tree as JSON")
    parse.add_argument("file", metavar="FILE", help="Dockerfile path, or - for stdin")
    parse.set_defaults(func=parse_command)
    check = commands.add_parser("check", help="Validate a Dockerfile without building")
    check.add_argument("file", metavar="FILE", help="Dockerfile path, or - for stdin")
    check.set_defaults(func=check_command)
    expand = commands.add_parser("expand", help="Expand a word as Dockerfile instructions do")
    mode = expand.add_mutually_exclusive_group()
    mode.add_argument("--words", action="store_true", help="split into words (JSON list)")
    mode.add_argument("--matches", action="store_true",
                      help="print JSON {result, matched, unmatched}")
    expand.add_argument("--env", "-e", action="append", default=[], metavar="K=V",
                        help="a variable (repeatable)")
    expand.add_argument("--escape", default="\\", choices=["\\", "`"],
                        help="escape character (as set by '# escape=')")
    expand.add_argument("word", metavar="WORD")
    expand.set_defaults(func=expand_command)


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise InvalidArgument(f"can't read {path}: {exc.strerror}") from None


def _exit_one(exc):
    # A bad Dockerfile is the user's input, not an engine failure: exit 1 like a linter.
    exc.exit_status = 1
    return exc


def parse_command(args: argparse.Namespace) -> int:
    """Print the parse tree as JSON."""
    from ..dockerfile import dump_ast   # ~33 ms: the Dockerfile front end, for this verb only
    try:
        tree = dump_ast(_read(args.file))
    except DockerfileError as exc:
        raise _exit_one(exc)
    print(json.dumps(tree, indent=2, ensure_ascii=False))
    return 0


def check_command(args: argparse.Namespace) -> int:
    """Validate; print nothing and return 0 when the Dockerfile is fine."""
    from ..dockerfile import parse      # ~33 ms: the Dockerfile front end, for this verb only
    try:
        dockerfile = parse(_read(args.file))
    except DockerfileError as exc:
        raise _exit_one(exc)
    for warning in dockerfile.warnings:
        print(warning, file=sys.stderr)
    return 0


def expand_command(args: argparse.Namespace) -> int:
    """Expand one word: the result, its words (--words) or what it used (--matches)."""
    from ..dockerfile import Lexer      # ~33 ms: the Dockerfile front end, for this verb only
    try:
        result, words, matched, unmatched = Lexer(args.escape).process(args.word, args.env)
    except DockerfileError as exc:
        raise _exit_one(exc)
    if args.words:
        print(json.dumps(words, ensure_ascii=False))
    elif args.matches:
        print(json.dumps({"result": result, "matched": sorted(matched),
                          "unmatched": sorted(unmatched)}, ensure_ascii=False))
    else:
        print(result)
    return 0
