"""A live base-image bootstrap (`%image bootstrap debian|python`): mmdebstrap's steps as they go.

Feed it the engine's bootstrap events (`BootstrapProgress.on_event` is the `on_event` callback).
"""
import time
from html import escape

import ipywidgets as widgets
from traitlets import Int, Unicode


class BootstrapProgress(widgets.HTML):
    """One line per step (the current one in bold), then the image id or the error."""

    status = Unicode("bootstrapping", help="bootstrapping, done or failed.").tag(sync=True)
    steps_done = Int(0, help="Steps mmdebstrap has reported.").tag(sync=True)
    image_id = Unicode("", help="The image's id once done.").tag(sync=True)
    error = Unicode("", help="The failure's one-line message.").tag(sync=True)

    def __init__(self, **kw):
        super().__init__(**kw)
        self.title, self.steps, self.started = "", [], time.monotonic()
        self.add_class("dy-bootstrap")

    def on_event(self, event: dict) -> None:
        """Apply one bootstrap event (bootstrap-start, -step, -done, -failed)."""
        kind = event.get("type")
        if kind == "bootstrap-start":
            packages = ", ".join(event.get("packages") or [])
            self.title = (f"{event['kind']} ({event['suite']})"
                          + (f" with {packages}" if packages else ""))
        elif kind == "bootstrap-step":
            self.steps.append(event["text"])
            self.steps_done = len(self.steps)
        elif kind == "bootstrap-done":
            self.image_id = event["image"]
            self.status = "done"
        elif kind == "bootstrap-failed":
            self.status, self.error = "failed", event.get("error", "")
        self._render()

    def _render(self) -> None:
        head = {"bootstrapping": "Bootstrapping", "done": "Bootstrapped",
                "failed": "Bootstrap failed"}[self.status]
        seconds = time.monotonic() - self.started
        lines = [escape(s) for s in self.steps[-12:]]
        if lines and self.status == "bootstrapping":
            lines[-1] = f"<b>{lines[-1]}</b>"
        tail = (f"<div>image <code>{escape(self.image_id[7:19])}</code></div>" if self.image_id
                else f"<div style='color:#c62828'>{escape(self.error)}</div>" if self.error
                else "")
        self.value = (f"<div><b>{head}</b> {escape(self.title)} ({seconds:.0f} s)</div>"
                      f"<div style='font-family:monospace;font-size:90%;color:#555'>"
                      f"{'<br>'.join(lines)}</div>{tail}")
