"""Small storage helpers for the engine's JSON records: atomic writes and timestamps."""
import json
import os
import time


def atomic_write_json(path, value) -> None:
    """Write JSON to a temp file beside `path`, fsync, rename: readers see old or new, never half."""
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(value, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def now_rfc3339() -> str:
    """UTC now with nanoseconds, as Docker writes times: 2026-11-28T02:46:38.896670624Z."""
    ns = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + f".{ns % 10**9:09d}Z"
