"""Dockerfile text to a parse tree of nodes, as buildkit's ``frontend/dockerfile/parser`` does.

This layer knows lines, parser directives, comments, continuations, heredocs and each
instruction's argument syntax (JSON or shell form, key=value pairs, words). It keeps the raw
argument text: no variable expansion, and no validation of argument counts or flag names
(that is the instruction classes', ``instructions/``). Each class names its argument syntax;
unknown instructions parse to a node without arguments, as in Docker, and are refused by the
next layer.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import DockerfileError
from .arguments import lstrip as _lstrip, split_command
from .heredoc import Heredoc, heredocs_from_line
from .instructions import REGISTRY

# Go's \s is ASCII-only, hence re.ASCII.
_DIRECTIVE = re.compile(r"#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*\Z", re.ASCII | re.DOTALL)
_CONTINUATION = {
    esc: re.compile(r"([^%s])%s[ \t]*\Z|^%s[ \t]*\Z" % ((re.escape(esc),) * 3), re.DOTALL)
    for esc in ("\\", "`")
}
DIRECTIVES = ("syntax", "escape", "check")
_UTF8_BOM = "\ufeff"
# bufio.Scanner's limit in Docker's parser: longer lines are an error there, so here too.
MAX_LINE = 64 * 1024


@dataclass
class Node:
    """One instruction of the parse tree; ``args`` is raw text, ``sub`` ONBUILD's trigger."""

    cmd: str
    flags: list[str] = field(default_factory=list)
    args: list = field(default_factory=list)
    json: bool = False
    heredocs: list[Heredoc] = field(default_factory=list)
    start_line: int = 0
    end_line: int = 0
    original: str = ""
    sub: "Node | None" = None

    def to_dict(self) -> dict:
        return {"cmd": self.cmd, "flags": list(self.flags),
                "args": [list(a) if isinstance(a, tuple) else a for a in self.args],
                "json": self.json, "heredocs": [h.to_dict() for h in self.heredocs],
                "start_line": self.start_line, "end_line": self.end_line,
                "sub": self.sub.to_dict() if self.sub else None}


@dataclass
class ParseResult:
    """Nodes in file order plus what the directives set and the parser's warnings."""

    children: list[Node]
    escape: str = "\\"
    directives: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _trim_newline(text: str) -> str:
    return text.rstrip("\r\n")


def _is_comment(raw: str) -> bool:
    return _lstrip(_trim_newline(raw)).startswith("#")


def _split_lines(text: str) -> list[str]:
    """Lines with their endings kept, split on \\n only (as bufio's ScanLines variant)."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


class _Directives:
    """Parser directives: only in leading comment lines, each at most once."""

    def __init__(self):
        self.escape, self.values, self.done = "\\", {}, False

    def see(self, line: str, number: int) -> None:
        if self.done:
            return
        match = _DIRECTIVE.match(line)
        key = match.group(1).lower() if match else None
        if key not in DIRECTIVES:
            self.done = True
            return
        if key in self.values:
            raise DockerfileError(f"only one {key} parser directive can be used", number)
        value = match.group(2)
        if key == "escape":
            if value not in ("\\", "`"):
                raise DockerfileError(
                    f"invalid escape token '{value}' does not match ` or \\", number)
            self.escape = value
        self.values[key] = value


class _Lines:
    """The file's physical lines, read in order; ``number`` is the last one read (1-based)."""

    def __init__(self, text: str):
        self.lines = _split_lines(text)
        if self.lines and self.lines[0].startswith(_UTF8_BOM):
            self.lines[0] = self.lines[0][1:]
        self.number = 0
        self.directives = _Directives()

    def more(self) -> bool:
        return self.number < len(self.lines)

    def raw(self) -> str:
        """The next line as it is, its newline kept."""
        self.number += 1
        raw = self.lines[self.number - 1]
        if len(raw) > MAX_LINE:
            raise DockerfileError(f"dockerfile line greater than max allowed size of {MAX_LINE - 1}",
                                  self.number)
        return raw

    def token(self, raw: str, strip_left: bool) -> str:
        """A line's text for the instruction: "" for a comment; directives are noted."""
        token = _trim_newline(raw)
        if strip_left:
            token = _lstrip(token)
        self.directives.see(token, self.number)
        return "" if token.startswith("#") else token

    def instruction(self) -> tuple[str | None, bool]:
        """The next logical line (continuations joined; None for a blank or comment line) and
        whether an empty continuation line was skipped in it."""
        regex = _CONTINUATION[self.directives.escape]
        line, continued = _trim_continuation(self.token(self.raw(), True), regex)
        if not continued and line == "":
            return None, False
        empty_continuation = False
        while continued and self.more():
            raw = self.raw()
            token = self.token(raw, False)
            if _is_comment(raw):
                continue
            if not _lstrip(token):
                empty_continuation = True
                continue
            more, continued = _trim_continuation(token, regex)
            line += more
        return line, empty_continuation

    def heredoc_body(self, heredoc: Heredoc, node: Node) -> None:
        """Read lines into ``heredoc`` up to its delimiter (tabs before it allowed for <<-)."""
        while self.more():
            raw = self.raw()
            candidate = _trim_newline(raw)
            if heredoc.chomp:
                candidate = candidate.lstrip("\t")
            if candidate == heredoc.name:
                return
            heredoc.content += raw
        raise DockerfileError(f"{node.cmd.upper()}: unterminated heredoc <<{heredoc.name}",
                              node.start_line, node.cmd.upper())


def parse_tree(text: str | bytes) -> ParseResult:
    """Parse Dockerfile text into nodes; raise DockerfileError for what Docker's parser refuses."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="replace")
    lines = _Lines(text)
    children: list[Node] = []
    warnings: list[str] = []
    while lines.more():
        start = lines.number + 1
        line, empty_continuation = lines.instruction()
        if line is None:
            continue
        if empty_continuation:
            warnings.append("[WARNING]: Empty continuation line found in:\n    " + line)
        node = node_from_line(line, lines.directives.escape, start, lines.number)
        if _can_contain_heredoc(node):
            for heredoc in heredocs_from_line(line, start):
                lines.heredoc_body(heredoc, node)
                node.heredocs.append(heredoc)
        _set_lines(node, start, lines.number)
        children.append(node)
    if warnings:
        warnings.append("[WARNING]: Empty continuation lines will become errors in a future release.")
    if not children:
        raise DockerfileError("file with no instructions", lines.number or None)
    return ParseResult(children, lines.directives.escape, dict(lines.directives.values),
                       warnings)


def _set_lines(node: Node, start: int, end: int) -> None:
    node.start_line, node.end_line = start, end
    if node.sub:
        _set_lines(node.sub, start, end)


def _trim_continuation(line: str, regex: re.Pattern) -> tuple[str, bool]:
    """Drop a trailing escape character; True when the instruction goes on on the next line."""
    match = regex.search(line)
    if not match:
        return line, False
    return line[:match.start()] + (match.group(1) or ""), True


def _can_contain_heredoc(node: Node) -> bool:
    # ONBUILD's trigger (the only node with a sub) may open heredocs too.
    if node.sub is not None:
        node = node.sub
    cls = REGISTRY.get(node.cmd)
    return cls is not None and cls.heredocs_allowed and not node.json


def node_from_line(line: str, escape: str, start: int = 0, end: int = 0) -> Node:
    """Parse one logical line (continuations joined) into a Node; the instruction's class
    says how its arguments are written (unknown instructions keep none, as in Docker)."""
    cmd, flags, rest = split_command(line)
    node = Node(cmd=cmd, flags=flags, original=line, start_line=start, end_line=end)
    cls = REGISTRY.get(cmd)
    try:
        if cls is not None:
            cls.parse_arguments(node, rest, escape, node_from_line)
    except DockerfileError as exc:
        raise DockerfileError(_named(exc.reason, cmd), start or None, cmd.upper()) from None
    return node


def _named(message: str, cmd: str) -> str:
    """Prefix a message with the instruction unless it already starts with its name."""
    name = cmd.upper()
    return message if message.upper().startswith(name) else f"{name}: {message}"
