"""Variable expansion of instructions, in exactly the places Docker's builder expands.

Expanded: ADD COPY (sources, destination, --chown --chmod --from --checksum --exclude, and
heredoc bodies whose delimiter is unquoted), ENV and LABEL (keys and values), ARG (names and
defaults), EXPOSE (split into words), FROM (image and --platform), STOPSIGNAL, USER, VOLUME,
WORKDIR, and ``RUN --mount`` field values. Never: RUN CMD ENTRYPOINT SHELL HEALTHCHECK
MAINTAINER ONBUILD (their text reaches the shell or the child image as written).
"""
from __future__ import annotations

from dataclasses import replace

from ..errors import DockerfileError
from . import flags as _flags
from .parser import Heredoc, parse_heredoc
from .shell import Lexer

# Which flags each instruction expands; the rest keep their text.
_EXPANDED_FLAGS = {
    "copy": ("chown", "chmod", "from", "exclude"),
    "add": ("chown", "chmod", "checksum", "exclude"),
    "from": ("platform",),
}
_WORD = ("stopsignal", "user", "workdir")


class _Expander:
    """Runs the lexer over one instruction's words and records the names it used."""

    def __init__(self, env, escape: str):
        self.lex, self.env = Lexer(escape), env
        self.used: set[str] = set()

    def word(self, text: str) -> str:
        result, _, matched, _ = self.lex.process(text, self.env)
        self.used |= matched
        return result

    def words(self, text: str) -> list[str]:
        _, words, matched, _ = self.lex.process(text, self.env)
        self.used |= matched
        return words


def expand(instruction, env, *, escape: str = "\\"):
    """A copy of ``instruction`` with variables from ``env`` (dict or K=V list) applied.

    The copy's ``used`` holds the names that were found in ``env``: what the builder must
    fold into the step's cache key. Instructions Docker doesn't expand come back unchanged.
    """
    ex = _Expander(env, escape)
    try:
        changes = _expand_fields(instruction, ex)
    except DockerfileError as exc:
        name = instruction.cmd.upper()
        raise DockerfileError(f"{name}: {exc.reason}", instruction.start_line or None,
                              name) from None
    if changes is None:
        return instruction
    return replace(instruction, used=frozenset(ex.used), **changes)


def _expand_fields(ins, ex: _Expander) -> dict | None:
    cmd = ins.cmd
    if cmd in ("env", "label"):
        return {"args": [(ex.word(k), ex.word(v)) for k, v in ins.args]}
    if cmd == "arg":
        out = []
        for arg in ins.args:
            key, eq, value = arg.partition("=")
            out.append(ex.word(key) + (eq + ex.word(value) if eq else ""))
        return {"args": out}
    if cmd == "expose":
        return {"args": [w for a in ins.args for w in ex.words(a)]}
    if cmd == "volume" or cmd in _WORD:
        return {"args": [ex.word(a) for a in ins.args]}
    if cmd == "from":
        return {"args": [ex.word(ins.args[0])] + list(ins.args[1:]),
                "flags": _expand_flags(ins, ex)}
    if cmd in ("copy", "add"):
        args = [a if parse_heredoc(a) else ex.word(a) for a in ins.args[:-1]]
        return {"args": args + [ex.word(ins.args[-1])], "flags": _expand_flags(ins, ex),
                "heredocs": [_expand_heredoc(h, ex) for h in ins.heredocs]}
    if cmd == "run" and ins.flags.get("mount"):
        raw = _flags.parse_flags("run", ins.raw_flags).get("mount", [])
        mounts = _flags.parse_mounts(raw, ex.word)
        return {"flags": {**ins.flags, "mount": mounts}}
    return None


def _expand_flags(ins, ex: _Expander) -> dict:
    names = _EXPANDED_FLAGS.get(ins.cmd, ())
    return {k: [ex.word(v) for v in vs] if k in names else list(vs)
            for k, vs in ins.flags.items()}


def _expand_heredoc(doc: Heredoc, ex: _Expander) -> Heredoc:
    """Expand a COPY/ADD heredoc body like Docker: quotes in the body stay literal."""
    if not doc.expand:
        return doc
    lex = Lexer("\\", skip_process_quotes=True)
    result, _, matched, _ = lex.process(doc.text, ex.env)
    ex.used |= matched
    return Heredoc(doc.name, result, expand=False, chomp=False, fd=doc.fd)
