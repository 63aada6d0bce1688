"""After a reboot of the engine host, containers whose restart policy says so start again.

Monitors die with their host, so no monitor restarts its container after a reboot: the first
use of the containers of a data root after it does (any engine process: the CLI, a notebook,
the API server), as dockerd does when it starts. `dockyard system start` runs the same check at
boot, for hosts where containers must come back before anyone uses the engine.

A reboot is a new boot id (/proc/sys/kernel/random/boot_id): the data root keeps the one it
last saw in `<root>/boot_id`, each monitor records its own in state.json. Docker's rule, for
containers that last ran in an earlier boot: `always` starts again, `unless-stopped` unless it
was stopped by hand (stop, kill), `on-failure` if it was not stopped by hand and failed (a
container the reboot killed counts as failed); `no` and never-started containers stay as they
are.
"""
import contextlib
import errno
import fcntl
import os

from .errors import DockyardError


def _read(path) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        return ""


def should_start(container, boot: str) -> bool:
    """Whether `container` comes back in boot `boot` (Docker's ShouldRestart at daemon start)."""
    policy = (container.record["HostConfig"].get("RestartPolicy") or {}).get("Name") or "no"
    state = container.state
    if policy == "no" or state.status == "created" or state.boot_id in ("", boot):
        return False
    by_hand = (container.bundle / container.engine.runtime.STOPPED_MARK).exists()
    if policy == "always":
        return True
    if policy == "unless-stopped":
        return not by_hand
    failed = state.status != "exited" or state.exit_code != 0
    return policy == "on-failure" and failed and not by_hand


def after_reboot(engine) -> list:
    """Start what must come back after a reboot: once per boot and data root (two small reads
    otherwise). Returns the containers started; one that fails to start is left as it is."""
    boot = engine.runtime.boot_id()
    mark = engine.root / "boot_id"
    if _read(mark) == boot:
        return []
    started = []
    try:
        lock = open(engine.root / "boot_id.lock", "w")
    except OSError as exc:
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC):
            return []       # a root one can't write to: nothing could be started either
        raise
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)        # one process per data root does it
        if _read(mark) == boot:
            return []
        for container in engine.containers.list(all=True):
            if should_start(container, boot):
                try:
                    engine.containers.start(container)
                except DockyardError:           # its image or network is gone: stays stopped
                    continue
                started.append(container)
        tmp = f"{mark}.{os.getpid()}.tmp"
        try:
            with open(tmp, "w") as f:
                f.write(boot + "\n")
            os.replace(tmp, mark)
        except OSError:                 # a full disk: the next use looks again
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return started
