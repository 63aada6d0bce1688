"""PID 1 of a kernel container: starts ipykernel and lives exactly as long as its host side.

Runs inside the container under the image's own python3 (3.8 or newer, standard library only):

    python3 SESSION/launcher.py SESSION        # SESSION: the bind-mounted session directory

It connects to SESSION/lifeline (a unix socket the dockyard kernel or provisioner listens on)
and says `ready PYTHON_VERSION` or `no-ipykernel PYTHON_VERSION`. When that connection closes
(the host side shut down or was killed) the kernel is stopped and the container ends, so no
container outlives the process that started it. SIGINT and SIGTERM go on to the kernel; as
PID 1 it also reaps orphans.
"""
import importlib.util
import os
import select
import signal
import socket
import subprocess
import sys

EXTRA_PATH = "/opt/dockyard/ipykernel"     # where a derived image puts ipykernel (--target)
STOP_GRACE_S = 2.0


def find_ipykernel():
    """sys.path additions that make ipykernel importable, or None when it isn't there."""
    if importlib.util.find_spec("ipykernel") is not None:
        return []
    if os.path.isdir(EXTRA_PATH):
        sys.path.insert(0, EXTRA_PATH)
        importlib.invalidate_caches()
        if importlib.util.find_spec("ipykernel") is not None:
            return [EXTRA_PATH]
    return None


def kernel_argv(extra, connection_file):
    # The kernel's own dependencies (jupyter_client, pyzmq, tornado...) come first: older
    # copies in the image would not fit the ipykernel installed beside them.
    code = ("import sys; sys.path[0:0] = %r; "
            "from ipykernel.kernelapp import launch_new_instance; launch_new_instance()" % extra)
    return [sys.executable, "-c", code, "-f", connection_file]


def main(session):
    version = "%d.%d.%d" % sys.version_info[:3]
    lifeline = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lifeline.connect(os.path.join(session, "lifeline"))
    extra = find_ipykernel()
    if sys.version_info < (3, 8) or extra is None:
        lifeline.sendall(("no-ipykernel %s\n" % version).encode())
        return 3
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    kernel = subprocess.Popen(kernel_argv(extra, os.path.join(session, "connection.json")))

    def forward(signum, frame):
        try:
            kernel.send_signal(signum)
        except OSError:
            pass
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    lifeline.sendall(("ready %s\n" % version).encode())
    while True:
        code = reap(kernel.pid)
        if code is not None:
            return code
        try:
            ready, _, _ = select.select([lifeline, wake_r], [], [])
        except InterruptedError:
            continue
        if wake_r in ready:
            os.read(wake_r, 512)
        if lifeline in ready and not lifeline.recv(512):
            return stop(kernel)


def reap(kernel_pid):
    """Reap every exited child; the kernel's exit code once it has exited, else None."""
    found = None
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return found if found is not None else 0
        if pid == 0:
            return found
        if pid == kernel_pid:
            found = os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") \
                else (status >> 8)
            found = 128 - found if found < 0 else found


def stop(kernel):
    kernel.terminate()
    try:
        return kernel.wait(STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        kernel.kill()
        return kernel.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
