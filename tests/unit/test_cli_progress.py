"""The CLI's pull and push progress: Docker's lines off a terminal, per-layer bars on one.

A tiny terminal (newline, carriage return, cursor up/down, erase line) replays what the display
wrote, so the tests state what a user sees, not which escape codes got there.
"""
import io
import re

from dockyard.engine.cli.progress import pull_progress, push_progress

A, B = "sha256:" + "a" * 64, "sha256:" + "b" * 64
MANIFEST = "sha256:" + "d" * 64


def screen(text: str) -> list[str]:
    """The lines a terminal shows after `text`."""
    lines, row, col = [""], 0, 0
    for token in re.findall(r"\x1b\[(\d*)([ABK])|(\r)|(\n)|([^\x1b\r\n]+)", text):
        count, code, cr, nl, chars = token
        if code == "A":
            row -= int(count or 1)
        elif code == "B":
            row += int(count or 1)
        elif code == "K":
            lines[row] = ""
        elif cr:
            col = 0
        elif nl:
            row, col = row + 1, 0
        if row >= len(lines):
            lines += [""] * (row + 1 - len(lines))
        if chars:
            line = lines[row].ljust(col)
            lines[row] = line[:col] + chars + line[col + len(chars):]
            col += len(chars)
    return lines


def pull_events():
    return [{"type": "layer", "digest": A, "status": "exists", "size": 10},
            {"type": "layer", "digest": B, "status": "downloading", "size": 8_000_000,
             "current": 0},
            {"type": "layer", "digest": B, "status": "downloading", "size": 8_000_000,
             "current": 4_000_000},
            {"type": "layer", "digest": B, "status": "done", "size": 8_000_000},
            {"type": "pulled", "ref": "localhost:5000/app:1", "digest": MANIFEST,
             "image": "sha256:" + "e" * 64, "status": "downloaded"}]


def test_off_a_terminal_each_status_is_one_line_and_bars_are_left_out():
    out = io.StringIO()
    show = pull_progress("localhost:5000/app:1", out, tty=False)
    for event in pull_events():
        show(event)
    assert out.getvalue() == (
        "1: Pulling from app\n"
        "aaaaaaaaaaaa: Already exists\n"
        "bbbbbbbbbbbb: Pulling fs layer\n"
        "bbbbbbbbbbbb: Pull complete\n"
        f"Digest: {MANIFEST}\n"
        "Status: Downloaded newer image for localhost:5000/app:1\n")


def test_on_a_terminal_each_layer_keeps_one_line_with_its_bar(monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    out = io.StringIO()
    show = pull_progress("localhost:5000/app:1", out, tty=True)
    events = pull_events()
    for event in events[:3]:
        show(event)
    middle = screen(out.getvalue())
    assert middle[:3] == ["1: Pulling from app", "aaaaaaaaaaaa: Already exists",
                          "bbbbbbbbbbbb: Downloading [" + "=" * 25 + ">" + " " * 24 + "]      "
                          "4MB/8MB"]
    for event in events[3:]:
        show(event)
    assert screen(out.getvalue()) == [
        "1: Pulling from app", "aaaaaaaaaaaa: Already exists", "bbbbbbbbbbbb: Pull complete",
        f"Digest: {MANIFEST}", "Status: Downloaded newer image for localhost:5000/app:1", ""]


def test_a_narrow_terminal_keeps_the_numbers_without_the_bar(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    out = io.StringIO()
    show = pull_progress("localhost:5000/app:1", out, tty=True)
    for event in pull_events()[:3]:
        show(event)
    assert screen(out.getvalue())[2] == "bbbbbbbbbbbb: Downloading 4MB/8MB"


def test_push_shows_every_layer_preparing_then_each_as_it_goes_by_diff_id():
    out = io.StringIO()
    show = push_progress("localhost:5000/app:1", out, tty=True)
    diff_a, diff_b = "sha256:" + "1" * 64, "sha256:" + "2" * 64
    for layer, blob in ((diff_a, A), (diff_b, B)):
        show({"type": "layer", "layer": layer, "digest": blob, "status": "preparing", "size": 5})
    assert screen(out.getvalue())[:3] == ["The push refers to repository [localhost:5000/app]",
                                          "111111111111: Preparing", "222222222222: Preparing"]
    show({"type": "layer", "layer": diff_a, "digest": A, "status": "exists", "size": 5})
    show({"type": "layer", "layer": diff_b, "digest": B, "status": "uploading", "size": 5,
          "current": 0})
    show({"type": "layer", "layer": diff_b, "digest": B, "status": "done", "size": 5})
    show({"type": "config", "digest": MANIFEST, "status": "done", "size": 5})
    show({"type": "pushed", "ref": "localhost:5000/app:1", "digest": MANIFEST, "size": 527})
    assert screen(out.getvalue()) == [
        "The push refers to repository [localhost:5000/app]",
        "111111111111: Layer already exists", "222222222222: Pushed",
        f"1: digest: {MANIFEST} size: 527", ""]
