"""A live build: one row per Dockerfile step (status, seconds, layer size) and RUN output.

Feed it the engine's build events (`BuildProgress.on_event` is the `on_event` callback); the
display updates as the build goes. Output is pushed to the front end at most every
`flush_seconds`, so a chatty RUN does not flood the kernel's message channel.
"""
import time
from dataclasses import dataclass, field
from html import escape

import ipywidgets as widgets
from traitlets import Int, Unicode

from .htmlkit import code, human_size
from .layers import StepNote

STATUS_STYLE = {
    "waiting": "#9e9e9e", "running": "#1e88e5", "cached": "#607d8b", "done": "#2e7d32",
    "failed": "#c62828",
}
MAX_LINES = 400     # per step in the widget; the full log stays with the engine's BuildError


@dataclass
class Step:
    """One step as the widget shows it."""

    number: int
    instruction: str
    status: str = "running"
    seconds: float | None = None
    size: int | None = None
    digest: str | None = None
    lines: list[str] = field(default_factory=list)


class BuildProgress(widgets.VBox):
    """Steps table plus a collapsible output area per step that printed something."""

    status = Unicode("building", help="building, done or failed.").tag(sync=True)
    steps_total = Int(0, help="Steps in the Dockerfile, as the engine counts them.").tag(sync=True)
    steps_done = Int(0, help="Steps finished, from cache or built.").tag(sync=True)
    image_id = Unicode("", help="The built image's id once done.").tag(sync=True)
    error = Unicode("", help="The failure's one-line message.").tag(sync=True)

    def __init__(self, cell: int | None = None, flush_seconds: float = 0.25, quiet: bool = False, **kw):
        self.cell, self.flush_seconds, self.quiet = cell, flush_seconds, quiet
        self.steps: dict[int, Step] = {}
        self.table = widgets.HTML()
        self.outputs = widgets.Accordion()
        self._output_html: dict[int, widgets.HTML] = {}
        self._dirty: set[int] = set()
        self._last_flush = 0.0
        super().__init__(children=[self.table, self.outputs], **kw)
        self.add_class("dy-build")
        self._render_table()

    def on_event(self, event: dict) -> None:
        """Apply one engine build event (step-start, cache-hit, output, step-done, build-*)."""
        kind = event.get("type")
        number = event.get("step")
        if event.get("total"):
            self.steps_total = int(event["total"])
        if kind == "step-start":
            self.steps[number] = Step(number, event.get("instruction", ""))
        elif kind in ("cache-hit", "step-done") and number is not None:
            step = self.steps.setdefault(number, Step(number, event.get("instruction", "")))
            cached = kind == "cache-hit" or event.get("cached") or step.status == "cached"
            step.status = "cached" if cached else "done"
            step.seconds = event.get("seconds", step.seconds)
            step.size = event.get("size", step.size)
            step.digest = event.get("digest", step.digest)
            self.steps_done = sum(s.status in ("cached", "done") for s in self.steps.values())
        elif kind == "output" and number is not None:
            self._add_output(number, event.get("line", ""))
            return self._maybe_flush()
        elif kind == "build-done":
            self.status, self.image_id = "done", str(event.get("image") or "")
        elif kind == "build-failed":
            self.status, self.error = "failed", str(event.get("error") or "build failed")
            for step in self.steps.values():
                if step.status == "running":
                    step.status = "failed"
        self._flush(force=True)

    def notes(self) -> list[StepNote]:
        """What this build says about each step, for the layer stack's provenance."""
        return [StepNote(s.instruction, self.cell, s.status == "cached", s.digest)
                for _, s in sorted(self.steps.items())]

    def _add_output(self, number: int, line: str) -> None:
        step = self.steps.setdefault(number, Step(number, ""))
        step.lines.append(line.rstrip("\n"))
        del step.lines[:-MAX_LINES]
        if number not in self._output_html:
            area = widgets.HTML()
            area.add_class("dy-build-output")
            self._output_html[number] = area
            self.outputs.children = (*self.outputs.children, area)
            self.outputs.set_title(len(self.outputs.children) - 1,
                                   f"Step {number}: {step.instruction[:60]}")
            if not self.quiet:
                self.outputs.selected_index = len(self.outputs.children) - 1
        self._dirty.add(number)

    def _maybe_flush(self) -> None:
        if time.monotonic() - self._last_flush >= self.flush_seconds:
            self._flush()

    def _flush(self, force: bool = False) -> None:
        for number in sorted(self._dirty):
            text = "\n".join(self.steps[number].lines)
            self._output_html[number].value = (
                f"<pre style='max-height:240px;overflow:auto;margin:0'>{escape(text)}</pre>")
        self._dirty.clear()
        self._last_flush = time.monotonic()
        self._render_table()

    def _render_table(self) -> None:
        rows = []
        for step in sorted(self.steps.values(), key=lambda s: s.number):
            colour = STATUS_STYLE.get(step.status, "#9e9e9e")
            seconds = "" if step.seconds is None else f"{step.seconds:.1f}s"
            rows.append(
                f"<tr class='dy-step dy-step-{step.status}'><td>{step.number}/{self.steps_total or '?'}</td>"
                f"<td style='color:{colour};font-weight:bold'>{step.status}</td>"
                f"<td style='text-align:left'>{code(step.instruction)}</td><td>{seconds}</td>"
                f"<td>{human_size(step.size) if step.size is not None else ''}</td></tr>")
        head = {"building": "Building…", "done": "Built", "failed": "Build failed"}[self.status]
        detail = f": {escape(self.error)}" if self.error else ""
        self.table.value = (f"<div class='dy-build-head'><b>{head}</b>{detail} "
                            f"({self.steps_done}/{self.steps_total or '?'} steps)</div>"
                            f"<table class='dy-steps'>{''.join(rows)}</table>")
