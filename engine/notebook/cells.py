"""A notebook's environment cells: the magics that make or choose an environment, in order.

    cells = environment_cells(nb)        # nb: an nbformat NotebookNode
    [c.kind for c in cells]              # ["bootstrap", "dockerfile", "use"]

Four statements make an environment: a `%%dockerfile` cell (an image built from the cell),
and the line magics `%image bootstrap ...`, `%image pull ...` and `%dockyard use IMAGE`, each
on a line of its own in a code cell. Their flags are parsed with the parsers the magics and the
CLI share, so a lock reads a cell exactly as the kernel runs it. Reading runs no code.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import re
import shlex
from dataclasses import dataclass, field

from ..errors import InvalidArgument

LINE_MAGIC = re.compile(r"^\s*%(image\s+(?:bootstrap|pull)|dockyard\s+use)\b(.*)$")
KINDS = ("dockerfile", "bootstrap", "pull", "use")


@dataclass(frozen=True)
class EnvCell:
    """One environment statement: where it is, what it says, and its parsed flags."""

    index: int              # the cell's position in the notebook (0-based)
    cell_id: str            # nbformat's cell id ("" in notebooks older than format 4.5)
    line: int               # the magic's line in the cell (1-based)
    kind: str               # dockerfile | bootstrap | pull | use
    magic: str              # the magic line as written: "%%dockerfile -t env:1"
    body: str = ""          # the Dockerfile of a %%dockerfile cell
    options: dict = field(default_factory=dict, compare=False)

    @property
    def hash(self) -> str:
        """sha256 of the kind, the magic line (its flags) and the body."""
        h = hashlib.sha256()
        for part in (self.kind, self.magic.strip(), self.body):
            h.update(part.encode())
            h.update(b"\0")
        return "sha256:" + h.hexdigest()

    @property
    def label(self) -> str:
        """How messages name it: `cell 3 (%%dockerfile -t env:1)`."""
        where = f"cell {self.index + 1}" + (f", line {self.line}" if self.line > 1 else "")
        return f"{where} ({self.magic.strip()})"

    @property
    def key(self) -> str:
        """Matches a lock entry to this statement: the cell id (else its index) and line."""
        return f"{self.cell_id or '#' + str(self.index)}:{self.line}"


def environment_cells(nb) -> list[EnvCell]:
    """Every environment statement of `nb`, in notebook order; InvalidArgument naming the
    cell for flags its magic would refuse."""
    found = []
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        cell_id = cell.get("id", "") or ""
        found.extend(_statements(index, cell_id, source))
    return found


def _statements(index: int, cell_id: str, source: str) -> list[EnvCell]:
    lines = source.split("\n")
    first = next((n for n, text in enumerate(lines) if text.strip()), None)
    if first is not None and re.match(r"^\s*%%dockerfile\b", lines[first]):
        magic = lines[first].strip()
        cell = EnvCell(index, cell_id, first + 1, "dockerfile", magic,
                       "\n".join(lines[first + 1:]))
        return [_with_options(cell, magic[len("%%dockerfile"):])]
    if first is not None and lines[first].lstrip().startswith("%%"):
        return []                       # another cell magic: its body is not Python
    found = []
    for number, text in enumerate(lines, 1):
        match = LINE_MAGIC.match(text)
        if not match:
            continue
        words = match.group(1).split()
        kind = words[1] if words[0] == "image" else "use"
        cell = _with_options(EnvCell(index, cell_id, number, kind, text.strip()), match.group(2))
        if kind == "use" and cell.options.get("image") in (None, "host"):
            continue                    # `%dockyard use host` goes back to the host: no image
        found.append(cell)
    return found


def _with_options(cell: EnvCell, rest: str) -> EnvCell:
    try:
        words = shlex.split(rest)
    except ValueError as exc:
        raise InvalidArgument(f"{cell.label}: can't split the line: {exc}") from None
    try:
        options = vars(PARSERS[cell.kind](words))
    except InvalidArgument as exc:
        raise InvalidArgument(f"{cell.label}: {exc}") from None
    for noise in ("func", "data_root", "debug", "command", "image_command"):
        options.pop(noise, None)            # the CLI parser's own bookkeeping
    return EnvCell(cell.index, cell.cell_id, cell.line, cell.kind, cell.magic, cell.body,
                   options)


def dockerfile_parser():
    """`%%dockerfile` flags: those of `dockyard build`, with --context for the directory."""
    from ..cli.main import ArgumentParser

    p = ArgumentParser(prog="%%dockerfile", add_help=False)
    p.add_argument("-t", "--tag", help="name the image, e.g. myenv:1")
    p.add_argument("--no-cache", action="store_true", help="run every step, ignore the cache")
    p.add_argument("--build-arg", action="append", default=[], metavar="K=V")
    p.add_argument("--target", help="stop at this stage")
    p.add_argument("--context", default=None, help="build context directory (default: the cwd)")
    p.add_argument("-q", "--quiet", action="store_true", help="no live progress, only the image")
    return p


def use_parser():
    """`%dockyard use` flags: the image, and the mounts, environment and network of its
    container."""
    from ..cli.main import ArgumentParser

    p = ArgumentParser(prog="%dockyard use", add_help=False)
    p.add_argument("image", nargs="?", help="an image, or `host`")
    p.add_argument("-v", "--volume", action="append", default=[], metavar="SRC:DST[:ro]")
    p.add_argument("-e", "--env", action="append", default=[], metavar="K=V")
    p.add_argument("--network", default=None, help="the container's network (default bridge)")
    return p


def build_args(pairs: list[str], environ=None) -> dict:
    """`--build-arg K=V` values; a bare `K` takes the value from the environment."""
    environ = os.environ if environ is None else environ
    found = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not key:
            raise InvalidArgument(f"--build-arg {pair!r}: expected K=V")
        found[key] = value if eq else environ.get(key, "")
    return found


def _image_verb(verb: str):
    """The CLI's own `dockyard image <verb>` parser (the one `%image <verb>` uses)."""
    def parse(words: list[str]) -> argparse.Namespace:
        from ..cli.main import parse as cli_parse
        return cli_parse(["image", verb, *words])
    return parse


PARSERS = {
    "dockerfile": lambda words: dockerfile_parser().parse_args(words),
    "bootstrap": _image_verb("bootstrap"),
    "pull": _image_verb("pull"),
    "use": lambda words: use_parser().parse_args(words),
}
