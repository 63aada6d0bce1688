"""Heredocs: ``<<[-]NAME`` openers in an instruction line, and the bodies they name.

    heredocs_from_line("COPY <<EOF <<-'B' /d/")   # [Heredoc("EOF"), Heredoc("B", chomp, no expand)]
    parse_heredoc("3<<EOF")                        # Heredoc("EOF", fd=3); None for a plain word

The parser fills each body in (raw: ``<<-`` tabs kept); ``Heredoc.text`` is the body as Docker
uses it. Quotes anywhere in the delimiter turn expansion of the body off, as in sh.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import DockerfileError
from .shell import Lexer

_HEREDOC = re.compile(r"([0-9]*)<<(-?)([^<]*)\Z", re.DOTALL)
_LEADING_TABS = re.compile(r"^\t+", re.MULTILINE)


@dataclass
class Heredoc:
    """One ``<<[-]NAME`` body; content is raw (tabs kept even when chomp is set)."""

    name: str
    content: str = ""
    expand: bool = True
    chomp: bool = False
    fd: int = 0

    @property
    def text(self) -> str:
        """The body as Docker uses it: leading tabs removed from each line for ``<<-``."""
        return _LEADING_TABS.sub("", self.content) if self.chomp else self.content

    def to_dict(self) -> dict:
        return {"name": self.name, "content": self.content, "expand": self.expand,
                "chomp": self.chomp, "fd": self.fd}


def heredocs_from_line(line: str, number: int = 0) -> list[Heredoc]:
    """The heredocs a line opens, in order: each word shaped like ``[fd]<<[-]NAME``."""
    lex = Lexer("\\", raw_quotes=True, raw_escapes=True, skip_unset_env=True)
    try:
        words = lex.process(line, {})[1]
    except DockerfileError:
        return []
    docs = []
    for word in words:
        heredoc = parse_heredoc(word, number)
        if heredoc is not None:
            docs.append(heredoc)
    return docs


def parse_heredoc(word: str, number: int = 0) -> Heredoc | None:
    """A Heredoc when ``word`` is a heredoc opener like ``<<EOF``, ``<<-"EOF"`` or ``3<<EOF``."""
    match = _HEREDOC.match(word)
    if not match or not match.group(3):
        return None
    rest = match.group(3)
    plain = Lexer("\\", skip_unset_env=True)
    raw = Lexer("\\", raw_quotes=True, skip_unset_env=True)
    try:
        words = plain.process(rest, {})[1]
        if len(words) != 1:
            return None
        words_raw = raw.process(rest, {})[1]
    except DockerfileError as exc:
        raise DockerfileError(f"invalid heredoc {word}: {exc.reason}", number or None) from None
    quotes = lambda w: w.count("'") + w.count('"')  # noqa: E731
    fd = int(match.group(1)) if match.group(1) else 0
    return Heredoc(name=words[0], expand=quotes(words[0]) == quotes(words_raw[0]),
                   chomp=match.group(2) == "-", fd=min(fd, 2 ** 64 - 1))
