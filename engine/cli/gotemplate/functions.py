"""The functions templates can call: Go's builtins (and, or, not, len, index, slice, print,
printf, println, html, js, urlquery, call, eq, ne, lt, le, gt, ge) and the ones Docker adds
(json, join, split, title, lower, upper, pad, truncate), with the stand-ins Docker uses when it
renders a table's header row.
"""
import html
from urllib.parse import quote_plus

from .evaluate import FuncError, Function
from .gofmt import sprint, sprintf, sprintln, value_text
from .values import GoNil, GoObject, Struct, to_json, truth, type_name


def _len(item) -> int:
    if item is None or isinstance(item, GoNil) and item.kind == "ptr":
        raise FuncError("len of nil pointer")
    if isinstance(item, GoNil):
        return 0
    if isinstance(item, str):
        return len(item.encode())
    if isinstance(item, (list, tuple, dict)) and not isinstance(item, Struct):
        return len(item)
    raise FuncError(f"len of type {type_name(item)}")


def _index(item, *indexes):
    if item is None:
        raise FuncError("index of untyped nil")
    for index in indexes:
        if item is None or isinstance(item, GoNil) and item.kind == "ptr":
            raise FuncError("index of nil pointer")
        if isinstance(item, (list, tuple, str, GoNil)) and not (
                isinstance(item, GoNil) and item.kind == "map"):
            sequence = [] if isinstance(item, GoNil) else item
            position = _int_index(index, len(sequence))
            if position >= len(sequence):
                raise FuncError(f"index out of range: {position}")
            item = sequence.encode()[position] if isinstance(sequence, str) else sequence[position]
        elif isinstance(item, (dict, GoNil)):
            if not isinstance(index, str):
                raise FuncError(f"value has type {type_name(index)}; should be string")
            zero = getattr(item, "zero", None)
            item = zero if isinstance(item, GoNil) else item.get(index, zero)
        else:
            raise FuncError(f"can't index item of type {type_name(item)}")
    return item


def _int_index(index, size: int) -> int:
    if index is None:
        raise FuncError("cannot index slice/array with nil")
    if not isinstance(index, int) or isinstance(index, bool):
        raise FuncError(f"cannot index slice/array with type {type_name(index)}")
    if index < 0 or index > size:
        raise FuncError(f"index out of range: {index}")
    return index


def _slice(item, *indexes):
    if item is None:
        raise FuncError("slice of untyped nil")
    if len(indexes) > 3:
        raise FuncError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str) and len(indexes) == 3:
        raise FuncError("cannot 3-index slice a string")
    if not isinstance(item, (list, tuple, str)):
        raise FuncError(f"can't slice item of type {type_name(item)}")
    bounds = [0, len(item)]
    for i, index in enumerate(indexes[:2]):
        bounds[i] = _int_index(index, len(item))
    if bounds[0] > bounds[1]:
        raise FuncError(f"invalid slice index: {bounds[0]} > {bounds[1]}")
    if isinstance(item, str):
        return item.encode()[bounds[0]:bounds[1]].decode(errors="replace")
    return list(item[bounds[0]:bounds[1]])


def _kind(value) -> str | None:
    """Go's basicKind: bool, int, float, string; "invalid" for nil; None for anything else."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return "invalid" if value is None else None


def _eq(first, *others) -> bool:
    if not others:
        raise FuncError("missing argument for comparison")
    k1 = _kind(first)
    for other in others:
        k2 = _kind(other)
        if k1 != k2:
            if first is not None and other is not None:
                raise FuncError("incompatible types for comparison")
            continue
        if k1 is None and isinstance(other, (list, tuple, dict, GoObject)):
            raise FuncError(f"non-comparable type {value_text(other)}: {type_name(other)}")
        if first == other:
            return True
    return False


def _lt(a, b) -> bool:
    ka, kb = _kind(a), _kind(b)
    if ka in (None, "invalid", "bool") or kb in (None, "invalid", "bool"):
        raise FuncError("invalid type for comparison")
    if ka != kb:
        raise FuncError("incompatible types for comparison")
    return a < b


def _le(a, b) -> bool:
    return _lt(a, b) or _eq(a, b)


def _call(fn, *args):
    if fn is None:
        raise FuncError("call of nil")
    if not callable(fn):
        raise FuncError(f"non-function {value_text(fn)} of type {type_name(fn)}")
    return fn(*args)


def _text(args) -> str:
    """Go's evalArgs: a lone string as it is, else fmt.Sprint of the arguments."""
    return args[0] if len(args) == 1 and isinstance(args[0], str) else sprint(list(args))


def _js(*args) -> str:
    special = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E",
               "&": "\\u0026", "=": "\\u003D"}
    out = []
    for c in _text(args):
        if c in special:
            out.append(special[c])
        elif c < " " or (not c.isascii() and not c.isprintable()):
            out.append(f"\\u{ord(c):04X}")
        else:
            out.append(c)
    return "".join(out)


def _html(*args) -> str:
    return html.escape(_text(args)).replace("&#x27;", "&#39;").replace("&quot;", "&#34;") \
        .replace("\0", "\ufffd")


def _urlquery(text: str) -> str:
    return quote_plus(text, safe="")


def _title(text: str) -> str:
    """strings.Title: capitalize the letter after each separator; leave the rest alone."""
    out, prev = [], " "
    for c in text:
        out.append(c.upper() if _separator(prev) else c)
        prev = c
    return "".join(out)


def _separator(c: str) -> bool:
    if c.isascii():
        return not (c.isalnum() or c == "_")
    if c.isalpha() or c.isdecimal():
        return False
    return c.isspace()


def _truncate(text: str, length: int) -> str:
    if length < 0:
        raise FuncError(f"runtime error: slice bounds out of range [:{length}]")
    data = text.encode()
    return text if len(data) < length else data[:length].decode(errors="ignore")


def _pad(text: str, prefix: int, suffix: int) -> str:
    return " " * prefix + text + " " * suffix if text else text


def _split(text: str, sep: str) -> list:
    return list(text) if sep == "" else text.split(sep)


_ANY = ("any",)
BUILTINS = {
    "and": Function(None, ("value",), "value", short_circuit=True),
    "or": Function(None, ("value",), "value", short_circuit=True),
    "not": Function(lambda v: not truth(v), ("value",)),
    "len": Function(_len, ("value",)),
    "index": Function(_index, ("value",), "value"),
    "slice": Function(_slice, ("value",), "value"),
    "call": Function(_call, ("value",), "value"),
    "print": Function(lambda *a: sprint(list(a)), (), "any"),
    "println": Function(lambda *a: sprintln(list(a)), (), "any"),
    "printf": Function(lambda f, *a: sprintf(f, list(a)), ("string",), "any"),
    "html": Function(_html, (), "any"),
    "js": Function(_js, (), "any"),
    "urlquery": Function(lambda *a: _urlquery(_text(a)), (), "any"),
    "eq": Function(_eq, ("value",), "value"),
    "ne": Function(lambda a, b: not _eq(a, b), ("value", "value")),
    "lt": Function(_lt, ("value", "value")),
    "le": Function(_le, ("value", "value")),
    "gt": Function(lambda a, b: not _le(a, b), ("value", "value")),
    "ge": Function(lambda a, b: not _lt(a, b), ("value", "value")),
}

# docker/cli templates.basicFunctions
DOCKER = {
    "json": Function(to_json, _ANY),
    "split": Function(_split, ("string", "string")),
    "join": Function(lambda items, sep: sep.join(items), ("[]string", "string")),
    "title": Function(_title, ("string",)),
    "lower": Function(str.lower, ("string",)),
    "upper": Function(str.upper, ("string",)),
    "pad": Function(_pad, ("string", "int", "int")),
    "truncate": Function(_truncate, ("string", "int")),
}

# docker/cli templates.HeaderFunctions: a table's header row shows column names untouched.
HEADER = {
    "json": Function(lambda v: v, ("string",)),
    "split": Function(lambda v, _: v, ("string", "string")),
    "join": Function(lambda v, _: v, ("string", "string")),
    "title": Function(lambda v: v, ("string",)),
    "lower": Function(lambda v: v, ("string",)),
    "upper": Function(lambda v: v, ("string",)),
    "truncate": Function(lambda v, _: v, ("string", "int")),
}
