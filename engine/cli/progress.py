"""Pull and push progress as the docker CLI draws it, from Docker's JSON progress messages.

    show = pull_progress("busybox:latest", sys.stdout)      # or push_progress
    engine.images.pull("busybox:latest", on_event=show)

The messages are the daemon's (api/progress.py turns engine events into them), so the words
are Docker's. On a terminal each layer keeps one line, rewritten in place with its bar
(`Downloading [=====>     ]  12.3MB/45.6MB`) as docker's jsonmessage display does it; anywhere
else each change of a layer's status is one line and bars are left out, so a log holds no
escape codes.
"""
import shutil

from ..api.progress import bar, pull_messages, push_messages

WIDE = 110                            # docker drops the bar, keeping the numbers, below this


class Display:
    """Draws one message at a time; `tty` None asks the stream."""

    def __init__(self, stream, tty: bool | None = None):
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.lines: dict[str, int] = {}       # layer id -> its line, counted from the first

    def __call__(self, message: dict) -> None:
        progress = "progressDetail" in message
        if not message.get("id") or not progress:
            self.lines.clear()                # a line of its own ends the block of layers
            self._write(_plain(message) + "\n")
            return
        if not self.tty:
            if not message.get("progress"):   # the bars only make sense in place
                self._write(_plain(message) + "\n")
            return
        line = self.lines.get(message["id"])
        if line is None:
            line = self.lines[message["id"]] = len(self.lines)
            self._write("\n")
        up = len(self.lines) - line
        self._write(f"\x1b[{up}A\x1b[2K\r{_plain(message)}{_bar(message)}\r\x1b[{up}B")

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()


def _plain(message: dict) -> str:
    return f"{message['id']}: {message['status']}" if message.get("id") else message["status"]


def _bar(message: dict) -> str:
    detail = message.get("progressDetail") or {}
    if not detail.get("total"):
        return ""
    text = bar(detail.get("current", 0), detail["total"])
    if shutil.get_terminal_size((WIDE, 24)).columns < WIDE:
        text = text.split("] ", 1)[-1].strip()
    return " " + text


def pull_progress(name: str, stream, *, tty: bool | None = None):
    """An on_event callback for a pull of `name` that draws its progress on `stream`."""
    return _drawing(pull_messages(name), Display(stream, tty))


def push_progress(name: str, stream, *, tty: bool | None = None):
    """An on_event callback for a push of `name`; its opening line is drawn at once."""
    render, display = push_messages(name), Display(stream, tty)
    for message in render(None):
        display(message)
    return _drawing(render, display)


def _drawing(render, display):
    def on_event(event: dict) -> None:
        for message in render(event):
            if "aux" not in message:          # docker-py's extra record, not a line
                display(message)
    return on_event
