"""Docker's Dockerfile shell lexer: variable expansion, quotes, escapes and word splitting.

Behaves like buildkit's ``frontend/dockerfile/shell`` lexer, quirks included::

    >>> process_word("${NAME:-world}, '$HOME'", {"NAME": ""})
    "world, $HOME"
    >>> process_words('a "b c" $V', ["V=d e"])
    ['a', 'b c', 'd', 'e']

Supported: ``$V ${V} ${V:-w} ${V-w} ${V:+w} ${V+w} ${V:?msg} ${V?msg} ${V#p} ${V##p}
${V%p} ${V%%p} ${V/p/r} ${V//p/r}``, single quotes (literal), double quotes (``$`` expands,
the escape character escapes only ``"``, ``$`` and itself), and the escape character (``\\``
or a backtick after ``# escape=```) outside quotes. ``env`` is a dict or a list of ``K=V``
strings (later duplicates win; a bare ``K`` is set to ""). Errors are ``DockerfileError``.
"""
from __future__ import annotations

import re

from ..errors import DockerfileError

# Special parameters of POSIX sh (XCU 2.5.2); $@ and friends expand to "" unless set.
_SPECIAL_PARAMS = frozenset("@*#?-$!0")
# Characters that are regex syntax in a Go or Python pattern and literal in a shell pattern.
_REGEX_META = frozenset("[]{}.+()|^$")
_GO_TEMPLATE = re.compile(r"\$(\$|\{(\w+)\}|(\w+))")


class ShellError(Exception):
    """Internal: a lexer failure, turned into DockerfileError at the public entry points."""


def _is_space(ch: str) -> bool:
    # Go's unicode.IsSpace, which unlike str.isspace excludes the ASCII separators 0x1c-0x1f.
    return ch.isspace() and not "\x1c" <= ch <= "\x1f"


def build_envs(env) -> dict[str, str]:
    """Turn a list of ``K=V`` (a bare ``K`` means "") or a mapping into a dict; later wins."""
    if env is None:
        return {}
    if isinstance(env, dict):
        return {str(k): str(v) for k, v in env.items()}
    out: dict[str, str] = {}
    for item in env:
        key, sep, value = str(item).partition("=")
        out[key] = value
    return out


class _Words:
    """Accumulates the result of process_words: unquoted expansions split on whitespace."""

    __slots__ = ("word", "words", "in_word")

    def __init__(self):
        self.word, self.words, self.in_word = "", [], False

    def add_char(self, ch: str) -> None:
        if _is_space(ch):
            if self.in_word and self.word:
                self.words.append(self.word)
                self.word, self.in_word = "", False
        else:
            self.add_raw(ch)

    def add_raw(self, text: str) -> None:
        self.word += text
        self.in_word = True

    def add_string(self, text: str) -> None:
        for ch in text:
            self.add_char(ch)

    def result(self) -> list[str]:
        if self.word:
            self.words.append(self.word)
            self.word, self.in_word = "", False
        return self.words


class Lexer:
    """One word's expansion; options mirror buildkit's Lex fields of the same meaning.

    raw_quotes keeps quote characters in the output, raw_escapes keeps escape characters,
    skip_process_quotes treats quotes as ordinary characters (heredoc bodies), and
    skip_unset_env leaves references to unset variables as written.
    """

    def __init__(self, escape: str = "\\", *, raw_quotes=False, raw_escapes=False,
                 skip_process_quotes=False, skip_unset_env=False):
        if escape not in ("\\", "`"):
            raise DockerfileError(f"invalid escape token '{escape}' does not match ` or \\")
        self.escape = escape
        self.raw_quotes, self.raw_escapes = raw_quotes, raw_escapes
        self.skip_process_quotes, self.skip_unset_env = skip_process_quotes, skip_unset_env

    def process(self, word: str, env) -> tuple[str, list[str], set[str], set[str]]:
        """Expand ``word``: (result, words, matched names, unmatched names)."""
        state = _State(self, word, build_envs(env))
        try:
            result, words = state.stop_on(None, self.raw_escapes)
        except ShellError as exc:
            raise DockerfileError(f"failed to process {_go_quote(word)}: {exc}") from None
        return result, words, state.matches, state.nonmatches


class _State:
    """Scanner position and bookkeeping for one call of Lexer.process."""

    def __init__(self, lex: Lexer, src: str, envs: dict[str, str]):
        self.lex, self.src, self.pos, self.envs = lex, src, 0, envs
        self.raw_escapes = lex.raw_escapes
        self.matches: set[str] = set()
        self.nonmatches: set[str] = set()

    def peek(self) -> str:
        return self.src[self.pos] if self.pos < len(self.src) else ""

    def next(self) -> str:
        if self.pos >= len(self.src):
            return ""
        ch = self.src[self.pos]
        self.pos += 1
        return ch

    def stop_on(self, stop: str | None, raw_escapes: bool) -> tuple[str, list[str]]:
        """Process until ``stop`` (consumed) or the end; None means the end of the word."""
        saved, self.raw_escapes = self.raw_escapes, raw_escapes
        try:
            return self._stop_on(stop)
        finally:
            self.raw_escapes = saved

    def _stop_on(self, stop):
        out: list[str] = []
        words = _Words()
        quotes = not self.lex.skip_process_quotes
        escape = self.lex.escape
        while self.pos < len(self.src):
            ch = self.src[self.pos]
            if stop is not None and ch == stop:
                self.pos += 1
                return "".join(out), words.result()
            if ch == "$":
                text = self.dollar()
                out.append(text)
                words.add_string(text)
            elif quotes and ch == "'":
                text = self.single_quote()
                out.append(text)
                words.add_raw(text)
            elif quotes and ch == '"':
                text = self.double_quote()
                out.append(text)
                words.add_raw(text)
            else:
                self.pos += 1
                if ch == escape:
                    if self.raw_escapes:
                        words.add_raw(ch)
                        out.append(ch)
                    # The escape character escapes the next one; at the end it vanishes.
                    ch = self.next()
                    if not ch:
                        break
                    words.add_raw(ch)
                else:
                    words.add_char(ch)
                out.append(ch)
        if stop is not None:
            raise ShellError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(out), words.result()

    def single_quote(self) -> str:
        # Everything up to the next ' is literal; a ' can't be escaped inside.
        self.pos += 1
        end = self.src.find("'", self.pos)
        if end < 0:
            raise ShellError("unexpected end of statement while looking for matching single-quote")
        body = self.src[self.pos:end]
        self.pos = end + 1
        return f"'{body}'" if self.lex.raw_quotes else body

    def double_quote(self) -> str:
        self.pos += 1
        out = ['"'] if self.lex.raw_quotes else []
        escape = self.lex.escape
        while True:
            ch = self.peek()
            if not ch:
                raise ShellError("unexpected end of statement while looking for matching double-quote")
            if ch == '"':
                self.pos += 1
                if self.lex.raw_quotes:
                    out.append('"')
                return "".join(out)
            if ch == "$":
                out.append(self.dollar())
                continue
            self.pos += 1
            if ch == escape:
                if self.raw_escapes:
                    out.append(ch)
                following = self.peek()
                if not following:
                    continue
                # Inside double quotes the escape only escapes ", $ and itself (sh rules).
                if following in ('"', "$", escape):
                    ch = self.next()
            out.append(ch)

    def name(self) -> str:
        """Read a variable name: letters, digits, _; or all digits; or one special parameter."""
        start = self.pos
        src = self.src
        if start < len(src):
            first = src[start]
            if first.isdecimal():
                while self.pos < len(src) and src[self.pos].isdecimal():
                    self.pos += 1
                return src[start:self.pos]
            if first in _SPECIAL_PARAMS:
                self.pos += 1
                return first
        while self.pos < len(src) and (src[self.pos].isalpha() or src[self.pos].isdecimal()
                                       or src[self.pos] == "_"):
            self.pos += 1
        return src[start:self.pos]

    def getenv(self, name: str) -> tuple[str, bool]:
        if name in self.envs:
            self.matches.add(name)
            return self.envs[name], True
        self.nonmatches.add(name)
        return "", False

    def dollar(self) -> str:
        self.pos += 1
        if self.peek() != "{":
            name = self.name()
            if not name:
                return "$"
            value, found = self.getenv(name)
            if not found and self.lex.skip_unset_env:
                return "$" + name
            return value
        self.pos += 1
        ch = self.peek()
        if not ch:
            raise ShellError("syntax error: missing '}'")
        if ch in "{}:":
            raise ShellError("syntax error: bad substitution")
        name = self.name()
        ch = self.next()
        if not ch:
            # Docker reports "unsupported modifier (\ufffd)" here; the missing brace is clearer.
            raise ShellError("syntax error: missing '}'")
        if ch == "}":
            value, found = self.getenv(name)
            if not found and self.lex.skip_unset_env:
                return "${" + name + "}"
            return value
        if ch == "/":
            return self.substitute(name)
        modifier, null_is_unset = ch or "\ufffd", False
        if ch == ":":
            null_is_unset = True
            ch = self.next()
            modifier += ch or "\ufffd"
        if modifier not in ("-", "+", "?", "#", "%") and not null_is_unset:
            raise ShellError(f"unsupported modifier ({modifier}) in substitution")
        return self.modify(name, ch, modifier, null_is_unset)

    def modify(self, name: str, op: str, modifier: str, null_is_unset: bool) -> str:
        """The ${NAME<op>word} forms: defaults, alternatives, required and trimming."""
        word = self._until("}", op in "#%" and op != "", "missing '}'")
        value, found = self.getenv(name)
        if self.lex.skip_unset_env and not found:
            return "${" + name + modifier + word + "}"
        empty = not found or (null_is_unset and value == "")
        if op == "-":
            return word if empty else value
        if op == "+":
            return "" if empty else word
        if op == "?":
            if not found:
                raise ShellError(f"{name}: {word or 'is not allowed to be unset'}")
            if null_is_unset and value == "":
                raise ShellError(f"{name}: {word or 'is not allowed to be empty'}")
            return value
        if op in ("%", "#"):
            greedy = word.startswith(op)
            if greedy:
                word = word[1:]
            if op == "%":
                return _trim_suffix(word, value, greedy)
            return _trim_prefix(word, value, greedy)
        raise ShellError(f"unsupported modifier ({modifier}) in substitution")

    def _until(self, stop: str, raw: bool, missing: str) -> str:
        """stop_on(stop, raw)'s word; at the end of the input, `syntax error: <missing>`."""
        try:
            return self.stop_on(stop, raw)[0]
        except ShellError:
            if not self.peek():
                raise ShellError(f"syntax error: {missing}") from None
            raise

    def substitute(self, name: str) -> str:
        """${NAME/pattern/replacement} (first match) and ${NAME//pattern/replacement} (all)."""
        replace_all = self.peek() == "/"
        if replace_all:
            self.pos += 1
        pattern = self._until("/", True, "missing '/' in ${}")
        replacement = self._until("}", True, "missing '}'")
        value, found = self.getenv(name)
        if self.lex.skip_unset_env and not found:
            return "${" + name + "/" + pattern + "/" + replacement + "}"
        regex = _pattern_regex(pattern, greedy=True, anchored=False)
        if replace_all:
            return regex.sub(lambda m: _go_expand(replacement, m), value)
        match = regex.search(value)
        if match:
            value = value[:match.start()] + replacement + value[match.end():]
        return value


def _go_quote(text: str) -> str:
    import json
    return json.dumps(text, ensure_ascii=False)


def _go_expand(template: str, match: re.Match) -> str:
    """Go's Regexp.Expand for ReplaceAllString: $$ is $, $N/${N} a group, others empty."""
    def one(m):
        if m.group(1) == "$":
            return "$"
        ref = m.group(2) or m.group(3)
        if ref.isdecimal() and int(ref) <= (match.re.groups or 0):
            return match.group(int(ref)) or ""
        return ""
    return _GO_TEMPLATE.sub(one, template)


def _pattern_regex(pattern: str, *, greedy: bool, anchored: bool) -> re.Pattern:
    """A shell wildcard pattern (* and ?, no brackets) as a regex, as buildkit converts it."""
    out = ["^"] if anchored else []
    star = ".*" if greedy else ".*?"
    i, n = 0, len(pattern)
    while i < n:
        tok = pattern[i]
        i += 1
        if tok == "*":
            out.append(star)
            continue
        if tok == "?":
            out.append(".")
            continue
        if tok == "\\":
            # "\}" and "\/" were escapes for ${...}; the backslash isn't part of the pattern.
            if i < n and pattern[i] in "}/":
                continue
            tok = pattern[i] if i < n else ""
            i += 1
            if tok not in ("*", "?", "\\"):
                raise ShellError(f"invalid pattern ({pattern}) in substitution: "
                                 f"invalid escape '\\{tok or chr(0xFFFD)}'")
            out.append("\\" + tok)
            continue
        out.append("\\" + tok if tok in _REGEX_META else tok)
    try:
        return re.compile("".join(out))
    except re.error as exc:
        raise ShellError(f"invalid pattern ({pattern}) in substitution: {exc}") from None


def _trim_prefix(pattern: str, value: str, greedy: bool) -> str:
    match = _pattern_regex(pattern, greedy=greedy, anchored=True).search(value)
    return value[match.end():] if match else value


def _reverse_pattern(pattern: str) -> str:
    """Reverse a pattern keeping escapes before the character they escape: a\\*c -> c\\*a."""
    parts, i = [], 0
    while i < len(pattern):
        if pattern[i] == "\\" and i != len(pattern) - 1:
            parts.append(pattern[i:i + 2])
            i += 2
        else:
            parts.append(pattern[i])
            i += 1
    return "".join(reversed(parts))


def _trim_suffix(pattern: str, value: str, greedy: bool) -> str:
    # A regex can't find the shortest rightmost match, so reverse both and trim a prefix.
    return _trim_prefix(_reverse_pattern(pattern), value[::-1], greedy)[::-1]


_DEFAULT = {}


def _lexer(escape: str) -> Lexer:
    lex = _DEFAULT.get(escape)
    if lex is None:
        lex = _DEFAULT[escape] = Lexer(escape)
    return lex


def process_word(word: str, env=None, *, escape: str = "\\") -> str:
    """Expand variables and remove quotes and escapes in ``word``, keeping its spaces."""
    return _lexer(escape).process(word, env)[0]


def process_words(word: str, env=None, *, escape: str = "\\") -> list[str]:
    """Expand ``word`` like process_word, then split it into words on unquoted whitespace."""
    return _lexer(escape).process(word, env)[1]


def process_word_with_matches(word: str, env=None, *, escape: str = "\\"
                              ) -> tuple[str, set[str], set[str]]:
    """Expand ``word``: (result, names found in env, names referenced but not found)."""
    result, _, matched, unmatched = _lexer(escape).process(word, env)
    return result, matched, unmatched
