"""Exec routes: create an exec instance, start it (hijacked, or detached), inspect it.

An instance is the daemon's record of one `docker exec`: made by create, run by start, its
exit code kept for `GET /exec/ID/json` (the CLI's exit status). Records are kept in memory,
the newest MAX_KEPT of them.
"""
import os
import secrets
import selectors
import signal
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from ..errors import Conflict, InvalidArgument, NotFound
from .containers import get as get_container
from .http import ClientGone, Reply, json_reply
from .streams import MULTIPLEXED, RAW, frame, pause_for_docker_py

ROUTES = [
    ("POST", "/containers/{id}/exec", "create"),
    ("POST", "/exec/{id}/start", "start"),
    ("POST", "/exec/{id}/resize", "resize"),
    ("GET", "/exec/{id}/json", "inspect"),
]

MAX_KEPT = 1000


@dataclass
class ExecInstance:
    id: str
    container_id: str
    config: dict
    running: bool = False
    exit_code: int | None = None
    pid: int = 0
    started: bool = False
    process: object = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class ExecTable:
    """Exec instances by id; the oldest finished ones go once there are too many."""

    def __init__(self):
        self._items: OrderedDict[str, ExecInstance] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, instance: ExecInstance) -> None:
        with self._lock:
            self._items[instance.id] = instance
            while len(self._items) > MAX_KEPT:
                oldest = next((i for i in self._items.values()
                               if not i.running and i is not instance), None)
                if oldest is None:
                    break
                del self._items[oldest.id]

    def get(self, exec_id: str) -> ExecInstance:
        with self._lock:
            found = self._items.get(exec_id)
        if found is None:
            raise NotFound(f"No such exec instance: {exec_id}")
        return found


def create(api, request):
    container = get_container(api, request)
    body = request.json()
    cmd = body.get("Cmd")
    if not cmd:
        raise InvalidArgument("no exec command specified")
    if body.get("Privileged"):
        raise InvalidArgument("Privileged exec is not supported by dockyard")
    status = container.status
    if status == "paused":
        raise Conflict(f"Container {container.id} is paused, unpause the container before exec")
    if status != "running":
        raise Conflict(f"container {container.id} is not running")
    instance = ExecInstance(secrets.token_hex(32), container.id, body)
    api.execs.add(instance)
    return json_reply({"Id": instance.id}, 201)


def start(api, request):
    instance = api.execs.get(request.params["id"])
    options = request.json()
    with instance.lock:
        if instance.started:
            raise Conflict(f"exec {instance.id} has already been started")
        instance.started = True
    config = instance.config
    container = api.engine.containers.get(instance.container_id)
    tty = bool(options.get("Tty", config.get("Tty")))
    detach = bool(options.get("Detach"))
    stdin = bool(config.get("AttachStdin")) and not detach
    proc = container.exec_process(config["Cmd"], user=config.get("User") or None,
                                  workdir=config.get("WorkingDir") or None,
                                  environment=config.get("Env") or None, tty=tty, stdin=stdin,
                                  detach=detach, winsize=options.get("ConsoleSize")
                                  or config.get("ConsoleSize"))
    instance.running, instance.pid, instance.process = True, proc.pid, proc
    if detach:
        threading.Thread(target=_reap, args=(instance, container), daemon=True).start()
        return Reply(200)
    raw = request.hijack(RAW if tty else MULTIPLEXED)
    pause_for_docker_py(request)
    if stdin:
        threading.Thread(target=_pump_stdin, args=(raw, proc.stdin), daemon=True).start()
    try:
        _copy_output(raw, proc, tty, wanted={s for s in ("stdout", "stderr")
                                             if config.get("Attach" + s.title(), True)})
    except ClientGone:          # the client hung up: so does the exec's terminal
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        proc.send_signal(signal.SIGHUP)
    finally:
        _reap(instance, container)
        raw.close()


def _copy_output(raw, proc, tty: bool, wanted: set) -> None:
    """Frames of the process's stdout and stderr (raw bytes with a TTY) until both end."""
    selector = selectors.DefaultSelector()
    for name, pipe in (("stdout", proc.stdout), ("stderr", proc.stderr)):
        if pipe is not None:
            selector.register(pipe, selectors.EVENT_READ, name)
    try:
        while selector.get_map():
            for key, _ in selector.select():
                data = os.read(key.fileobj.fileno(), 65536)
                if not data:
                    selector.unregister(key.fileobj)
                    key.fileobj.close()
                elif key.data in wanted:
                    raw.write(data if tty else frame(key.data, data))
    finally:
        selector.close()


def _pump_stdin(raw, sink) -> None:
    try:
        while True:
            data = raw.read()
            if not data:
                break
            sink.write(data)
            sink.flush()
    except OSError:                 # the process exited
        pass
    finally:
        try:
            sink.close()
        except OSError:
            pass


def _reap(instance: ExecInstance, container) -> None:
    proc = instance.process
    instance.exit_code = proc.wait()
    container.exec_done(proc)
    instance.running = False
    container.emit("exec_die", execID=proc.exec_id, exitCode=instance.exit_code)


def inspect(api, request):
    instance = api.execs.get(request.params["id"])
    config = instance.config
    cmd = config["Cmd"]
    return {"ID": instance.id, "ContainerID": instance.container_id,
            "Running": instance.running, "ExitCode": instance.exit_code, "Pid": instance.pid,
            "OpenStdin": bool(config.get("AttachStdin")),
            "OpenStdout": bool(config.get("AttachStdout", True)),
            "OpenStderr": bool(config.get("AttachStderr", True)),
            "CanRemove": False, "DetachKeys": config.get("DetachKeys") or "",
            "ProcessConfig": {"tty": bool(config.get("Tty")), "entrypoint": cmd[0],
                              "arguments": list(cmd[1:]),
                              "privileged": bool(config.get("Privileged")),
                              "user": config.get("User") or ""}}


def resize(api, request):
    instance = api.execs.get(request.params["id"])
    if instance.process is None or not instance.running:
        raise Conflict(f"exec {instance.id} is not running")
    container = api.engine.containers.get(instance.container_id)
    container.exec_resize(instance.process, request.number("h", 0), request.number("w", 0))
    return Reply(200)
