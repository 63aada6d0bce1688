"""The engine's side of a container's life: create, start, state, wait, signals, exec, logs.

No Python runs in the container path: start() spawns the C shim with subprocess (vfork + exec;
never a preexec_fn, never a fork of the engine), and the shim's monitor keeps the state on disk,
so any process on the same data root sees the container, its logs and its exit code.

    process.create(spec); state = process.start(spec.bundle)
    state = process.wait(spec.bundle); process.remove(spec.bundle)
"""
import fcntl
import functools
import os
import select
import shutil
import signal
import subprocess
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from ..errors import Conflict, ContainerNotFound, HostError, InvalidArgument
from . import bundle as _bundle
from . import cgroups, logs as _logs
from .shim import shim_path
from .spec import ContainerSpec

_start_locks = threading.local()     # .held: {bundle: fd} of the start locks this thread holds


ALIVE = ("running", "restarting")     # the monitor still acts for the container
STOPPED_MARK = "manually-stopped"     # stop and kill: no restart policy brings it back
BOOT_ID = "/proc/sys/kernel/random/boot_id"


@dataclass
class State:
    """What the monitor recorded; "dead" when it vanished without recording an exit."""

    status: str                  # "created" | "running" | "restarting" | "exited" | "dead"
    pid: int = 0                 # the container's PID 1, as the host sees it (0 while restarting)
    monitor: int = 0
    exit_code: int | None = None
    oom_killed: bool = False
    error: str = ""              # why the command didn't start (exit 125/126/127), else ""
    started_at: str = ""
    finished_at: str = ""
    restart_count: int = 0       # restarts by the restart policy since the last start
    boot_id: str = ""            # the host's boot the monitor ran in
    health: dict | None = None   # Docker's State.Health, with a healthcheck once started


@functools.cache
def boot_id() -> str:
    """This boot of the host (a reboot ends every monitor, and every engine process)."""
    with open(BOOT_ID) as f:
        return f.read().strip()


def create(spec: ContainerSpec, *, cgroup_root: str = cgroups.ROOT, cgroup_v2: bool | None = None) -> None:
    """Make the bundle: init layer, hostname/hosts/resolv.conf, the shim's spec."""
    _bundle.write(spec, cgroup_root=cgroup_root, cgroup_v2=cgroup_v2)


def _data_root(bundle: str) -> str:
    # <data_root>/containers/<id>: a place for the shim binary if the source folder is read-only
    return os.path.dirname(os.path.dirname(os.path.abspath(bundle)))


@contextmanager
def start_lock(bundle: str):
    """Hold the container's start lock for the block (re-entrant within one thread).

    One starter at a time per container, so two processes never make two monitors; whoever
    changes what a stopped container holds (its network) takes it too, so that never overlaps
    a start. FileNotFoundError when the container's directory is gone.
    """
    held = _start_locks.__dict__.setdefault("held", {})
    key = os.path.abspath(bundle)
    if key in held:
        yield
        return
    fd = os.open(os.path.join(key, "start.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        held[key] = fd
        try:
            yield
        finally:
            del held[key]
    finally:
        os.close(fd)


@contextmanager
def attach_lock(bundle: str):
    """Tell the monitor, for the block, that this process waits for the exit and cleans up
    after it itself: the monitor then skips its on_exit command (a shared flock on
    <bundle>/attach.lock; a killed process's lock goes with it, and the monitor cleans up)."""
    try:
        fd = os.open(os.path.join(bundle, "attach.lock"), os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC,
                     0o600)
    except FileNotFoundError:
        raise ContainerNotFound(f"No such container: {os.path.basename(bundle)}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def start(bundle: str) -> State:
    """Start the container; returns once its command was exec'd, or failed (State.error)."""
    shim = shim_path(_data_root(bundle))
    with start_lock(bundle):
        current = state(bundle)
        if current.status in ALIVE:
            raise Conflict(f"container {os.path.basename(bundle)} is already running")
        if current.status in ("exited", "dead"):
            # docker start of a stopped container: same upper dir, same log (appended), a new run.
            os.unlink(os.path.join(bundle, "state.json"))
        try:            # a start undoes a stop: the restart policy applies again
            os.unlink(os.path.join(bundle, STOPPED_MARK))
        except FileNotFoundError:
            pass
        proc = subprocess.Popen([shim, "run", bundle], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        out, err = proc.communicate()   # the launcher exits once the monitor says "started"
    if proc.returncode != 0 or not out:
        raise HostError(f"container shim failed: {err.decode(errors='replace').strip() or proc.returncode}")
    return state(bundle)


def _read_json(bundle: str, name: str) -> dict | None:
    import json
    try:
        with open(os.path.join(bundle, name), "rb") as f:
            return json.loads(f.read().decode(errors="replace"))
    except FileNotFoundError:
        return None


def _read_state(bundle: str) -> dict | None:
    return _read_json(bundle, "state.json")


def _alive_monitor(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"dockyard-shim" in f.read().split(b"\0")[0]
    except OSError:
        return False


def state(bundle: str) -> State:
    """The container's state, from any process."""
    for _ in range(2):   # the monitor writes "exited" before it goes: look once more
        raw = _read_state(bundle)
        if raw is None:
            if not os.path.exists(os.path.join(bundle, "spec")):
                raise ContainerNotFound(f"No such container: {os.path.basename(bundle)}")
            return State("created")
        s = State(**{k: raw[k] for k in State.__dataclass_fields__ if k != "health" and k in raw})
        if raw.get("health"):           # the monitor runs a health check: its file
            s.health = _read_json(bundle, "health.json")
        if s.status not in ALIVE or (_alive_monitor(s.monitor) and s.boot_id in ("", boot_id())):
            return s
    s.status = "dead"           # its monitor died, or the host rebooted since
    return s


def record_lost_exit(bundle: str, why: str) -> None:
    """Write the exit the monitor could not: it died while the container ran (and what was
    left running has been killed since). The state becomes exited, code 137 (killed)."""
    from ..storage import atomic_write_json, now_rfc3339
    raw = _read_state(bundle) or {}
    atomic_write_json(os.path.join(bundle, "state.json"),
                      {**raw, "status": "exited", "exit_code": 137, "error": why,
                       "finished_at": now_rfc3339()})


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid) if pid > 0 else None
    except OSError:
        return None


def _wait_change(bundle: str, s: State, timeout: float | None) -> None:
    """Return once the state is no longer `s` (another status or PID 1), or after `timeout` s."""
    deadline = None if timeout is None else time.monotonic() + timeout
    fd = _pidfd(s.pid) if s.status == "running" else _pidfd(s.monitor)
    try:
        if fd is not None and not select.select([fd], [], [], timeout)[0]:
            return
        # the process is gone: the monitor writes what follows within a few ms
        while (now := state(bundle)).status == s.status and now.pid == s.pid:
            if deadline is not None and time.monotonic() >= deadline:
                return
            time.sleep(0.0005)
    finally:
        if fd is not None:
            os.close(fd)


def wait(bundle: str, timeout: float | None = None, *, exit_of: int | None = None) -> State:
    """Block until the container is no longer running, restarts included (or `timeout` s);
    any process. exit_of=PID: until that run of it has exited (Docker's "next-exit")."""
    deadline = None if timeout is None else time.monotonic() + timeout
    s = state(bundle)
    while s.status in ALIVE and not (exit_of and (s.status != "running" or s.pid != exit_of)):
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            break
        _wait_change(bundle, s, left)
        s = state(bundle)
    return s


def signal_number(sig) -> int:
    """"TERM", "SIGTERM", "15" or 15 -> 15; InvalidArgument for anything else."""
    if isinstance(sig, int):
        return sig
    name = str(sig).upper()
    if name.isdigit():
        return int(name)
    try:
        return signal.Signals[name if name.startswith("SIG") else "SIG" + name]
    except KeyError:
        raise InvalidArgument(f"invalid signal: {sig}") from None


def kill(bundle: str, sig=signal.SIGKILL) -> None:
    """Send `sig` to the container's PID 1 (through a pidfd); Conflict if it isn't running.
    Restarting, there is no process: mark_stopped() is what ends it."""
    signum = signal_number(sig)
    s = state(bundle)
    if s.status == "restarting":
        return
    if s.status != "running":
        raise Conflict(f"container {os.path.basename(bundle)} is not running")
    fd = _pidfd(s.pid)
    if fd is not None:
        try:
            signal.pidfd_send_signal(fd, signum)
        except ProcessLookupError:
            pass
        finally:
            os.close(fd)


def set_restart_policy(bundle: str, name: str, max_retries: int = 0) -> None:
    """A new restart policy (docker update --restart): BUNDLE/restart-policy, "NAME N", which
    the monitor reads at each exit, over the spec's."""
    tmp = os.path.join(bundle, f".restart-policy.{os.getpid()}")
    with open(tmp, "w") as f:
        f.write(f"{name} {int(max_retries)}\n")
    os.replace(tmp, os.path.join(bundle, "restart-policy"))


def mark_stopped(bundle: str) -> None:
    """Stopped for good, as Docker's stop and kill: the monitor restarts the container no more
    (until the next start), and one waiting to restart it ends now."""
    try:
        with open(os.path.join(bundle, STOPPED_MARK), "w"):
            pass
    except FileNotFoundError:
        raise ContainerNotFound(f"No such container: {os.path.basename(bundle)}") from None
    s = state(bundle)
    if s.status == "restarting" and _alive_monitor(s.monitor):
        fd = _pidfd(s.monitor)
        if fd is not None:
            try:                        # the monitor looks at the mark again on any signal
                signal.pidfd_send_signal(fd, signal.SIGALRM)
            except ProcessLookupError:
                pass
            finally:
                os.close(fd)


def stop(bundle: str, timeout: float = 10) -> State:
    """docker stop: the stop signal, then SIGKILL after `timeout` s; stopped already is fine.
    The container stays stopped: no restart policy brings it back until the next start."""
    if state(bundle).status not in ALIVE:
        return state(bundle)
    mark_stopped(bundle)
    stop_signal = signal_number((_bundle.values(_bundle.read_pairs(bundle), "stop_signal") or ["SIGTERM"])[0])
    deadline = time.monotonic() + timeout
    sent = None
    while (s := state(bundle)).status in ALIVE:
        if s.status == "restarting":     # it ends as soon as the monitor sees the mark
            mark_stopped(bundle)
            _wait_change(bundle, s, 0.1)
            continue
        left = deadline - time.monotonic()
        sig = stop_signal if left > 0 else signal.SIGKILL
        if sent != (s.pid, sig):
            try:
                kill(bundle, sig)
            except Conflict:             # it exited between the checks
                continue
            sent = (s.pid, sig)
        _wait_change(bundle, s, left if left > 0 else None)
    return s


def exec(bundle: str, args, *, env=(), user=None, cwd=None, tty=False, stdin=False,
         detach=False, winsize: tuple[int, int] | None = None,
         terminal: bool = False) -> subprocess.Popen:
    """docker exec: `args` in the running container (its namespaces, cgroup, user, env).

    The Popen's return code is the command's exit status (126/127 with Docker's message on
    stderr when it can't be run). tty: stdout carries the pty, sized `winsize` (rows, cols)
    from the start and resized by resize_exec(); stdin: write to proc.stdin. terminal=True
    (with tty): the shim copies between this process's own stdin/stdout (a terminal) and the
    pty, sized like it and resized on its SIGWINCH. The shim joins the container through a
    pidfd and reads the exec's pairs from a memfd, so neither a recycled pid nor the size of
    argv and env can change what runs where.
    """
    if not args:
        raise InvalidArgument("no command specified")
    pairs = _bundle.read_pairs(bundle)
    merged = {e.split("=", 1)[0]: e for e in _bundle.values(pairs, "env")}
    for e in env:
        merged[e.split("=", 1)[0]] = e
    resize = None
    if tty and not detach:      # later window sizes, read by the shim (resize_exec)
        resize = os.path.join(bundle, f"exec-{os.urandom(8).hex()}.resize")
        os.mkfifo(resize, 0o600)
    spec = [*(("args", a) for a in args), *(("env", e) for e in merged.values() or [""]),
            ("tty", "1" if tty else "0"), ("stdin", "1" if stdin else "0"),
            *((("user", user),) if user is not None else ()),
            *((("cwd", cwd),) if cwd is not None else ()),
            *((("resize", resize),) if resize else ()),
            # always given: the container's own (run -t) is no exec's
            ("winsize", f"{int(winsize[0])} {int(winsize[1])}"
             if tty and winsize and all(winsize) else "")]
    try:
        specfd = _bundle.pairs_memfd(spec)
    except BaseException:
        _unlink(resize)
        raise
    try:
        pidfd = _container_pidfd(bundle)
        try:
            argv = [shim_path(_data_root(bundle)), "exec", bundle, str(pidfd), str(specfd)]
            out = subprocess.DEVNULL if detach else subprocess.PIPE
            if terminal and tty and not detach:     # our stdio, untouched: never into the container
                proc = subprocess.Popen(argv, stdin=None if stdin else subprocess.DEVNULL,
                                        pass_fds=(pidfd, specfd))
                proc.resize_path = resize
                return proc
            proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT if tty and not detach else out,
                start_new_session=detach, pass_fds=(pidfd, specfd))
            proc.resize_path = resize       # the shim holds it open; exec_done() removes it
            return proc
        finally:
            os.close(pidfd)
    except BaseException:
        _unlink(resize)
        raise
    finally:
        os.close(specfd)


def _container_pidfd(bundle: str) -> int:
    """A pidfd of the running container's PID 1; Conflict when it isn't running.

    The pid in state.json is only the container's while its monitor hasn't reaped it, so the
    process behind the pidfd must be the monitor's child and PID 1 of its own namespace.
    """
    s = state(bundle)
    fd = _pidfd(s.pid) if s.status == "running" else None
    if fd is None:
        raise Conflict(f"container {os.path.basename(bundle)} is not running")
    try:
        with open(f"/proc/{s.pid}/status") as f:
            status = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
        signal.pidfd_send_signal(fd, 0)      # the file read above was this process's
        if status.get("PPid") != str(s.monitor) or status.get("NSpid", "").split()[-1:] != ["1"]:
            raise ProcessLookupError
    except (OSError, ProcessLookupError):
        os.close(fd)
        raise Conflict(f"container {os.path.basename(bundle)} is not running") from None
    return fd


def resize_exec(proc: subprocess.Popen, rows: int, cols: int) -> None:
    """Set the window size of an exec's TTY (exec(..., tty=True))."""
    path = getattr(proc, "resize_path", None)
    if path is None:
        raise Conflict("this exec has no TTY")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:          # the exec has ended (no reader, or already cleaned up)
        raise Conflict("the exec is not running") from exc
    try:
        os.write(fd, f"{int(rows)} {int(cols)}\n".encode())
    finally:
        os.close(fd)


def exec_done(proc: subprocess.Popen) -> None:
    """Remove what exec() made for `proc` once it has ended (its resize FIFO)."""
    _unlink(getattr(proc, "resize_path", None))


def _unlink(path: str | None) -> None:
    if path:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def resize(bundle: str, rows: int, cols: int) -> None:
    """Set the window size of a running container's TTY (the monitor reads the `resize` FIFO)."""
    try:
        fd = os.open(os.path.join(bundle, "resize"), os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise Conflict(f"container {os.path.basename(bundle)} has no TTY") from None
    except OSError as exc:          # ENXIO: no monitor holds the FIFO open
        raise Conflict(f"container {os.path.basename(bundle)} is not running") from exc
    try:
        os.write(fd, f"{int(rows)} {int(cols)}\n".encode())
    except BlockingIOError:         # sizes pile up unread: the monitor takes the latest anyway
        pass
    finally:
        os.close(fd)


def open_stdin(bundle: str):
    """The container's stdin (run -i), as a binary file to write to; closing it sends EOF.

    The monitor reads the bundle's `stdin` FIFO into the container; any process can attach.
    """
    return open(os.path.join(bundle, "stdin"), "wb", buffering=0)


def logs(bundle: str, *, follow: bool = False, tail: int | None = None, since=None,
         until=None, stop=lambda: False, file=None,
         run_of: int | None = None) -> Iterator[_logs.LogEntry]:
    """LogEntry(stream, time, data) from the container's log, its rotated files first (or
    `file`, opened earlier by open_log, from where it stands); follow reads on while it runs,
    restarts included (run_of=PID: while that run of it lasts), and `stop()` is false: a reader
    whose client left ends at the next poll. A container removed meanwhile has stopped."""
    if file is None:
        state(bundle)   # NotFound for a missing container

    def running() -> bool:
        try:
            s = state(bundle)
        except ContainerNotFound:
            return False
        if stop():
            return False
        return s.status == "running" and s.pid == run_of if run_of else s.status in ALIVE

    def pause(seconds):
        try:
            wait(bundle, seconds, exit_of=run_of)
        except ContainerNotFound:
            pass
    return _logs.read(bundle, follow=follow, tail=tail, since=since, until=until,
                      running=running, pause=pause, file=file)


def open_log(bundle: str, *, at_end: bool = True):
    """The container's log file, held open from now on (see logs.open_log)."""
    state(bundle)
    return _logs.open_log(bundle, at_end=at_end)


def _cgroup_dirs(bundle: str) -> list[str]:
    return _bundle.values(_bundle.read_pairs(bundle), "cg_rmdir")


def stats(bundle: str) -> dict:
    """cpu_usage_ns, memory_usage, memory_limit, memory_cache, pids, block_read and
    block_write of a running container (cgroup v1 or v2).

    Without a limit the cgroup says "max" or 2^63: the limit is then the host's memory, as
    `docker stats` shows it. Where the cgroup counts no block I/O (v2 without the io
    controller), its processes' /proc/PID/io do.
    """
    dirs = _cgroup_dirs(bundle)
    found = cgroups.stats(dirs)
    host = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if not found.get("memory_limit") or found["memory_limit"] > host:
        found["memory_limit"] = host
    if found.get("block_read") is None:
        found["block_read"], found["block_write"] = _processes_io(cgroups.procs(dirs))
    return found


def _processes_io(pids: list[int]) -> tuple[int, int]:
    """(read, written) bytes of storage I/O by these processes, from /proc/PID/io."""
    read = written = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/io") as f:
                fields = dict(line.split(": ", 1) for line in f.read().splitlines())
        except (OSError, ValueError):        # exited meanwhile
            continue
        read += int(fields.get("read_bytes", 0))
        written += int(fields.get("write_bytes", 0))
    return read, written


def top(bundle: str) -> list[dict]:
    """The processes in the container's cgroup: pid (host), user (uid), cmd."""
    out = []
    for pid in cgroups.procs(_cgroup_dirs(bundle)):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/status") as f:
                uid = next(line.split()[1] for line in f if line.startswith("Uid:"))
        except (OSError, StopIteration):
            continue         # exited meanwhile
        out.append({"pid": pid, "user": uid, "cmd": cmd})
    return out


def wait_exit_command(bundle: str, timeout: float = 10) -> None:
    """Wait until the monitor's on_exit command (it runs as the monitor's pid) has finished,
    so that nothing of the container is left running; at once if there is none."""
    raw = _read_state(bundle) or {}
    pid = raw.get("monitor") or 0
    if not raw.get("on_exit") or pid == os.getpid() or raw.get("status") in ALIVE:
        return                  # the state says whether the monitor runs its exit command
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if os.path.basename(bundle).encode() not in f.read():
                return                  # gone, or a reused pid
    except OSError:
        return
    fd = _pidfd(pid)
    if fd is not None:
        try:
            select.select([fd], [], [], timeout)
        finally:
            os.close(fd)


def pids(bundle: str) -> list[int]:
    """The host pids of the container's processes, from its cgroup."""
    return cgroups.procs(_cgroup_dirs(bundle))


def paused(bundle: str) -> bool:
    """Whether the container's cgroup is frozen (docker pause); False once it is removed."""
    try:
        return cgroups.is_frozen(_cgroup_dirs(bundle))
    except FileNotFoundError:       # removed while we looked
        return False


def freeze(bundle: str, frozen: bool) -> None:
    """Freeze (pause) or thaw the container's processes with the cgroup freezer."""
    try:
        cgroups.freeze(_cgroup_dirs(bundle), frozen)
    except OSError as exc:
        raise HostError(f"{'pause' if frozen else 'unpause'} {os.path.basename(bundle)}: "
                        f"{exc.strerror}") from None


def update_limits(bundle: str, limits: dict, device_accesses=()) -> None:
    """New cgroup limits (cgroups.plan's keywords): written to the live cgroup when running,
    and to the spec for later starts, keeping the device rules the container was made with."""
    pairs = _bundle.read_pairs(bundle)
    cid = _bundle.values(pairs, "id")[0]
    plan = cgroups.plan(cid, **limits, devices=_bundle.device_rules(pairs, device_accesses))
    if state(bundle).status == "running":
        missing = [d for k, d in plan if k == "cg_mkdir" and not os.path.isdir(d)]
        if missing:
            raise Conflict(f"the running container has no {missing[0].split('/')[-3]} cgroup "
                           "to update: stop it, update it and start it again")
        try:
            cgroups.apply(plan)
        except OSError as exc:
            raise HostError(exc.strerror) from None
    _bundle.replace_cgroup_pairs(bundle, plan)


def remove(bundle: str) -> None:
    """Delete a container that is not running: cgroup leftovers, then its directory."""
    try:
        s = state(bundle)
        cgroup_dirs = _cgroup_dirs(bundle)
    except FileNotFoundError:       # another process is removing it right now
        raise ContainerNotFound(f"No such container: {os.path.basename(bundle)}") from None
    if s.status in ALIVE:
        raise Conflict(f"You cannot remove a {s.status} container {os.path.basename(bundle)}. "
                       "Stop the container before attempting removal or force remove")
    # Rename first: of two processes removing one container (a `run -d --rm` reaper and a
    # user's `rm`), exactly one wins; the other is told it is gone, not shown a traceback.
    doomed = f"{bundle}.removing-{os.getpid()}"
    try:
        os.rename(bundle, doomed)
    except FileNotFoundError:
        raise ContainerNotFound(f"No such container: {os.path.basename(bundle)}") from None
    for d in cgroup_dirs:
        for path in (d, os.path.dirname(d)):     # the shared `dockyard` parent only when empty
            try:
                os.rmdir(path)
            except OSError:
                pass
    shutil.rmtree(doomed)
