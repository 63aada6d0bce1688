""".dockerignore patterns, matched as Docker's patternmatcher does.

    matcher = IgnoreMatcher(["*.pyc", "**/__pycache__", "data/", "!data/keep.txt"])
    matcher.ignored("pkg/__pycache__/x.pyc")    # True
    matcher.ignored("data/keep.txt")            # False: the last matching pattern wins

Patterns are cleaned like Go's filepath.Clean (a leading "/" is dropped), `*` and `?` never
match "/", `**` matches any number of directories, `[...]` is a character class, `\\` escapes.
A pattern that matches a parent directory matches everything below it.
"""
from __future__ import annotations

import posixpath
import re
from pathlib import Path

from ..errors import InvalidArgument


def read_ignore_file(context: Path, dockerfile_path: str | None = None) -> list[str]:
    """The patterns for a build: `<Dockerfile>.dockerignore` beside the Dockerfile wins over
    the context's `.dockerignore`, as BuildKit does. Comments and blank lines are dropped."""
    candidates = []
    if dockerfile_path:
        candidates.append(Path(context, dockerfile_path + ".dockerignore"))
    candidates.append(Path(context, ".dockerignore"))
    for path in candidates:
        try:
            text = path.read_text()
        except (FileNotFoundError, NotADirectoryError):
            continue
        return parse_ignore(text)
    return []


def parse_ignore(text: str) -> list[str]:
    """Lines of a .dockerignore file as patterns (comments `#...` and blanks removed)."""
    patterns = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        line = line.strip()
        if line:
            patterns.append(line)
    return patterns


def _clean(pattern: str) -> str:
    pattern = posixpath.normpath(pattern)
    pattern = pattern.lstrip("/")
    return "" if pattern == "." else pattern


def _to_regex(pattern: str) -> re.Pattern:
    """Translate one cleaned pattern into an anchored regex (patternmatcher's rules)."""
    out, i, n = ["^"], 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if i + 1 < n and pattern[i + 1] == "*":
                i += 1
                # `**/` also matches no directory at all; a trailing `**` matches everything.
                if i + 1 < n and pattern[i + 1] == "/":
                    i += 1
                    out.append("(?:.*/)?")
                else:
                    out.append(".*")
            else:
                out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1:end]
                if body.startswith(("!", "^")):
                    body = "^" + body[1:]
                # Go's classes know no nested sets or set operations: those chars are literal.
                for special in ("\\", "[", "&", "~", "|"):
                    body = body.replace(special, "\\" + special)
                out.append("[" + body + "]")
                i = end
        elif ch == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    out.append("$")
    return re.compile("".join(out), re.DOTALL)


class IgnoreMatcher:
    """Decides which context paths a .dockerignore (or COPY --exclude) leaves out."""

    def __init__(self, patterns: list[str]):
        self.rules: list[tuple[re.Pattern, bool]] = []
        for raw in patterns:
            exception = raw.startswith("!")
            body = _clean(raw[1:].strip() if exception else raw)
            if not body:
                continue
            try:
                self.rules.append((_to_regex(body), exception))
            except re.error as exc:                  # Go's filepath.ErrBadPattern
                raise InvalidArgument(f"syntax error in pattern {raw!r}: {exc}") from None
        self.has_exceptions = any(exc for _, exc in self.rules)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def ignored(self, rel: str) -> bool:
        """Whether the context-relative path `rel` ("a/b.txt") is left out."""
        if not self.rules:
            return False
        parents = _parents(rel)
        result = False
        for regex, exception in self.rules:
            if any(regex.match(p) for p in parents):
                result = not exception
        return result

    def may_keep_below(self, rel_dir: str) -> bool:
        """Whether an exception could bring back something under an ignored directory."""
        return self.has_exceptions


def _parents(rel: str) -> list[str]:
    """`a/b/c` -> [`a`, `a/b`, `a/b/c`]: a pattern matching a parent matches the path."""
    parts = rel.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
