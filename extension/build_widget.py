"""A live build: one row per Dockerfile step (status, seconds, layer size) and its RUN output.

Feed it the engine's build events (`BuildProgress.on_event` is the `on_event` callback); the
display updates as the build goes. Output is coalesced: pushed to the front end at most every
`flush_seconds`, and a line that arrives in between is flushed by a timer, so the newest line
of a long step (the one the user waits for) always shows. Steps are grouped by stage in
Dockerfile order, as BuildKit's progress does, however the build ran them.

Every build ends in a final state that the widget and its static copy show: done, failed
(at which step; the output opened there), or interrupted (by the user or a kernel shutdown).
"""
import threading
import time
from dataclasses import dataclass, field
from html import escape

import ipywidgets as widgets
from traitlets import Int, Unicode

from .htmlkit import NOWRAP, clip, human_size, instruction_html, live_or_stale
from .layers import StepNote
from .static import StaticSnapshot

STATUS_STYLE = {
    "waiting": "#9e9e9e", "running": "#1e88e5", "cached": "#607d8b", "done": "#2e7d32",
    "failed": "#c62828", "stopped": "#ef6c00",
}
FINAL = ("done", "failed", "interrupted")
MAX_LINES = 400     # per step in the widget; the full log stays with the engine's BuildError
TITLE_CHARS = 60    # accordion titles; the whole instruction heads the opened output


@dataclass
class Step:
    """One step as the widget shows it."""

    number: int
    instruction: str
    stage: str = ""
    line: int = 0
    status: str = "running"
    seconds: float | None = None
    size: int | None = None
    digest: str | None = None
    lines: list[str] = field(default_factory=list)


class BuildProgress(StaticSnapshot, widgets.VBox):
    """Steps table plus a collapsible output area per step that printed something."""

    status = Unicode("building", help="building, stopping, done, failed or interrupted.").tag(sync=True)
    steps_total = Int(0, help="Steps in the Dockerfile, as the engine counts them.").tag(sync=True)
    steps_done = Int(0, help="Steps finished, from cache or built.").tag(sync=True)
    failed_step = Int(0, help="The step that failed or was interrupted; 0 if none.").tag(sync=True)
    image_id = Unicode("", help="The built image's id once done.").tag(sync=True)
    error = Unicode("", help="Why the build failed or stopped, one line.").tag(sync=True)

    def __init__(self, cell: int | None = None, cell_id: str | None = None,
                 flush_seconds: float = 0.25, quiet: bool = False, **kw):
        self.cell, self.cell_id = cell, cell_id
        self.flush_seconds, self.quiet = flush_seconds, quiet
        self.steps: dict[int, Step] = {}
        self.tags: list[str] = []
        self.table = widgets.HTML()
        self.outputs = widgets.Accordion()
        self._output_html: dict[int, widgets.HTML] = {}
        self._dirty: set[int] = set()
        self._last_flush = 0.0
        self._timer: threading.Timer | None = None
        self._interrupted = ""              # "Build interrupted at step 2/2", for the head
        self._lock = threading.RLock()      # events come from the build, flushes from a timer
        super().__init__(children=[self.table, self.outputs], **kw)
        self.add_class("dy-build")
        self._render_table()

    # -- events ---------------------------------------------------------------------------
    def on_event(self, event: dict) -> None:
        """Apply one engine build event (step-start, cache-hit, output, step-done, build-*)."""
        with self._lock:
            if self.status in FINAL:
                return
            kind, number = event.get("type"), event.get("step")
            if event.get("total"):
                self.steps_total = int(event["total"])
            if kind == "step-start":
                self.steps[number] = Step(number, event.get("instruction", ""),
                                          str(event.get("stage") or ""), int(event.get("line") or 0))
            elif kind in ("cache-hit", "step-done") and number is not None:
                self._step_done(kind, number, event)
            elif kind == "output" and number is not None:
                self._add_output(number, event.get("line", ""))
                self._maybe_flush()         # coalesced: a timer flushes what waits
                return
            elif kind == "build-done":
                self.tags = list(event.get("tags") or [])
                self._finish("done", image_id=str(event.get("image") or ""))
                return
            elif kind == "build-failed":
                self.fail(str(event.get("error") or "build failed"), event.get("step"))
                return
            self._flush()

    def _step_done(self, kind: str, number: int, event: dict) -> None:
        step = self.steps.setdefault(number, Step(number, event.get("instruction", "")))
        cached = kind == "cache-hit" or event.get("cached") or step.status == "cached"
        step.status = "cached" if cached else "done"
        step.seconds = event.get("seconds", step.seconds)
        step.size = event.get("size", step.size)
        step.digest = event.get("digest", step.digest)
        self.steps_done = sum(s.status in ("cached", "done") for s in self.steps.values())

    # -- final states ---------------------------------------------------------------------
    def fail(self, error: str, step: int | None = None) -> None:
        """The build failed (at `step`, or the step that was running); open that step's output."""
        with self._lock:
            if self.status in FINAL:
                return
            number = step or self._running_step()
            self._finish("failed", error=error, step=number, step_status="failed")
            if number in self._output_html:
                self.outputs.selected_index = list(self._output_html).index(number)

    def interrupt(self, reason: str = "") -> str:
        """The build was interrupted; returns the one line that says so."""
        with self._lock:
            if self.status not in FINAL:
                number = self._running_step()
                where = f" at step {number}/{self.steps_total}" if number else ""
                self._interrupted = f"Build interrupted{where}{reason}"
                self._finish("interrupted", step=number, step_status="stopped",
                             error=f"{self._interrupted}; nothing was kept")
            return self.error

    def stopping(self) -> None:
        """Show that a stop was asked for and is under way."""
        with self._lock:
            if self.status == "building":
                self.status = "stopping"
                self._flush()

    def _running_step(self) -> int:
        running = [s.number for s in self.steps.values() if s.status == "running"]
        return max(running) if running else 0

    def _finish(self, status: str, *, error: str = "", image_id: str = "", step: int = 0,
                step_status: str = "") -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for s in self.steps.values():
            if s.status == "running" and step_status:
                s.status = step_status if s.number == step else "stopped"
        self.failed_step, self.error, self.image_id = step or 0, error, image_id
        self.status = status
        self._flush()

    def notes(self) -> list[StepNote]:
        """What this build says about each step, for the layer stack's provenance."""
        return [StepNote(s.instruction, self.cell, s.status == "cached", s.digest, self.cell_id)
                for _, s in sorted(self.steps.items())]

    # -- output -----------------------------------------------------------------------------
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
                                   f"Step {number}: {clip(step.instruction, TITLE_CHARS)}")
            if not self.quiet:
                self.outputs.selected_index = len(self.outputs.children) - 1
        self._dirty.add(number)

    def _maybe_flush(self) -> None:
        """Flush now if the last flush is old enough, else make sure a timer will."""
        if time.monotonic() - self._last_flush >= self.flush_seconds:
            self._flush()
        elif self._timer is None:
            self._timer = threading.Timer(self.flush_seconds, self._flush_pending)
            self._timer.daemon = True
            self._timer.start()

    def _flush_pending(self) -> None:
        with self._lock:
            self._timer = None
            if self._dirty:
                self._flush()

    def _flush(self) -> None:
        for number in sorted(self._dirty):
            self._output_html[number].value = self._output_area(self.steps[number])
        self._dirty.clear()
        self._last_flush = time.monotonic()
        self._render_table()

    @staticmethod
    def _output_area(step: Step) -> str:
        return (f"<div class='dy-step-instruction'>{instruction_html(step.instruction)}</div>"
                f"<pre style='max-height:240px;overflow:auto;margin:0'>"
                f"{escape(chr(10).join(step.lines))}</pre>")

    # -- drawing ----------------------------------------------------------------------------
    def _render_table(self) -> None:
        self.table.value = self._head_html(live=True) + self._steps_html()

    def _head_html(self, live: bool = False) -> str:
        total = self.steps_total or "?"
        count = f"({self.steps_done}/{total} steps)"
        name = escape(", ".join(self.tags))
        text = {
            "building": f"<b>Building…</b> {count}",
            "stopping": f"<b>Stopping the build…</b> {count}",
            "done": f"<b>Built</b> {name} {count}",
            "failed": (f"<b>Build failed at step {self.failed_step}/{total}</b>"
                       if self.failed_step else "<b>Build failed</b>"),
            # the cell's error line says the rest ("; nothing was kept"), as for a failure
            "interrupted": f"<b>{escape(self._interrupted)}</b>",
        }[self.status]
        if live and self.status in ("building", "stopping"):
            text = live_or_stale(text, "<b>Build stopped</b>: the kernel went away (restarted or "
                                       "shut down) before it finished; nothing was kept")
        return f"<div class='dy-build-head dy-build-{self.status}'>{text}</div>"

    def _steps_html(self) -> str:
        groups = stages_in_order(self.steps.values())
        rows = []
        for index, (stage, steps) in enumerate(groups):
            if len(groups) > 1:
                rows.append(f"<tr class='dy-stage'><th colspan='5' style='text-align:left'>"
                            f"{escape(stage_title(stage, index == len(groups) - 1))}</th></tr>")
            for position, step in enumerate(steps, 1):
                rows.append(self._step_row(step, position if len(groups) > 1 else step.number))
        return f"<table class='dy-steps'>{''.join(rows)}</table>"

    def _step_row(self, step: Step, position: int) -> str:
        colour = STATUS_STYLE.get(step.status, "#9e9e9e")
        status = step.status if step.status != "running" else live_or_stale(
            "running", f"<span style='color:{STATUS_STYLE['stopped']}'>stopped</span>")
        seconds = "" if step.seconds is None else f"{step.seconds:.1f}s"
        size = human_size(step.size) if step.size else ""
        return (f"<tr class='dy-step dy-step-{step.status}' data-step='{step.number}'>"
                f"<td style='{NOWRAP}'>{position}</td>"
                f"<td style='color:{colour};font-weight:bold'>{status}</td>"
                f"<td style='text-align:left'>{instruction_html(step.instruction)}</td>"
                f"<td style='{NOWRAP}'>{seconds}</td><td style='{NOWRAP}'>{size}</td></tr>")

    # -- the static copy --------------------------------------------------------------------
    def static_html(self) -> str:
        """The table and each step's output (the failing one opened), as plain HTML."""
        with self._lock:
            outputs = "".join(
                f"<details{' open' if n == self.failed_step else ''}><summary>Step {n}: "
                f"{escape(clip(self.steps[n].instruction, TITLE_CHARS))}</summary>"
                f"{self._output_area(self.steps[n])}</details>"
                for n in self._output_html)
            table = self._head_html() + self._steps_html()
            return f"<div class='dy-build'>{table}{outputs}</div>"

    def summary(self) -> str:
        count = f"{self.steps_done}/{self.steps_total or '?'} steps"
        if self.status == "done":
            return f"Built {', '.join(self.tags) or self.image_id[:19]} ({count})"
        if self.status == "failed":
            return f"Build failed: {(self.error.splitlines() or [''])[0]}"
        if self.status == "interrupted":
            return self.error
        return f"Building… ({count})"


def stages_in_order(steps) -> list[tuple[str, list[Step]]]:
    """[(stage name, its steps)] in Dockerfile order (by line), whatever order they ran in."""
    groups: dict[str, list[Step]] = {}
    for step in sorted(steps, key=lambda s: (s.line or 0, s.number)):
        groups.setdefault(step.stage, []).append(step)
    return sorted(groups.items(), key=lambda item: min(s.line or 0 for s in item[1]))


def stage_title(stage: str, last: bool) -> str:
    """'stage deps'; the engine names an unnamed stage by its index from 0: 'stage 2', or
    'final stage' for the last one (the image being built, unless --target says otherwise)."""
    if not stage.isdecimal():
        return f"stage {stage}"
    return "final stage" if last else f"stage {int(stage) + 1}"
