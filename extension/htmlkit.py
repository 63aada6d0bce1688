"""Small HTML helpers shared by the reprs and widgets: sizes, digests, tables, state colours."""
from html import escape

STATE_COLOURS = {
    "running": "#2e7d32", "created": "#1565c0", "restarting": "#ef6c00", "paused": "#6a1b9a",
    "exited": "#757575", "dead": "#c62828", "removed": "#c62828", "removing": "#c62828",
}


def human_size(n: int | float | None) -> str:
    """1536 -> '1.5 kB' (decimal units, like `docker images`)."""
    if n is None:
        return "-"
    n = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def short_digest(digest: str | None, length: int = 12) -> str:
    """'sha256:abcdef...' -> 'abcdef012345'."""
    if not digest:
        return ""
    return digest.split(":", 1)[-1][:length]


def table(headers: list[str], rows: list[list[str]], css_class: str) -> str:
    """A plain HTML table; cells are already-escaped HTML."""
    head = "".join(f"<th style='text-align:left'>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{c}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table class='{css_class}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def state_badge(state: str) -> str:
    """The container state as a coloured label (class dy-state-<state> for tests and CSS)."""
    colour = STATE_COLOURS.get(state, "#455a64")
    return (f"<span class='dy-state dy-state-{escape(state)}' style='color:white;"
            f"background:{colour};padding:1px 6px;border-radius:3px'>{escape(state)}</span>")


def code(text: str) -> str:
    return f"<code>{escape(text)}</code>"
