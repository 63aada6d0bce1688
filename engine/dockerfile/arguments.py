"""Instruction lines split into command, flags and arguments, per instruction syntax.

Ports of buildkit's ``split_command.go`` and ``line_parsers.go``: flags are the leading
``--name[=value]`` words; arguments are JSON arrays, words, ``key=value`` pairs or the raw
rest of the line, depending on the instruction. Each syntax below fills ``node.args`` and
``node.json`` from the rest of the line; an instruction class names its own as ``syntax``.
"""
from __future__ import annotations

import re

from ..errors import DockerfileError

WHITESPACE = re.compile(r"[\t\v\f\r ]+")


def is_space(ch: str) -> bool:
    """Go's unicode.IsSpace, which unlike str.isspace excludes ASCII 0x1c-0x1f."""
    return ch.isspace() and not "\x1c" <= ch <= "\x1f"


def lstrip(text: str) -> str:
    """Remove leading whitespace as Go's TrimLeftFunc(unicode.IsSpace) does."""
    i = 0
    while i < len(text) and is_space(text[i]):
        i += 1
    return text[i:]


def split_command(line: str) -> tuple[str, list[str], str]:
    """Split an instruction line into (lower-case command, raw flags, argument text)."""
    parts = WHITESPACE.split(line.strip(), maxsplit=1)
    cmd = parts[0].lower()
    args, flags = "", []
    if len(parts) == 2:
        args, flags = extract_flags(parts[1])
    return cmd, flags, args.strip()


def extract_flags(line: str) -> tuple[str, list[str]]:
    """Leading ``--name[=value]`` words (quotes and \\ escapes removed) and the rest of the line."""
    words: list[str] = []
    word, quote, blank_ok, phase = "", "", False, "spaces"
    pos, n = 0, len(line)
    while pos <= n:
        ch = line[pos] if pos < n else ""
        if phase == "spaces":
            if pos == n:
                break
            if is_space(ch):
                pos += 1
                continue
            if not line.startswith("--", pos):
                return line[pos:], words
            phase = "word"
        if pos == n:
            if word != "--" and (blank_ok or word):
                words.append(word)
            break
        if phase == "word":
            if is_space(ch):
                phase = "spaces"
                if word == "--":
                    return line[pos:], words
                if blank_ok or word:
                    words.append(word)
                word, blank_ok = "", False
            elif ch in ("'", '"'):
                quote, blank_ok, phase = ch, True, "quote"
            elif ch == "\\" and pos + 1 == n:
                pass
            else:
                if ch == "\\":
                    pos += 1
                    ch = line[pos]
                word += ch
        else:
            if ch == quote:
                phase = "word"
            elif ch == "\\" and pos + 1 == n:
                phase = "word"
            else:
                if ch == "\\":
                    pos += 1
                    ch = line[pos]
                word += ch
        pos += 1
    return "", words


def parse_words(rest: str, escape: str) -> list[str]:
    """Split on unquoted whitespace, keeping quotes and escapes (ENV, LABEL, ARG words)."""
    words: list[str] = []
    word: list[str] = []
    phase, quote, blank_ok = "spaces", "", False
    pos, n = 0, len(rest)
    while pos < n:
        ch = rest[pos]
        if phase == "spaces":
            if is_space(ch):
                pos += 1
                continue
            phase = "word"
        if phase == "word":
            if is_space(ch):
                phase = "spaces"
                if blank_ok or word:
                    words.append("".join(word))
                word, blank_ok = [], False
                pos += 1
                continue
            if ch in ("'", '"'):
                quote, blank_ok, phase = ch, True, "quote"
            if ch == escape:
                if pos + 1 == n:
                    pos += 1
                    continue
                # Unquoted, the escape and the next character (even a quote) stay as written.
                word.append(ch)
                pos += 1
                ch = rest[pos]
            word.append(ch)
        else:
            if ch == quote:
                phase = "word"
            if ch == escape and quote != "'":
                if pos + 1 == n:
                    phase = "word"
                    pos += 1
                    continue
                word.append(ch)
                pos += 1
                ch = rest[pos]
            word.append(ch)
        pos += 1
    if phase != "spaces" and (blank_ok or word):
        words.append("".join(word))
    return words


def name_val(node, rest, escape):
    """ENV, LABEL: ``key=value`` pairs, or the legacy ``key value with spaces``."""
    words = parse_words(rest, escape)
    if not words:
        return
    if "=" not in words[0]:
        # The legacy form "ENV key value": the value is the rest of the line as written.
        parts = WHITESPACE.split(rest, maxsplit=1)
        if len(parts) < 2:
            raise DockerfileError(f"{node.cmd.upper()} must have two arguments")
        node.args = [(parts[0], parts[1])]
        return
    for word in words:
        if "=" not in word:
            raise DockerfileError(f"Syntax error - can't find = in {_quote(word)}. "
                                  "Must be of the form: name=value")
        key, _, value = word.partition("=")
        node.args.append((key, value))


def _quote(text: str) -> str:
    import json
    return json.dumps(text, ensure_ascii=False)


def name_or_name_val(node, rest, escape):
    """ARG: words, each ``name`` or ``name=default``."""
    node.args = parse_words(rest, escape)


def whitespace_delimited(node, rest, escape):
    """FROM, EXPOSE: words split on whitespace."""
    if rest:
        node.args = WHITESPACE.split(rest)


def one_string(node, rest, escape):
    """USER, WORKDIR, STOPSIGNAL, MAINTAINER: the rest of the line as one string."""
    if rest:
        node.args = [rest]


def _parse_json(rest: str) -> list[str] | None:
    """The strings of a JSON array, or None when ``rest`` isn't one (then it is shell form)."""
    rest = lstrip(rest)
    if not rest.startswith("["):
        return None
    import json
    try:
        value = json.loads(rest, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, list):
        return None
    if not all(isinstance(item, str) for item in value):
        raise DockerfileError("when using JSON array syntax, arrays must be comprised of strings only")
    return value


def _reject_constant(name):
    # Go's encoding/json has no NaN or Infinity: such text is not JSON, so it's shell form.
    raise ValueError(name)


def maybe_json(node, rest, escape):
    """RUN, CMD, ENTRYPOINT, SHELL: a JSON array (exec form), else the line (shell form)."""
    if not rest:
        return
    values = _parse_json(rest)
    if values is None:
        node.args = [rest]
    else:
        node.args, node.json = values, True


def maybe_json_to_list(node, rest, escape):
    """COPY, ADD, VOLUME: a JSON array, else words split on whitespace."""
    values = _parse_json(rest)
    if values is None:
        whitespace_delimited(node, rest, escape)
    else:
        node.args, node.json = values, True


def health(node, rest, escape):
    """HEALTHCHECK: the type word (CMD, NONE), then CMD's JSON-or-shell syntax."""
    parts = re.split(r"(\s+)", rest, maxsplit=1)
    if not parts[0]:
        return
    tail = parts[2] if len(parts) == 3 else ""
    maybe_json(node, tail, escape)
    node.args = [parts[0]] + node.args


def ignore(node, rest, escape):
    """Unknown instructions keep no arguments; the instructions layer refuses them."""
