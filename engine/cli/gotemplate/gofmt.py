"""Go's fmt for template values: Sprint, Sprintln, Sprintf with Go's verbs, flags and error
strings, and strconv.Quote.

    sprintf("%-6s|%5.2f|%q|%d", ["ab", 3.14159, "x", "y"])  ->  'ab    | 3.14|"x"|%!d(string=y)'
    sprint(["a", 1, 2, "b"])                                 ->  'a1 2b'
"""
import decimal
import re

from .values import GoNil, GoObject, Struct, sorted_items, type_name

_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
            "\v": "\\v", "\\": "\\\\", '"': '\\"'}
_SPEC = re.compile(r"%([-+# 0]*)(\[\d+\])?(\*|\d+)?(?:\.(\[\d+\])?(\*|\d*))?(\[\d+\])?(.?)", re.S)


def quote(text: str, ascii_only: bool = False) -> str:
    """strconv.Quote: a double-quoted Go string literal, escapes as Go writes them."""
    out = []
    for c in text:
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif (c.isprintable() or c == " ") and not (ascii_only and not c.isascii()):
            out.append(c)
        elif ord(c) < 0x80:
            out.append(f"\\x{ord(c):02x}")
        elif ord(c) < 0x10000:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(f"\\U{ord(c):08x}")
    return '"' + "".join(out) + '"'


def value_text(value) -> str:
    """fmt.Sprint of one value: %v."""
    return _Formatter([]).format(value, "v", _Flags())


def sprint(args: list) -> str:
    """fmt.Sprint: spaces between operands when neither is a string."""
    out, prev_string = [], False
    for i, arg in enumerate(args):
        is_string = isinstance(arg, str)
        if i > 0 and not is_string and not prev_string:
            out.append(" ")
        out.append(value_text(arg))
        prev_string = is_string
    return "".join(out)


def sprintln(args: list) -> str:
    """fmt.Sprintln: spaces between all operands, and a newline."""
    return " ".join(value_text(a) for a in args) + "\n"


def sprintf(fmt: str, args: list) -> str:
    """fmt.Sprintf with Go's verbs; mistakes print as Go prints them (%!d(string=x))."""
    return _Formatter(list(args)).sprintf(fmt)


class _Flags:
    def __init__(self, flags: str = "", width=None, precision=None):
        self.minus, self.plus, self.sharp = "-" in flags, "+" in flags, "#" in flags
        self.space, self.zero = " " in flags, "0" in flags and "-" not in flags
        self.width, self.precision = width, precision


class _Formatter:
    def __init__(self, args: list):
        self.args, self.next_arg, self.reordered = args, 0, False

    def sprintf(self, fmt: str) -> str:
        out, pos = [], 0
        while pos < len(fmt):
            i = fmt.find("%", pos)
            if i < 0:
                out.append(fmt[pos:])
                break
            out.append(fmt[pos:i])
            m = _SPEC.match(fmt, i)
            pos = m.end()
            out.append(self.directive(m))
        if not self.reordered and self.next_arg < len(self.args):
            extra = ", ".join("<nil>" if a is None else f"{type_name(a)}={value_text(a)}"
                              for a in self.args[self.next_arg:])
            out.append(f"%!(EXTRA {extra})")
        return "".join(out)

    def directive(self, m) -> str:
        flags, index1, width, index2, precision, index3, verb = m.groups()
        if verb == "%":
            return "%"
        self.index(index1)
        bad = ""
        if width == "*":
            width = self.star()
            if width is None:
                bad += "%!(BADWIDTH)"
            elif width < 0:
                flags, width = flags + "-", -width
        width = int(width) if width not in (None, "") else None
        self.index(index2)
        if precision == "*":
            precision = self.star()
            if precision is None or precision < 0:
                bad, precision = bad + "%!(BADPREC)", None
        elif precision is not None:
            precision = int(precision or 0)
        self.index(index3)
        if not verb:
            return bad + "%!(NOVERB)"
        if self.next_arg >= len(self.args):
            return bad + f"%!{verb}(MISSING)"
        arg = self.args[self.next_arg]
        self.next_arg += 1
        return bad + self.format(arg, verb, _Flags(flags, width, precision))

    def index(self, text) -> None:
        if text:
            self.next_arg, self.reordered = int(text[1:-1]) - 1, True

    def star(self):
        if self.next_arg < len(self.args) and type(self.args[self.next_arg]) is int:
            self.next_arg += 1
            return self.args[self.next_arg - 1]
        self.next_arg += 1
        return None

    # -- one operand ------------------------------------------------------------------------
    def format(self, arg, verb: str, f: _Flags, depth: int = 0) -> str:
        if verb == "T":
            return _pad(type_name(arg), f)
        if arg is None:
            return _pad("<nil>", f) if verb == "v" else f"%!{verb}(<nil>)"
        if isinstance(arg, GoNil):
            text = {"slice": "[]", "map": "map[]"}.get(arg.kind, "<nil>")
            return _pad(text, f)
        if isinstance(arg, bool):
            return _pad("true" if arg else "false", f) if verb in "tv" else _bad(verb, arg)
        if isinstance(arg, int):
            return _integer(arg, verb, f)
        if isinstance(arg, float):
            return _float(arg, verb, f)
        if isinstance(arg, str):
            return _string(arg, verb, f)
        if isinstance(arg, GoObject):
            arg = Struct(arg.json_fields())
            return ("&" if depth == 0 else "") + self.format(arg, verb, f, depth + 1)
        if isinstance(arg, Struct):
            parts = [(f"{k}:" if f.plus else "") + self.format(v, verb, f, depth + 1)
                     for k, v in arg.items()]
            return "{" + " ".join(parts) + "}"
        if isinstance(arg, dict):
            parts = [self.format(k, verb, f, depth + 1) + ":" + self.format(v, verb, f, depth + 1)
                     for k, v in sorted_items(arg)]
            return "map[" + " ".join(parts) + "]"
        if isinstance(arg, (list, tuple)):
            return "[" + " ".join(self.format(v, verb, f, depth + 1) for v in arg) + "]"
        return _pad(str(arg), f)


def _bad(verb: str, arg) -> str:
    return f"%!{verb}({type_name(arg)}={value_text(arg)})"


def _pad(text: str, f: _Flags, zero_ok: bool = True) -> str:
    width = f.width or 0
    n = width - len(text)
    if n <= 0:
        return text
    if f.minus:
        return text + " " * n
    if f.zero and zero_ok:
        sign = text[0] if text[:1] in "+- " and len(text) > 1 else ""
        return sign + "0" * n + text[len(sign):]
    return " " * n + text


def _sign(negative: bool, f: _Flags) -> str:
    return "-" if negative else "+" if f.plus else " " if f.space else ""


def _integer(n: int, verb: str, f: _Flags) -> str:
    if verb == "c":
        return _pad(chr(n), f)
    if verb == "q":
        return _pad("'" + quote(chr(n))[1:-1].replace("\\\"", '"') + "'", f)
    if verb == "U":
        text = f"U+{n:04X}"
        return _pad(text + (f" '{chr(n)}'" if f.sharp and chr(n).isprintable() else ""), f)
    base = {"d": 10, "v": 10, "b": 2, "o": 8, "O": 8, "x": 16, "X": 16}.get(verb)
    if base is None:
        return _bad(verb, n)
    digits = {10: "{:d}", 2: "{:b}", 8: "{:o}", 16: "{:x}"}[base].format(abs(n))
    if verb == "X":
        digits = digits.upper()
    if f.precision is not None:
        digits = "" if f.precision == 0 and n == 0 else digits.rjust(f.precision, "0")
    prefix = "0o" if verb == "O" else ""
    if f.sharp:
        prefix = {2: "0b", 8: "0" if not digits.startswith("0") else "", 16: "0x"}.get(base, "")
        prefix = prefix.upper() if verb == "X" else prefix
    return _pad(_sign(n < 0, f) + prefix + digits, f, zero_ok=f.precision is None)


def _float(x: float, verb: str, f: _Flags) -> str:
    if verb not in "veEfFgG":
        return _bad(verb, x)
    if x != x or x in (float("inf"), float("-inf")):
        return _pad("NaN" if x != x else "-Inf" if x < 0 else "+Inf", f, zero_ok=False)
    precision = f.precision
    if verb in "vgG" and precision is None:
        text = _shortest(abs(x))
    elif verb in "gG":
        text = f"{abs(x):.{precision or 1}g}"
    else:
        text = f"{abs(x):.{6 if precision is None else precision}{verb.lower()}}"
    if verb in "EG":
        text = text.upper()
    return _pad(_sign(x < 0 or (x == 0 and str(x).startswith("-")), f) + text, f)


def _shortest(x: float) -> str:
    """Go's %v of a float64: the shortest digits that read back the same, with an exponent
    below 1e-4 and from 1e+06 (1e+06, 123456, 1.5e-05)."""
    sign, digits, exponent = decimal.Decimal(repr(x)).normalize().as_tuple()
    digits = "".join(map(str, digits)).rstrip("0") or "0"
    point = len(digits) + exponent if digits != "0" else 1
    exp = point - 1
    if exp < -4 or exp >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return "0." + "0" * -point + digits
    if point >= len(digits):
        return digits + "0" * (point - len(digits))
    return digits[:point] + "." + digits[point:]


def _string(s: str, verb: str, f: _Flags) -> str:
    if f.precision is not None and verb in "svqxX":
        s = s[:f.precision]
    if verb in "sv":
        return _pad(s, f)
    if verb == "q":
        if f.sharp and "`" not in s and all(c.isprintable() or c == "\t" for c in s):
            return _pad("`" + s + "`", f)
        return _pad(quote(s, ascii_only=f.plus), f)
    if verb in "xX":
        data = s.encode()
        sep = " " if f.space else ""
        pieces = [("0x" if f.sharp and (f.space or i == 0) else "") + format(b, "02x")
                  for i, b in enumerate(data)]
        text = sep.join(pieces)
        return _pad(text.upper() if verb == "X" else text, f)
    return _bad(verb, s)

