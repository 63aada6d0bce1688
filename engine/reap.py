"""`python -m dockyard.engine.reap ROOT ID`: clean up after a container's exit.

The container's monitor execs this once the container has exited (unless an engine process
waits for the exit and does it itself), so it happens even when no engine process is running:
an auto-remove container (`run -d --rm`) is removed, any other gives back its network
(addresses, published ports, netns, veths) until it starts again. See recovery.settle.
"""
import ctypes
import os
import sys

CLONE_NEWPID = 0x20000000


def _children_in_own_pid_namespace() -> None:
    """The monitor unshared a PID namespace for the container; exec kept that as the one our
    children go to, and its init is dead, so every fork (nft, ...) would fail with ENOMEM.
    setns(2) to our own namespace puts children back where we are."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, CLONE_NEWPID) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns(/proc/self/ns/pid): {os.strerror(err)}")
    finally:
        os.close(fd)


def main(root: str, cid: str) -> int:
    if not os.path.isdir(os.path.join(root, "containers", cid)):
        return 0                  # removed already (or the whole data root): nothing to do
    _children_in_own_pid_namespace()
    from . import Engine
    from .recovery import settle
    # No intent of its own: killed half-way, it leaves the netns file, which the next engine
    # use finds (recovery.recover); an auto-remove's removal records its own.
    settle(Engine(root), cid)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
