"""Turn a magic's line into the `dockyard` CLI's argv and parse it with the CLI's own parser.

    argv_for("container", "run -d -p 8080:80 --name web img")
        -> ["run", "-d", "-p", "8080:80", "--name", "web", "img"]
    argv_for("image", "ls") -> ["image", "ls"]

The magics never define flags of their own for these verbs: `%container run ...` means exactly
what `dockyard run ...` means because both go through `dockyard.engine.cli.main.parse`.
"""
import argparse
import shlex

from dockyard.engine.cli.main import COMMANDS, parse as cli_parse
from dockyard.engine.errors import InvalidArgument

GROUPS = ("container", "image", "network", "volume")


def split(line: str) -> list[str]:
    """shlex-split a magic line; an unbalanced quote is InvalidArgument, not a ValueError."""
    try:
        return shlex.split(line)
    except ValueError as exc:
        raise InvalidArgument(f"can't split {line!r}: {exc}") from None


def top_level_commands() -> set[str]:
    """The command names the CLI's parser knows (its table of commands per module)."""
    return {name for names in COMMANDS.values() for name in names}


def argv_for(group: str, words: list[str] | str, commands: set[str] | None = None) -> list[str]:
    """The CLI argv a `%<group> <verb> ...` magic stands for.

    Container verbs are top-level in the CLI (`dockyard run`, like `docker run`); when the CLI
    only has the long form (`dockyard container run`) that is used instead. Other groups keep
    their group word (`dockyard image ls`).
    """
    words = split(words) if isinstance(words, str) else list(words)
    if not words:
        raise InvalidArgument(f"%{group}: a verb is needed (see %{group} --help)")
    commands = top_level_commands() if commands is None else commands
    if group == "container" and words[0] not in commands and "container" in commands:
        return ["container", *words]
    if group != "container":
        return [group, *words]
    return words


def parse(argv: list[str], data_root: str | None = None) -> argparse.Namespace:
    """Parse with the CLI's parser, adding --data-root when the notebook's settings name one."""
    prefix = ["--data-root", data_root] if data_root else []
    return cli_parse([*prefix, *argv])
