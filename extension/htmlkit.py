"""Small HTML helpers shared by the reprs and widgets: sizes, digests, tables, state colours."""
from datetime import datetime
from html import escape

NOWRAP = "white-space:nowrap"        # "10.2 kB" and "0.4s" must not break across lines

STATE_COLOURS = {
    "running": "#2e7d32", "created": "#1565c0", "restarting": "#ef6c00", "paused": "#6a1b9a",
    "exited": "#757575", "dead": "#c62828", "removed": "#c62828", "removing": "#c62828",
    "stopping": "#ef6c00",
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


def state_badge(state: str, text: str | None = None) -> str:
    """The container state as a coloured label (class dy-state-<state> for tests and CSS)."""
    colour = STATE_COLOURS.get(state, "#455a64")
    return (f"<span class='dy-state dy-state-{escape(state)}' style='color:white;"
            f"background:{colour};padding:1px 6px;border-radius:3px;{NOWRAP}'>"
            f"{escape(text or state)}</span>")


def code(text: str) -> str:
    return f"<code>{escape(text)}</code>"


def clip(text: str, limit: int) -> str:
    """The first line of `text`, cut at a word boundary to at most `limit` characters, with '…'.

    clip("RUN pip install numpy pandas", 20) -> 'RUN pip install…'
    """
    lines = (text or "").strip().splitlines() or [""]
    first = lines[0].rstrip(" \\")
    if len(first) <= limit and len(lines) == 1:
        return first
    cut = first[:limit].rsplit(" ", 1)[0] if len(first) > limit else first
    return (cut or first[:limit]).rstrip() + "…"


def instruction_html(text: str) -> str:
    """A Dockerfile instruction as code, whole (multi-line RUNs too), with itself as tooltip."""
    return (f"<code class='dy-instruction' title='{escape(text)}' "
            f"style='white-space:pre-wrap'>{escape(text)}</code>")


def local_time(moment: datetime | None) -> str:
    """'14:03:07' in the kernel's local time, or '' for no time."""
    return moment.astimezone().strftime("%H:%M:%S") if moment else ""


# ipywidgets marks a view whose kernel went away (a restart, a shutdown) with this class. The
# kernel can't say so itself: the front end drops its last messages once a restart began.
STALE_STYLE = ("<style>.dy-if-stale{display:none}"
               ".jupyter-widgets-disconnected .dy-if-stale{display:inline}"
               ".jupyter-widgets-disconnected .dy-if-live{display:none}</style>")


def live_or_stale(live_html: str, stale_html: str) -> str:
    """`live_html`, replaced by `stale_html` in a view whose kernel is gone."""
    return (f"{STALE_STYLE}<span class='dy-if-live'>{live_html}</span>"
            f"<span class='dy-if-stale'>{stale_html}</span>")
