"""`--format` for inspect: the common subset of Go templates, `{{.State.Status}}`, `{{json .Config}}`."""
import json
import re

from ..errors import InvalidArgument

ACTION = re.compile(r"\{\{\s*(json\s+)?(\.[\w.]*)\s*\}\}")


def render_format(template: str, value: dict) -> str:
    """Replace each `{{.A.B}}` (or `{{json .A}}`) with that field of `value`."""
    def field(match):
        as_json, path = match.group(1), match.group(2)
        current = value
        for part in filter(None, path.split(".")):
            if not isinstance(current, dict) or part not in current:
                raise InvalidArgument(f"template: can't evaluate field {part} in {path}")
            current = current[part]
        if as_json:
            return json.dumps(current)
        if isinstance(current, bool):
            return str(current).lower()
        if current is None:
            return "<no value>"
        if isinstance(current, (dict, list)):
            return json.dumps(current)
        return str(current)
    rendered = ACTION.sub(field, template)
    if "{{" in rendered:
        raise InvalidArgument(f"template: unsupported action in {template!r}")
    return rendered
