"""`run -it` and `exec -it` from a real terminal (a pty this test drives, as a person's terminal
would): the container's pty has the terminal's size from the start, follows it on SIGWINCH, and
TERM=xterm is set as Docker does."""
import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time

DOCKYARD = [sys.executable, "-m", "dockyard.engine.cli"]
SHELL = "stty size; echo TERM=$TERM; echo READY; exec sh"


def until(check, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def in_terminal(engine, *argv, rows=33, cols=111):
    """Run the CLI on a new pty of rows x cols; once the container says READY, resize the
    terminal (the kernel sends the CLI SIGWINCH) and type into it. (exit code, output)."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execv(sys.executable, [*DOCKYARD, "--data-root", str(engine.root), *argv])
        finally:
            os._exit(127)
    set_size(fd, rows, cols)
    out, typed, deadline = b"", False, time.monotonic() + 60
    while time.monotonic() < deadline:
        if select.select([fd], [], [], 0.1)[0]:
            try:
                data = os.read(fd, 65536)
            except OSError:         # EIO: the CLI has exited and closed the terminal
                break
            if not data:
                break
            out += data
        if b"READY" in out and not typed:
            set_size(fd, 44, 122)
            time.sleep(0.3)         # the resize travels CLI -> monitor/shim -> container pty
            os.write(fd, b"stty size; exit 7\r")
            typed = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace").replace("\r", "")


def test_run_it_sizes_the_pty_resizes_it_and_sets_term(engine):
    code, out = in_terminal(engine, "run", "-it", "--rm", "--network", "none", "busybox",
                            "sh", "-c", SHELL)
    lines = out.splitlines()
    assert lines[:3] == ["33 111", "TERM=xterm", "READY"], out
    assert "44 122" in lines[3:], out
    assert code == 7


def test_exec_it_sizes_the_pty_resizes_it_and_sets_term(engine):
    container = engine.containers.run("busybox", ["sleep", "60"], detach=True, network_mode="none")
    try:
        code, out = in_terminal(engine, "exec", "-it", container.id, "sh", "-c", SHELL,
                                rows=20, cols=70)
    finally:
        container.remove(force=True)
    lines = out.splitlines()
    assert lines[:3] == ["20 70", "TERM=xterm", "READY"], out
    assert "44 122" in lines[3:], out
    assert code == 7


def test_term_is_set_only_with_a_tty_and_yields_to_the_users(engine):
    container = engine.containers.run("busybox", ["sleep", "60"], detach=True, network_mode="none",
                                      tty=True, environment={"TERM": "vt100"})
    try:
        assert container.exec_run("sh -c 'echo $TERM'", tty=True)[1].strip() == b"vt100"
        assert container.exec_run("sh -c 'echo ${TERM-unset}'")[1].strip() == b"vt100"
    finally:
        container.remove(force=True)
    plain = engine.containers.run("busybox", ["sleep", "60"], detach=True, network_mode="none")
    try:
        assert plain.exec_run("sh -c 'echo ${TERM-unset}'")[1] == b"unset\n"
        assert plain.exec_run("sh -c 'echo $TERM'", tty=True)[1].strip() == b"xterm"
    finally:
        plain.remove(force=True)


def test_a_detached_tty_logs_each_read_and_follows_a_resize(engine):
    # a TTY has no lines: its log takes each read (as Docker's), a partial line shows at once
    script = "printf partial; trap 'stty size' WINCH; while :; do sleep 0.05; done"
    cid = subprocess.run([*DOCKYARD, "--data-root", str(engine.root), "run", "-dt", "--network",
                          "none", "busybox", "sh", "-c", script],
                         capture_output=True, text=True, timeout=60, check=True).stdout.strip()
    container = engine.containers.get(cid)
    try:
        until(lambda: container.logs() == b"partial")
        container.resize(27, 93)           # what the API's POST /containers/{id}/resize does
        until(lambda: b"27 93" in container.logs())
    finally:
        container.remove(force=True)
