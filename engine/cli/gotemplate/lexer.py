"""Go text/template's lexer: template text -> tokens, with Go's rules for `{{-`/`-}}` trim
markers, `{{/* comments */}}`, quoted, raw and character literals, numbers and fields.

    lex("a {{- .B | printf `%d` }}")  ->  TEXT 'a', LEFT, FIELD '.B', SPACE, PIPE, SPACE,
                                          IDENTIFIER 'printf', SPACE, RAW_STRING '`%d`', ...
"""
from .gofmt import quote

LEFT, RIGHT = "{{", "}}"
SPACE_CHARS = " \t\r\n"
KEYWORDS = {"block", "break", "continue", "define", "else", "end", "if", "range", "template",
            "with"}
# Where a field, variable or identifier may end (besides a space or the right delimiter).
TERMINATORS = ".,|:()"


class Token:
    """kind: TEXT LEFT RIGHT SPACE FIELD VARIABLE DOT IDENTIFIER KEYWORD BOOL NIL NUMBER
    CHAR_CONSTANT STRING RAW_STRING LEFT_PAREN RIGHT_PAREN PIPE DECLARE ASSIGN CHAR EOF;
    pos: its offset in the template text."""
    __slots__ = ("kind", "value", "pos")

    def __init__(self, kind: str, value: str, pos: int):
        self.kind, self.value, self.pos = kind, value, pos

    def describe(self) -> str:
        """The token as Go's parser names it in errors: EOF, <end>, "}" or "abcdefghij"..."""
        if self.kind == "EOF":
            return "EOF"
        if self.kind == "KEYWORD":
            return f"<{self.value}>"
        if len(self.value) > 10:
            return quote(self.value[:10]) + "..."
        return quote(self.value)


class LexError(Exception):
    def __init__(self, message: str, pos: int):
        super().__init__(message)
        self.pos = pos


def lex(text: str) -> list[Token]:
    """All tokens of `text`, ending with EOF; LexError (with its offset) on bad input."""
    return _Lexer(text).run()


def _is_alnum(c: str) -> bool:
    return c == "_" or c.isalpha() or c.isdigit()


class _Lexer:
    def __init__(self, text: str):
        self.text, self.pos, self.tokens, self.parens = text, 0, [], 0

    def emit(self, kind: str, start: int, end: int | None = None) -> None:
        end = self.pos if end is None else end
        self.tokens.append(Token(kind, self.text[start:end], start))

    def fail(self, message: str):
        raise LexError(message, self.pos)

    def run(self) -> list[Token]:
        text = self.text
        while True:
            start = text.find(LEFT, self.pos)
            if start < 0:
                if self.pos < len(text):
                    self.emit("TEXT", self.pos, len(text))
                break
            after = start + len(LEFT)
            trim = text.startswith("-", after) and after + 1 < len(text) \
                and text[after + 1] in SPACE_CHARS
            end = len(text[:start].rstrip(SPACE_CHARS)) if trim else start
            if end > self.pos:
                self.emit("TEXT", self.pos, end)
            self.pos = after + (2 if trim else 0)
            if text.startswith("/*", self.pos):
                self.comment(start)
                continue
            self.emit("LEFT", start, after)
            self.inside_action()
        self.tokens.append(Token("EOF", "", len(text)))
        return self.tokens

    def at_right(self) -> tuple[bool, bool]:
        """(at the right delimiter, with a trim marker)."""
        rest = self.text[self.pos:]
        if len(rest) >= 2 and rest[0] in SPACE_CHARS and rest[1] == "-" \
                and rest.startswith(RIGHT, 2):
            return True, True
        return rest.startswith(RIGHT), False

    def right(self, trim: bool) -> None:
        start = self.pos
        self.pos += len(RIGHT) + (2 if trim else 0)
        self.emit("RIGHT", start + (2 if trim else 0))
        if trim:
            while self.pos < len(self.text) and self.text[self.pos] in SPACE_CHARS:
                self.pos += 1

    def comment(self, start: int) -> None:
        end = self.text.find("*/", self.pos + 2)
        if end < 0:
            self.fail("unclosed comment")
        self.pos = end + 2
        delim, trim = self.at_right()
        if not delim:
            self.fail("comment ends before closing delimiter")
        self.pos += len(RIGHT) + (2 if trim else 0)
        if trim:
            while self.pos < len(self.text) and self.text[self.pos] in SPACE_CHARS:
                self.pos += 1

    def inside_action(self) -> None:
        text = self.text
        while True:
            delim, trim = self.at_right()
            if delim:
                if self.parens:
                    self.fail("unclosed left paren")
                self.right(trim)
                return
            if self.pos >= len(text):
                self.fail("unclosed action")
            start, c = self.pos, text[self.pos]
            self.pos += 1
            if c in SPACE_CHARS:
                self.pos = start
                self.space()
            elif c == "=":
                self.emit("ASSIGN", start)
            elif c == ":":
                if not text.startswith("=", self.pos):
                    self.fail("expected :=")
                self.pos += 1
                self.emit("DECLARE", start)
            elif c == "|":
                self.emit("PIPE", start)
            elif c == '"':
                self.quoted(start, '"', "unterminated quoted string", "STRING")
            elif c == "'":
                self.quoted(start, "'", "unterminated character constant", "CHAR_CONSTANT")
            elif c == "`":
                end = text.find("`", self.pos)
                if end < 0:
                    self.fail("unterminated raw quoted string")
                self.pos = end + 1
                self.emit("RAW_STRING", start)
            elif c == "$":
                self.field_or_variable(start, "VARIABLE")
            elif c == "." and not (self.pos < len(text) and text[self.pos].isdigit()):
                self.field_or_variable(start, "FIELD")
            elif c in "+-." or c.isdigit():
                self.number(start)
            elif _is_alnum(c):
                self.identifier(start)
            elif c == "(":
                self.parens += 1
                self.emit("LEFT_PAREN", start)
            elif c == ")":
                self.parens -= 1
                if self.parens < 0:
                    self.fail("unexpected right paren")
                self.emit("RIGHT_PAREN", start)
            elif c.isascii() and c.isprintable():
                self.emit("CHAR", start)
            else:
                self.fail(f"unrecognized character in action: {_rune(c)}")

    def space(self) -> None:
        start, text = self.pos, self.text
        while self.pos < len(text) and text[self.pos] in SPACE_CHARS:
            self.pos += 1
        # A space that begins " -}}" belongs to the trim-marked delimiter.
        if text.startswith("-" + RIGHT, self.pos):
            self.pos -= 1
            if self.pos == start:
                return
        self.emit("SPACE", start)

    def at_terminator(self) -> bool:
        if self.pos >= len(self.text):
            return True
        c = self.text[self.pos]
        return c in SPACE_CHARS or c in TERMINATORS or self.text.startswith(RIGHT, self.pos)

    def field_or_variable(self, start: int, kind: str) -> None:
        if self.at_terminator():
            self.emit("VARIABLE" if kind == "VARIABLE" else "DOT", start)
            return
        while self.pos < len(self.text) and _is_alnum(self.text[self.pos]):
            self.pos += 1
        if not self.at_terminator():
            self.fail(f"bad character {_rune(self.text[self.pos])}")
        self.emit(kind, start)

    def identifier(self, start: int) -> None:
        while self.pos < len(self.text) and _is_alnum(self.text[self.pos]):
            self.pos += 1
        if not self.at_terminator():
            self.fail(f"bad character {_rune(self.text[self.pos])}")
        word = self.text[start:self.pos]
        kind = ("KEYWORD" if word in KEYWORDS else "BOOL" if word in ("true", "false")
                else "NIL" if word == "nil" else "IDENTIFIER")
        self.emit(kind, start)

    def quoted(self, start: int, quote: str, unterminated: str, kind: str) -> None:
        text = self.text
        while True:
            if self.pos >= len(text) or text[self.pos] == "\n":
                self.fail(unterminated)
            c = text[self.pos]
            self.pos += 1
            if c == "\\":
                if self.pos >= len(text) or text[self.pos] == "\n":
                    self.fail(unterminated)
                self.pos += 1
            elif c == quote:
                break
        self.emit(kind, start)

    def number(self, start: int) -> None:
        text, self.pos = self.text, start
        if self.pos < len(text) and text[self.pos] in "+-":
            self.pos += 1
        digits = "0123456789_"
        exponent = "eE"
        if text.startswith(("0x", "0X"), self.pos):
            self.pos += 2
            digits, exponent = "0123456789abcdefABCDEF_", "pP"
        elif text.startswith(("0o", "0O", "0b", "0B"), self.pos):
            self.pos += 2
        self.accept(digits)
        if self.accept_one("."):
            self.accept(digits)
        if self.accept_one(exponent):
            self.accept_one("+-")
            self.accept("0123456789_")
        self.accept_one("i")
        if self.pos < len(text) and _is_alnum(text[self.pos]):
            self.pos += 1
            self.fail(f"bad number syntax: {quote(text[start:self.pos])}")
        self.emit("NUMBER", start)

    def accept(self, chars: str) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in chars:
            self.pos += 1

    def accept_one(self, chars: str) -> bool:
        if self.pos < len(self.text) and self.text[self.pos] in chars:
            self.pos += 1
            return True
        return False


def _rune(c: str) -> str:
    """Go's %#U: U+0040 '@'."""
    return f"U+{ord(c):04X} '{c}'" if c.isprintable() else f"U+{ord(c):04X}"
