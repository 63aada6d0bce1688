"""The client's terminal for `run -t`, `start -a` of a -t container and `exec -t`, as Docker's
CLI treats it: raw mode while attached with -i, the container's pty sized like the terminal at
the start and again on every SIGWINCH.

    with raw_mode(0), resizing(lambda rows, cols: container.resize(rows, cols)):
        ...
"""
import contextlib
import os
import signal
import termios
import tty


def size() -> tuple[int, int] | None:
    """(rows, columns) of the terminal on stdout (else stdin); None when neither is one."""
    for fd in (1, 0):
        try:
            columns, rows = os.get_terminal_size(fd)
            return rows, columns
        except OSError:
            continue
    return None


@contextlib.contextmanager
def raw_mode(fd: int = 0):
    """The terminal on `fd` in raw mode for the block, restored after; keys (Ctrl-C too) go to
    the container's pty, which echoes and edits. Nothing happens when `fd` is no terminal."""
    if not os.isatty(fd):
        yield
        return
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


@contextlib.contextmanager
def resizing(resize):
    """resize(rows, columns) now and on each SIGWINCH during the block (main thread only)."""
    def on_winch(_signum=None, _frame=None):
        current = size()
        if current:
            resize(*current)
    previous = signal.signal(signal.SIGWINCH, on_winch)
    try:
        on_winch()
        yield
    finally:
        signal.signal(signal.SIGWINCH, previous)
