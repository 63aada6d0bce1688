"""A live container panel: identity, coloured state, uptime, network, CPU/memory, logs, buttons.

A daemon thread polls the container every `refresh_seconds` while it runs. The thread ends when
the container stops or is removed, and when the widget is closed; Restart starts a new one.
"""
import threading
import time
from html import escape

import ipywidgets as widgets
from traitlets import Bool, Float, Int, Unicode

from . import container_info as info
from .htmlkit import code, human_size, state_badge

THREAD_PREFIX = "dockyard-watch-"
HEALTH_COLOURS = {"healthy": "#2e7d32", "unhealthy": "#c62828", "starting": "#ef6c00"}


class ContainerView(widgets.VBox):
    """Widget for one container; the buttons act on the engine and the display follows."""

    container_id = Unicode(help="The container's full id.").tag(sync=True)
    container_name = Unicode(help="The container's name.").tag(sync=True)
    state = Unicode("unknown", help="created, running, exited, ... or removed.").tag(sync=True)
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
        self._cpu_sample: tuple[float, int] | None = None
        self.header, self.usage, self.logs = widgets.HTML(), widgets.HTML(), widgets.HTML()
        self.buttons = {name: widgets.Button(description=name, icon=icon, tooltip=f"{name} the container")
                        for name, icon in (("Stop", "stop"), ("Restart", "refresh"), ("Remove", "trash"))}
        for name, button in self.buttons.items():
            button.add_class(f"dy-{name.lower()}")
            button.on_click(lambda _b, action=name: self.act(action))
        super().__init__(children=[self.header, self.usage, self.logs,
                                   widgets.HBox(list(self.buttons.values()))], **kwargs)
        self.add_class("dy-container")
        self.container_id = str(getattr(container, "id", ""))
        self.container_name = str(getattr(container, "name", "") or "")
        self.refresh()
        if autostart:
            self.start_polling()

    # -- the engine side ------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the container's state, stats and logs once and redraw."""
        from dockyard.engine.errors import NotFound

        with self._lock:
            try:
                self.container.reload()
            except NotFound:
                self._gone()
                return
            attrs = self.container.attrs or {}
            self.state = info.state(attrs)
            self.health = info.health(attrs)
            if self.state == "running":
                self._read_stats()
            self.header.value = self._header_html(attrs)
            self.usage.value = self._usage_html()
            self.logs.value = self._logs_html()
            self._set_buttons()

    def act(self, action: str) -> None:
        """Stop, Restart or Remove the container, then redraw; errors show in the widget."""
        from dockyard.engine.errors import DockyardError

        self.message = ""
        try:
            if action == "Stop":
                self.container.stop(timeout=self.stop_timeout)
            elif action == "Restart":
                self.container.restart(timeout=self.stop_timeout)
            elif action == "Remove":
                self.container.remove(force=True)
        except DockyardError as exc:
            self.message = f"{type(exc).__name__}: {exc}"
        self.refresh()
        if self.state == "running":
            self.start_polling()

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

    def _gone(self) -> None:
        self.state = "removed"
        self.header.value = (f"<div class='dy-container-head'><b>{escape(self.container_name)}</b> "
                             f"{code(self.container_id[:12])} {state_badge('removed')}</div>")
        self.usage.value = ""
        self._set_buttons()
        self._stop.set()

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
                if self.state != "running":
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
    def _set_buttons(self) -> None:
        gone = self.state == "removed"
        self.buttons["Stop"].disabled = gone or self.state != "running"
        self.buttons["Restart"].disabled = gone
        self.buttons["Remove"].disabled = gone

    def _header_html(self, attrs: dict) -> str:
        ips = ", ".join(f"{escape(ip)} ({escape(net)})" for net, ip in info.ip_addresses(attrs).items())
        ports = ", ".join(f"<a class='dy-port' href='{escape(url)}' target='_blank'>{escape(port)} → {escape(url)}</a>"
                          for port, url in info.published_ports(attrs))
        uptime = info.uptime(attrs)
        facts = [("image", code(info.image_name(attrs))), ("hostname", code(info.hostname(attrs))),
                 ("up", escape(uptime)), ("IP", ips), ("ports", ports)]
        facts_html = " · ".join(f"{k}: <span class='dy-{k.lower()}'>{v}</span>" for k, v in facts if v)
        error = f"<div class='dy-error' style='color:#c62828'>{escape(self.message)}</div>" if self.message else ""
        return (f"<div class='dy-container-head'><b class='dy-name'>{escape(self.container_name)}</b> "
                f"{code(self.container_id[:12])} {state_badge(self.state)}{self._health_html()}</div>"
                f"<div class='dy-facts'>{facts_html}</div>{error}")

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
