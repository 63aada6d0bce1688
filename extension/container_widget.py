"""A live container panel: identity, coloured state, uptime, network, CPU/memory, logs, buttons.

A daemon thread polls the container every `refresh_seconds` while it runs. The thread ends when
the container stops or is removed, and when the widget is closed; Restart starts a new one.
A button shows its effect at once ("stopping…") and acts in a worker thread, so the kernel
stays free; the panel then says how it ended ("exited (137) at 14:03:07"). When the container
is gone the panel keeps its last live view (facts, last log lines), without dead links.
"""
import threading
import time
from datetime import datetime, timezone
from html import escape

import ipywidgets as widgets
from traitlets import Bool, Float, Int, Unicode

from dockyard.engine.errors import DockyardError, NotFound

from . import container_info as info
from .htmlkit import code, human_size, live_or_stale, local_time, state_badge
from .static import StaticSnapshot

THREAD_PREFIX = "dockyard-watch-"
ACTING = {"Stop": "stopping", "Restart": "restarting", "Remove": "removing"}
HEALTH_COLOURS = {"healthy": "#2e7d32", "unhealthy": "#c62828", "starting": "#ef6c00"}


class ContainerView(StaticSnapshot, widgets.VBox):
    """Widget for one container; the buttons act on the engine and the display follows."""

    container_id = Unicode(help="The container's full id.").tag(sync=True)
    container_name = Unicode(help="The container's name.").tag(sync=True)
    state = Unicode("unknown", help="created, running, stopping, exited, ... or removed.").tag(sync=True)
    exit_code = Int(None, allow_none=True, help="The exit code once the container exited.").tag(sync=True)
    health = Unicode("", help="The health check's status: starting, healthy, unhealthy; '' without one.").tag(sync=True)
    cpu_percent = Float(None, allow_none=True, help="CPU use since the last poll, % of one CPU.").tag(sync=True)
    memory_bytes = Int(None, allow_none=True, help="Memory use from the container's cgroup.").tag(sync=True)
    polling = Bool(False, help="Whether the poll thread is running.").tag(sync=True)
    message = Unicode("", help="The last action's error, one line.").tag(sync=True)

    def __init__(self, container, *, log_tail: int = 10, refresh_seconds: float = 1.0,
                 stop_timeout: int = 2, autostart: bool = True, **kwargs):
        self.container, self.log_tail = container, log_tail
        self.refresh_seconds, self.stop_timeout = refresh_seconds, stop_timeout
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._worker: threading.Thread | None = None
        self._acting = ""                   # "stopping" etc. while a button's action runs
        self._attrs: dict = {}
        self._ended = ""                    # "at 14:03:07" once exited or removed
        self._published = self._published_by_cell = None
        self._cpu_sample: tuple[float, int] | None = None
        self.header, self.usage, self.logs = widgets.HTML(), widgets.HTML(), widgets.HTML()
        self.buttons = {name: widgets.Button(description=name, icon=icon, tooltip=f"{name} the container")
                        for name, icon in (("Stop", "stop"), ("Restart", "refresh"), ("Remove", "trash"))}
        for name, button in self.buttons.items():
            button.add_class(f"dy-{name.lower()}")
            button.on_click(lambda _b, action=name: self.act(action, wait=False))
        super().__init__(children=[self.header, self.usage, self.logs,
                                   widgets.HBox(list(self.buttons.values()))], **kwargs)
        self.add_class("dy-container")
        self.container_id = str(getattr(container, "id", ""))
        self.container_name = str(getattr(container, "name", "") or "")
        self.refresh()
        self._published_by_cell = self._published       # the first display shows this state
        if autostart:
            self.start_polling()

    # -- the engine side ------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the container's state, stats and logs once, redraw, publish a new state."""
        with self._lock:
            try:
                self.container.reload()
                attrs = self.container.attrs or {}
            except NotFound:
                self._gone()
            else:
                self._read(attrs)
            self._draw()
        self.publish_if_changed()

    def _read(self, attrs: dict) -> None:
        self._attrs = attrs
        state = info.state(attrs)
        self.health = info.health(attrs)
        self.exit_code = info.exit_code(attrs) if state in ("exited", "dead") else None
        self._ended = f"at {local_time(info.finished_at(attrs))}" if self.exit_code is not None else ""
        self.state = self._acting if self._acting and state == "running" else state
        if self.state == "running":
            self._read_stats()
        self.logs.value = self._logs_html() or self.logs.value

    def _gone(self) -> None:
        if self.state != "removed":
            self._ended = f"at {local_time(datetime.now(timezone.utc))}"
        self.state = "removed"
        self._stop.set()

    def act(self, action: str, wait: bool = True) -> None:
        """Stop, Restart or Remove the container: "stopping…" at once, the work in a thread."""
        with self._lock:
            if self._acting or self.state == "removed":
                return
            self.message, self._acting = "", ACTING[action]
            self.state = self._acting
            self._draw()
            self._worker = threading.Thread(target=self._act, args=(action,), daemon=True,
                                            name=f"dockyard-act-{self.container_id[:12]}")
            self._worker.start()
        if wait:
            self._worker.join()

    def _act(self, action: str) -> None:
        try:
            if action == "Stop":
                self.container.stop(timeout=self.stop_timeout)
            elif action == "Restart":
                self.container.restart(timeout=self.stop_timeout)
            elif action == "Remove":
                self.container.remove(force=True)
        except DockyardError as exc:
            self.message = f"{type(exc).__name__}: {exc}"
        finally:
            self._acting = ""
            self.refresh()
            if self.state == "running":
                self.start_polling()

    def publish_if_changed(self, from_cell: bool = False) -> None:
        """Update the notebook's static copy when the container reached a new settled state.

        Headless runners (nbclient) take an update only from the cell that is running, so the
        magics call this with from_cell=True after each verb, besides the poll thread's calls.
        """
        settled = (self.state, self.exit_code)
        seen = self._published_by_cell if from_cell else self._published
        if self._acting or settled == seen:
            return
        self._published = settled
        if from_cell:
            self._published_by_cell = settled
        self.publish()

    def _read_stats(self) -> None:
        try:
            stats = self.container.stats(stream=False) or {}
        except Exception:          # stats are a nicety: a racing exit must not kill the poller
            return
        self.memory_bytes = info.memory_bytes(stats)
        total, now = info.cpu_total_ns(stats), time.monotonic()
        if total is not None and self._cpu_sample is not None:
            before_t, before_ns = self._cpu_sample
            if now > before_t:
                self.cpu_percent = round(100 * (total - before_ns) / 1e9 / (now - before_t), 1)
        if total is not None:
            self._cpu_sample = (now, total)

    # -- polling ----------------------------------------------------------------------------
    def start_polling(self) -> None:
        """Start the poll thread unless one runs or the container isn't running."""
        if self.state != "running" or (self._thread and self._thread.is_alive()):
            return
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, args=(self._stop,), daemon=True,
                                        name=THREAD_PREFIX + self.container_id[:12])
        self.polling = True
        self._thread.start()

    def stop_polling(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread and thread is not threading.current_thread():
            thread.join(timeout=5)
        self.polling = False

    def _poll(self, stop: threading.Event) -> None:
        try:
            while not stop.wait(self.refresh_seconds):
                self.refresh()
                if self.state not in ("running", *ACTING.values()):
                    break
        finally:
            self.polling = False

    def close(self):
        """Stop the poll thread, then close the widget and its children."""
        self.stop_polling()
        for child in (self.header, self.usage, self.logs, *self.buttons.values()):
            child.close()
        super().close()

    # -- drawing ----------------------------------------------------------------------------
    def _draw(self) -> None:
        self.header.value = self._header_html(live=True)
        self.usage.value = self._usage_html()
        busy, gone = bool(self._acting), self.state == "removed"
        self.buttons["Stop"].disabled = busy or self.state != "running"
        self.buttons["Restart"].disabled = busy or gone
        self.buttons["Remove"].disabled = busy or gone

    def badge_text(self) -> str:
        """'running', 'stopping…', 'exited (137)', 'removed'."""
        if self.state in ACTING.values():
            return f"{self.state}…"
        if self.exit_code is not None and self.state != "removed":
            return f"{self.state} ({self.exit_code})"
        return self.state

    def _header_html(self, live: bool = False) -> str:
        attrs = self._attrs
        running = self.state == "running"
        ips = ", ".join(f"{escape(ip)} ({escape(net)})" for net, ip in info.ip_addresses(attrs).items())
        # A published port leads somewhere only while the container runs.
        ports = ", ".join(f"<a class='dy-port' href='{escape(url)}' target='_blank'>{escape(port)} → {escape(url)}</a>"
                          for port, url in info.published_ports(attrs)) if running else ""
        facts = [("image", code(info.image_name(attrs))), ("hostname", code(info.hostname(attrs))),
                 ("up", escape(info.uptime(attrs)) if running else ""), ("IP", ips if running else ""),
                 ("ports", ports), ("ended", escape(self._ended))]
        facts_html = " · ".join(f"{k}: <span class='dy-{k.lower()}'>{v}</span>" for k, v in facts if v)
        error = f"<div class='dy-error' style='color:#c62828'>{escape(self.message)}</div>" if self.message else ""
        stale = live_or_stale("", "<div class='dy-stale' style='color:#616161'><i>Not live: the "
                                  "kernel went away. This is the last state it saw; "
                                  "<code>%container ps</code> shows the state now.</i></div>")
        return (f"<div class='dy-container-head'><b class='dy-name'>{escape(self.container_name)}</b> "
                f"{code(self.container_id[:12])} {state_badge(self.state, self.badge_text())}"
                f"{self._health_html()}</div>"
                f"<div class='dy-facts'>{facts_html}</div>{error}{stale if live else ''}")

    def _health_html(self) -> str:
        if not self.health:
            return ""
        colour = HEALTH_COLOURS.get(self.health, "#455a64")
        return (f" <span class='dy-health dy-health-{escape(self.health)}' style='color:{colour};"
                f"border:1px solid {colour};padding:0 5px;border-radius:3px'>"
                f"{escape(self.health)}</span>")

    def _usage_html(self) -> str:
        if self.state != "running":
            return ""
        cpu = "–" if self.cpu_percent is None else f"{self.cpu_percent:.1f}%"
        return (f"<div class='dy-usage'>CPU <span class='dy-cpu'>{cpu}</span> · memory "
                f"<span class='dy-memory'>{human_size(self.memory_bytes)}</span></div>")

    def _logs_html(self) -> str:
        if not self.log_tail:
            return ""
        try:
            raw = self.container.logs(tail=self.log_tail)
        except Exception:          # logs are a nicety, as above
            return ""
        text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
        return f"<pre class='dy-logs' style='max-height:200px;overflow:auto;margin:0'>{escape(text)}</pre>"

    # -- the static copy --------------------------------------------------------------------
    def static_html(self) -> str:
        with self._lock:
            return (f"<div class='dy-container'>{self._header_html()}{self.usage.value}"
                    f"{self.logs.value}</div>")

    def summary(self) -> str:
        image = info.image_name(self._attrs)
        ended = f" {self._ended}" if self._ended else ""
        return f"Container {self.container_name} ({image}): {self.badge_text()}{ended}"
