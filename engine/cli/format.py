"""`--format` for inspect: the common subset of Go templates, `{{.State.Status}}`, `{{json .Config}}`."""
import json
import re

from ..errors import InvalidArgument

ACTION = re.compile(r"\{\{\s*(json\s+)?(\.[\w.]*)\s*\}\}")


def go_text(value) -> str:
    """A value as Go's text/template prints it: [a b], map[k:v], true, <no value>."""
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "<no value>"
    if isinstance(value, list):
        return "[" + " ".join(map(go_text, value)) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_text(v)}" for k, v in sorted(value.items())) + "]"
    return str(value)


def render_format(template: str, value: dict) -> str:
    """Replace each `{{.A.B}}` (or `{{json .A}}`) with that field of `value`."""
    def field(match):
        as_json, path = match.group(1), match.group(2)
        current = value
        for part in filter(None, path.split(".")):
            if not isinstance(current, dict) or part not in current:
                raise InvalidArgument(f"template: can't evaluate field {part} in {path}")
            current = current[part]
        return json.dumps(current) if as_json else go_text(current)
    rendered = ACTION.sub(field, template)
    if "{{" in rendered:
        raise InvalidArgument(f"template: unsupported action in {template!r}")
    return rendered
