"""How Python values stand for Go values in templates, and what Go makes of them: their type
names, truth, `%v` text and JSON.

    str, int, float, bool       string, int, float64, bool
    list, tuple                 a slice:   [a b]
    dict                        a map:     map[a:1 b:2]  (keys sorted, as Go prints and ranges)
    GoMap(d, zero="")           a map whose missing keys `index` as ""  (map[string]string)
    Struct(d)                   a struct:  {v1 v2}, fields in order; a missing field is an error
    GoNil("slice"|"map"|"ptr")  a typed nil: [] , map[] , <nil>
    None                        nil, or no value: <no value> where a template prints it
    GoObject                    a struct whose Go methods (capitalized) are its fields
"""
import json
import math


class Struct(dict):
    """A JSON object that stands for a Go struct: its keys are its fields, in order; `aliases`
    name fields whose Go name differs from their JSON key ({"ID": "Id"}); `hidden` ones are
    left out of JSON (Go's omitempty on a zero value)."""

    go_type = "struct"
    aliases: dict = {}
    hidden: frozenset = frozenset()


class GoMap(dict):
    """A Go map whose element type's zero value is `zero` (what `index` gives for a missing key)."""

    def __init__(self, items=(), zero=None):
        super().__init__(items)
        self.zero = zero


class GoNil:
    """A typed nil: a nil slice prints `[]`, a nil map `map[]`, a nil pointer `<nil>`; `omit`
    marks one the JSON leaves out, so a field of it is a missing key (as State.Health is
    without a healthcheck)."""

    def __init__(self, kind: str, name: str = "", omit: bool = False):
        self.kind, self.name, self.omit = kind, name, omit

    def __repr__(self):
        return f"GoNil({self.kind!r}, {self.name!r})"

    def __eq__(self, other):
        return isinstance(other, GoNil) and other.kind == self.kind

    def __hash__(self):
        return hash(self.kind)


class GoObject:
    """A value whose capitalized methods are the fields a template sees, like the contexts
    Docker's formatter hands to templates; `json .` shows what the zero-argument ones return."""

    go_type = "*struct"

    def go_method(self, name: str):
        if not name[:1].isupper():
            return None
        method = getattr(type(self), name, None)
        return getattr(self, name) if callable(method) else None

    def json_fields(self) -> dict:
        fields = {}
        for name in sorted(dir(type(self))):
            method = self.go_method(name)
            if method and method.__code__.co_argcount == 1:        # just self
                fields[name] = method()
        return fields


def go_method(value, name: str):
    """The Go method `name` of `value` (a GoObject, or a map type that defines one), or None."""
    if isinstance(value, GoObject):
        return value.go_method(name)
    method = getattr(type(value), name, None) if name[:1].isupper() else None
    return getattr(value, name) if callable(method) and not isinstance(value, type) else None


def type_name(value) -> str:
    """Go's name for the type of `value`, as errors and %T show it."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, GoNil):
        return {"slice": "[]string", "map": "map[string]string"}.get(value.kind, "*struct")
    if isinstance(value, (GoObject, Struct)):
        return value.go_type
    if isinstance(value, dict):
        return "map[string]string" if getattr(value, "zero", None) == "" \
            else "map[string]interface {}"
    if isinstance(value, (list, tuple)):
        return "[]string" if value and all(isinstance(v, str) for v in value) \
            else "[]interface {}"
    return type(value).__name__


def truth(value) -> bool:
    """Go's template truth: false, 0, nil and empty slices, maps and strings are false; a
    struct is always true."""
    if value is None or isinstance(value, GoNil):
        return False
    if isinstance(value, (Struct, GoObject)):
        return True
    if isinstance(value, (bool, int, float)):
        return value != 0
    if isinstance(value, (str, list, tuple, dict)):
        return len(value) > 0
    return True


def sorted_items(mapping: dict) -> list:
    """A map's items in Go's order (fmtsort): numbers numerically, strings by bytes."""
    return sorted(mapping.items(), key=lambda kv: (not isinstance(kv[0], (int, float)),
                                                   kv[0] if isinstance(kv[0], (int, float)) else
                                                   str(kv[0]).encode()))


def to_json(value) -> str:
    """Docker's `json` function: Go's encoding/json, compact, without HTML escaping."""
    text = json.dumps(_jsonable(value), ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False, default=_unjsonable)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _jsonable(value):
    if isinstance(value, GoNil):
        return None
    if isinstance(value, GoObject):
        return {k: _jsonable(v) for k, v in value.json_fields().items()}
    if isinstance(value, Struct):
        return {k: _jsonable(v) for k, v in value.items() if k not in value.hidden}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in sorted_items(value)}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and math.isfinite(value) and value == int(value) \
            and abs(value) < 1e21:
        return int(value)       # Go writes 1000000, not 1000000.0
    return value


def _unjsonable(value):
    raise TypeError(f"json: unsupported type: {type_name(value)}")
