"""Variable expansion of instructions, in exactly the places Docker's builder expands.

Each instruction class says what it expands (its ``expand`` method). In sum: ADD COPY
(sources, destination, --chown --chmod --from --checksum --exclude, and heredoc bodies whose
delimiter is unquoted), ENV and LABEL (keys and values), ARG (names and defaults), EXPOSE
(split into words), FROM (image and --platform), STOPSIGNAL, USER, VOLUME, WORKDIR, and
``RUN --mount`` field values. Never: RUN CMD ENTRYPOINT SHELL HEALTHCHECK MAINTAINER ONBUILD
(their text reaches the shell or the child image as written).
"""
from __future__ import annotations

from ..errors import DockerfileError
from .heredoc import Heredoc
from .shell import Lexer


class Expander:
    """Runs the lexer over one instruction's words and records the names it used."""

    def __init__(self, env, escape: str):
        self.lex, self.env = Lexer(escape), env
        self.used: set[str] = set()

    def word(self, text: str) -> str:
        """``text`` expanded as one word."""
        result, _, matched, _ = self.lex.process(text, self.env)
        self.used |= matched
        return result

    def words(self, text: str) -> list[str]:
        """``text`` expanded and split into words (EXPOSE)."""
        _, words, matched, _ = self.lex.process(text, self.env)
        self.used |= matched
        return words

    def heredoc(self, doc: Heredoc) -> Heredoc:
        """A COPY/ADD heredoc body expanded like Docker: quotes in the body stay literal."""
        if not doc.expand:
            return doc
        lex = Lexer("\\", skip_process_quotes=True)
        result, _, matched, _ = lex.process(doc.text, self.env)
        self.used |= matched
        return Heredoc(doc.name, result, expand=False, chomp=False, fd=doc.fd)


def expand(instruction, env, *, escape: str = "\\"):
    """A copy of ``instruction`` with variables from ``env`` (dict or K=V list) applied.

    The copy's ``used`` holds the names that were found in ``env``. Instructions Docker
    doesn't expand come back unchanged.
    """
    ex = Expander(env, escape)
    try:
        expanded = instruction.expand(ex)
    except DockerfileError as exc:
        name = instruction.cmd.upper()
        raise DockerfileError(f"{name}: {exc.reason}", instruction.start_line or None,
                              name) from None
    if expanded is instruction:
        return instruction
    return expanded.replace(used=frozenset(ex.used))
