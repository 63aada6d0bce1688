"""`%image pull` and `%image push` as a live table: one row per layer, its state and a bar.

Feed it the engine's pull or push events (`TransferProgress.on_event` is the `on_event`
callback). The table is redrawn at most every `flush_seconds` (a 1 GiB layer sends thousands
of byte counts), and always when a layer changes state or the transfer ends. Every transfer
ends in a final state that the widget and its static copy show: done, failed or interrupted.
"""
import threading
import time
from dataclasses import dataclass
from html import escape

import ipywidgets as widgets
from traitlets import Unicode

from .htmlkit import NOWRAP, human_size, short_digest, table
from .static import StaticSnapshot

FINAL = ("done", "failed", "interrupted")
# engine layer status -> (the word Docker's CLI shows, its colour)
WORDS = {
    "pull": {"exists": ("Already exists", "#607d8b"), "downloading": ("Downloading", "#1e88e5"),
             "done": ("Pull complete", "#2e7d32")},
    "push": {"preparing": ("Preparing", "#9e9e9e"), "exists": ("Layer already exists", "#607d8b"),
             "mounted": ("Mounted from another repository", "#607d8b"), "uploading": ("Pushing", "#1e88e5"),
             "done": ("Pushed", "#2e7d32")},
}
HEAD_COLOUR = {"done": "#2e7d32", "failed": "#c62828", "interrupted": "#ef6c00"}


@dataclass
class LayerRow:
    digest: str
    status: str
    current: int = 0
    size: int = 0


class TransferProgress(StaticSnapshot, widgets.HTML):
    """The layers of one pull or push and where each one is."""

    status = Unicode("running", help="running, done, failed or interrupted.").tag(sync=True)
    digest = Unicode("", help="The manifest digest once done.").tag(sync=True)
    error = Unicode("", help="Why the transfer failed or stopped, one line.").tag(sync=True)

    def __init__(self, verb: str, name: str, flush_seconds: float = 0.2, **kw):
        self.verb, self.name, self.flush_seconds = verb, name, flush_seconds
        self.layers: dict[str, LayerRow] = {}
        self.notes: list[str] = []
        self.outcome = ""                   # "Downloaded newer image for busybox:1", ...
        self._last_draw = 0.0
        self._lock = threading.Lock()       # events may come from the engine's worker threads
        super().__init__(**kw)
        self.add_class("dy-transfer")
        self.value = self.static_html()

    def on_event(self, event: dict) -> None:
        """Apply one engine pull or push event."""
        with self._lock:
            kind = event["type"]
            if kind == "layer":
                self._layer(event)
            elif kind == "note":
                self.notes.append(event["message"])
            elif kind in ("pulled", "pushed"):
                self.digest = event.get("digest", "")
                self.outcome = (f"{event['status'].capitalize()}: {self.name}"
                                if kind == "pulled" else f"Pushed {self.name}")
            else:
                return
            self._draw(force=kind != "layer" or event["status"] not in ("downloading",
                                                                        "uploading"))

    def _layer(self, event: dict) -> None:
        key = event.get("layer") or event["digest"]
        row = self.layers.setdefault(key, LayerRow(key, event["status"]))
        row.status = event["status"]
        row.size = event.get("size") or row.size
        row.current = row.size if row.status == "done" else event.get("current", row.current)

    def finish(self, error: str = "", interrupted: bool = False) -> None:
        """The final state: done, or failed/interrupted with the one-line reason."""
        with self._lock:
            self.error = error
            self.status = "interrupted" if interrupted else "failed" if error else "done"
            self._draw(force=True)
        self.publish()

    def _draw(self, force: bool) -> None:
        now = time.monotonic()
        if force or now - self._last_draw >= self.flush_seconds:
            self._last_draw = now
            self.value = self.static_html()

    # -- what it shows ----------------------------------------------------------------------
    def summary(self) -> str:
        word = {"pull": "Pulled", "push": "Pushed"}[self.verb]
        if self.status == "done":
            return f"{word} {self.name} ({len(self.layers)} layers)"
        if self.status in ("failed", "interrupted"):
            return f"{self.verb.capitalize()} of {self.name} {self.status}: {self.error}"
        return f"{self.verb.capitalize()}ing {self.name}…"

    def static_html(self) -> str:
        head_colour = HEAD_COLOUR.get(self.status, "#1e88e5")
        head = (f"<div class='dy-transfer-head' style='color:{head_colour}'>"
                f"<b>{escape(self.summary())}</b></div>")
        rows = [self._row(layer) for layer in self.layers.values()]
        body = table(["Layer", "Status", "Progress"], rows, "dy-transfer-layers") if rows else ""
        extra = "".join(f"<div>{escape(line)}</div>" for line in
                        self.notes + [self.outcome] + ([f"Digest: {self.digest}"]
                                                       if self.digest else []) if line)
        return head + body + extra

    def _row(self, layer: LayerRow) -> str:
        word, colour = WORDS[self.verb].get(layer.status, (layer.status, "#455a64"))
        if self.status in ("failed", "interrupted") and layer.status in ("downloading",
                                                                         "uploading",
                                                                         "preparing"):
            word, colour = "Stopped", "#ef6c00"
        state = f"<span style='color:{colour};{NOWRAP}'>{escape(word)}</span>"
        return [f"<code>{escape(short_digest(layer.digest))}</code>", state, _bar(layer)]


def _bar(layer: LayerRow) -> str:
    if not layer.size:
        return ""
    done = min(1.0, layer.current / layer.size)
    return (f"<span style='{NOWRAP}'><span style='display:inline-block;width:120px;height:8px;"
            f"background:#e0e0e0;vertical-align:middle'><span style='display:block;height:8px;"
            f"width:{done * 100:.0f}%;background:#1e88e5'></span></span> "
            f"{human_size(layer.current)} / {human_size(layer.size)}</span>")
