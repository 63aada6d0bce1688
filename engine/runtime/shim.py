"""The path of the compiled shim, built from shim*.c with the system C compiler on first use.

The binary is keyed by the sources' and flags' sha256, so an edited source is rebuilt. It lands next to the
source (in __pycache__, which git ignores) when that is writable, else in <data_root>/bin. The
build runs under a lock and is renamed into place, so concurrent processes never see half a file.
"""
import fcntl
import hashlib
import os
import shutil
import subprocess

from ..errors import Unsupported

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCES = tuple(os.path.join(HERE, name) for name in (
    "shim.c", "shim_spec.c", "shim_mount.c", "shim_bpf.c", "shim_monitor.c", "shim_log.c",
    "shim_health.c", "shim_dns.c", "shim_dnsmsg.c", "shim_dnstcp.c", "shim_nft.c"))
HEADERS = tuple(os.path.join(HERE, name) for name in ("shim.h", "shim_dns.h"))
# Warnings are errors, and glibc's and gcc's checks stay on: the shim runs as root between
# clone and exec of every container.
CFLAGS = ("-O2", "-Wall", "-Wextra", "-Werror", "-D_FORTIFY_SOURCE=2", "-fstack-protector-strong")
_built: dict[str, str] = {}     # source digest -> binary path, for this process


def _digest() -> str:
    h = hashlib.sha256(" ".join(CFLAGS).encode())
    for path in (*SOURCES, *HEADERS):
        with open(path, "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def _candidates(data_root) -> list[str]:
    dirs = [os.path.join(HERE, "__pycache__")]
    if data_root:
        dirs.append(os.path.join(str(data_root), "bin"))
    return dirs


def _compile(target: str) -> None:
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise Unsupported("no C compiler to build the container shim (apt-get install gcc libc6-dev)")
    tmp = f"{target}.{os.getpid()}.tmp"
    # Static when libc.a is there (libc6-dev): no dynamic loader at start-up, less shared memory.
    for extra in (["-static"], []):
        done = subprocess.run([cc, *CFLAGS, *extra, "-o", tmp, *SOURCES], capture_output=True, text=True)
        if done.returncode == 0:
            os.replace(tmp, target)
            return
    raise Unsupported(f"building the container shim failed: {done.stderr.strip()[-400:]}")


def shim_path(data_root=None) -> str:
    """The shim binary for the current shim.c, compiling it if needed."""
    digest = _digest()
    if digest in _built:
        return _built[digest]
    error = None
    for folder in _candidates(data_root):
        target = os.path.join(folder, f"dockyard-shim-{digest}")
        if os.access(target, os.X_OK):
            _built[digest] = target
            return target
        try:
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, ".dockyard-shim.lock"), "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)     # one build at a time; the others reuse it
                if not os.access(target, os.X_OK):
                    _compile(target)
        except PermissionError as exc:
            error = exc
            continue
        _built[digest] = target
        return target
    raise Unsupported(f"no writable place for the container shim: {error}")
