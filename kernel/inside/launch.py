"""Start an ipykernel in a container of an image, connected over unix sockets; stop it again.

Shared by `%dockyard use` and the kernel provisioner:

    kernel = start(engine, "python:3.11", cwd="/home/me/project")
    kernel.connection        # jupyter connection info: transport "ipc", paths in kernel.session
    kernel.interrupt(); kernel.alive(); kernel.stop()

The session directory (a fresh 0700 directory on the host) is bind-mounted into the container
at the same path; it holds the connection file, the launcher (PID 1 inside) and the sockets.
ZMQ speaks over unix sockets there, so no port is opened on any interface and the container
may have any network (or none). The notebook's directory is mounted at its own path and is the
working directory. The launcher holds a lifeline connection to this process: when it closes
(stop(), or this process dies however it dies) the kernel is stopped and the container, created
with auto-remove, goes away; the next session made on the host sweeps the directory.
"""
import glob
import json
import os
import secrets
import select
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass, field

from dockyard.engine.errors import (ContainerNotFound, DockyardError, HostError, KernelDied,
                                    NoIpykernel, NoPython, StartError)

LAUNCHER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "launcher.py")
HELLO_TIMEOUT_S = 60.0
SESSION_PREFIX = "dyk-"
STALE_AFTER_S = 60.0
LABEL = "org.dockyard.kernel"


@dataclass
class InsideKernel:
    """A running kernel container: its Container, connection info and lifeline."""

    container: object
    image: str
    python: str
    session: str
    connection: dict
    lifeline: socket.socket
    started: float = field(default_factory=time.monotonic)

    @property
    def short_id(self) -> str:
        return self.container.id[:12]

    def interrupt(self) -> None:
        """SIGINT to the kernel inside (the launcher passes it on)."""
        self.signal("SIGINT")

    def signal(self, sig) -> None:
        try:
            self.container.kill(sig)
        except DockyardError:
            pass                     # it ended meanwhile: the lifeline says so

    def alive(self) -> bool:
        """False once the container ended (the lifeline is closed at the other end)."""
        if self.lifeline.fileno() < 0:
            return False
        ready, _, _ = select.select([self.lifeline], [], [], 0)
        return not ready or bool(self.lifeline.recv(512, socket.MSG_PEEK))

    def exit_code(self) -> int | None:
        try:
            self.container.reload()
            return self.container.state.exit_code
        except ContainerNotFound:
            return None

    def stop(self, keep_session: bool = False) -> None:
        """End the container: close the lifeline, then remove it (killed if still running).

        `keep_session` keeps the session directory (its paths and key) for a restart."""
        self.lifeline.close()
        try:
            self.container.reload()
            if self.container.status == "running":
                self.container.wait(timeout=3)      # the launcher stops the kernel first
        except (DockyardError, TimeoutError):
            pass
        try:
            self.container.remove(force=True)
        except ContainerNotFound:
            pass                     # the reaper was first
        if keep_session:
            for name in ("lifeline", *(f"k-{n}" for n in range(1, 6))):
                try:
                    os.unlink(os.path.join(self.session, name))
                except FileNotFoundError:
                    pass
        else:
            shutil.rmtree(self.session, ignore_errors=True)


def sweep_sessions(older_than: float = STALE_AFTER_S) -> None:
    """Remove session directories whose host process is gone (a killed kernel leaves its own).

    Each session names its owner (pid and start time, so a recycled pid doesn't count); a
    directory without one that is younger than `older_than` is being set up, so it stays.
    """
    for path in glob.glob(os.path.join(tempfile.gettempdir(), SESSION_PREFIX + "*")):
        try:
            if os.stat(path).st_uid != os.getuid():
                continue
            with open(os.path.join(path, "owner")) as f:
                pid, started = (int(word) for word in f.read().split())
            if _start_time(pid) == started:
                continue
        except FileNotFoundError:
            try:
                if time.time() - os.stat(path).st_mtime < older_than:
                    continue
            except OSError:
                continue
        except (OSError, ValueError):
            pass
        shutil.rmtree(path, ignore_errors=True)


def _start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (/proc/PID/stat field 22)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def new_session() -> tuple[str, dict]:
    """A fresh session directory with its connection file; (path, connection info)."""
    sweep_sessions()
    # Short path: unix socket names must stay under 108 bytes.
    session = tempfile.mkdtemp(prefix=SESSION_PREFIX)
    os.chmod(session, 0o700)
    with open(os.path.join(session, "owner"), "w") as f:
        f.write(f"{os.getpid()} {_start_time(os.getpid())}\n")
    info = {"transport": "ipc", "ip": os.path.join(session, "k"), "shell_port": 1,
            "iopub_port": 2, "stdin_port": 3, "control_port": 4, "hb_port": 5,
            "key": secrets.token_hex(16), "signature_scheme": "hmac-sha256",
            "kernel_name": "dockyard-inside"}
    with open(os.path.join(session, "connection.json"), "w") as f:
        json.dump(info, f)
    shutil.copy(LAUNCHER, os.path.join(session, "launcher.py"))
    return session, info


def start(engine, image: str, *, cwd: str | None = None, volumes=(), environment=(),
          network: str | None = None, name: str | None = None, purpose: str = "use",
          session: tuple[str, dict] | None = None):
    """Run `image`'s python3 with ipykernel in a new container; an InsideKernel once ready.

    `session` is a (directory, connection info) pair from new_session(), else a new one.
    NoPython when there is no python3, NoIpykernel when it lacks ipykernel (the container is
    gone again in both cases), StartError/KernelDied when it fails otherwise.
    """
    cwd = os.path.abspath(cwd or os.getcwd())
    session, info = session or new_session()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    container = None
    try:
        listener.bind(os.path.join(session, "lifeline"))
        listener.listen(1)
        try:
            container = engine.containers.run(
                image, ["python3", os.path.join(session, "launcher.py"), session],
                detach=True, remove=True, name=name, working_dir=cwd,
                volumes=[f"{cwd}:{cwd}", f"{session}:{session}", *volumes],
                environment=list(environment), network=network,
                labels={LABEL: purpose, f"{LABEL}.session": session})
        except StartError as exc:
            if exc.exit_status == 127:
                raise NoPython(f"image {image} has no python3 on its PATH: it can't hold a "
                               "Python kernel") from exc
            raise
        lifeline, hello = _hello(listener, container)
    except BaseException:
        listener.close()
        if container is not None:
            _remove(container)
        shutil.rmtree(session, ignore_errors=True)
        raise
    listener.close()
    word, _, python = hello.partition(" ")
    if word != "ready":
        lifeline.close()
        _remove(container)
        shutil.rmtree(session, ignore_errors=True)
        if tuple(int(p) for p in python.split(".")[:2]) < (3, 8):
            raise NoPython(f"image {image} has Python {python}; a kernel needs 3.8 or newer")
        raise NoIpykernel(image, python)
    return InsideKernel(container, image, python, session, info, lifeline)


def _hello(listener: socket.socket, container) -> tuple[socket.socket, str]:
    """Accept the launcher's lifeline and read its first line, watching the container."""
    listener.settimeout(0.05)
    deadline = time.monotonic() + HELLO_TIMEOUT_S
    while True:
        try:
            conn, _ = listener.accept()
            break
        except socket.timeout:
            try:
                container.reload()
                running = container.status == "running"
                logs = "" if running else container.logs(stdout=False).decode(errors="replace")
            except ContainerNotFound:           # ended, and the reaper was quick
                running, logs = False, ""
            if not running:
                code = container.state.exit_code if logs else None
                raise KernelDied("the kernel container ended before it was ready"
                                 + (f" (exit code {code}): {logs.strip()[-300:]}" if logs else ""),
                                 code)
            if time.monotonic() > deadline:
                raise HostError(f"the kernel container did not start in {HELLO_TIMEOUT_S:.0f} s")
    conn.settimeout(HELLO_TIMEOUT_S)
    line = b""
    while not line.endswith(b"\n"):
        more = conn.recv(256)
        if not more:
            raise KernelDied("the kernel container ended before it was ready")
        line += more
    conn.settimeout(None)
    return conn, line.decode().strip()


def _remove(container) -> None:
    try:
        container.remove(force=True)
    except ContainerNotFound:
        pass
