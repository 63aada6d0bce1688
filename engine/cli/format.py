"""`--format` as Docker's CLI applies it, over the Go template engine in gotemplate/.

inspect:  "" -> indented JSON array;  "json" -> compact JSON array;  TEMPLATE -> per object.
lists:    "table TEMPLATE" -> a header row and aligned columns;  "json" -> one JSON object a
          line;  TEMPLATE -> a line per row. `\\t` and `\\n` in a list format are a tab and a
          newline, as Docker reads them.
"""
import json

from ..errors import TemplateError
from .goview import go_view
from .gotemplate import HEADER, GoMap, Template
from .tabwriter import tabwrite


def parse(template: str) -> Template:
    """The template, or Docker's one-line error for one that doesn't parse."""
    try:
        return Template(template)
    except TemplateError as exc:
        raise TemplateError(f"template parsing error: {exc}") from None


def execute(template: Template, value) -> str:
    try:
        return template.execute(value)
    except TemplateError as exc:
        raise TemplateError(f"template parsing error: {exc}") from None


def render_format(template: str, value) -> str:
    """One inspect object through `template`, as `docker inspect --format` prints it."""
    return execute(parse(template), go_view(value))


def inspect_text(values: list, template: str | None) -> str:
    """`docker inspect` output for `values`; TemplateError (after the objects that rendered are
    returned in its `.text`) when the template fails on some of them."""
    if not template:
        return json.dumps(values, indent=4, ensure_ascii=False) + "\n"
    if template == "json":
        return json.dumps(values, separators=(",", ":"), ensure_ascii=False) + "\n"
    parsed = parse(template)
    out, errors = [], []
    for value in values:
        try:
            out.append(execute(parsed, go_view(value)) + "\n")
        except TemplateError as exc:
            errors.append(str(exc))
    text = "".join(out) or "\n"
    if errors:
        error = TemplateError("\n".join(errors))
        error.text = text
        raise error
    return text


class HeaderRow(GoMap):
    """What a table's header row is rendered from: column names by field (Docker's
    SubHeaderContext), `.Label "com.example.x"` naming its column "x"."""

    def Label(self, name: str) -> str:     # noqa: N802 (a Go method name)
        return name.split(".")[-1].replace("-", " ").replace("_", " ")


def list_template(source: str) -> tuple[bool, str]:
    """(is a table, the template text) of a list verb's --format, as Docker reads it."""
    table = source.startswith("table")
    text = source[len("table"):] if table else "{{json .}}" if source == "json" else source
    return table, text.strip(" ").replace("\\t", "\t").replace("\\n", "\n")


def render_rows(source: str, rows: list, headers: dict) -> str:
    """`rows` (GoObjects) as a list verb prints them for `source` (see the module's doc)."""
    table, text = list_template(source)
    template = parse(text)
    body = "".join(execute(template, row) + "\n" for row in rows)
    if not table:
        return body
    header = template.execute(HeaderRow(headers, zero=""), functions=HEADER, partial=True)
    return tabwrite(header + "\n" + body)
