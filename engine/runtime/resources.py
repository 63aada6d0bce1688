"""Docker's resource flags, parsed and checked with Docker's words: -m and --memory-swap
(RAMInBytes), --shm-size, --cpus, --cpuset-cpus, --cpu-shares and --ulimit.

    parse_memory("1.5g") == 3 << 29;  parse_rlimits(["nofile=1024:2048"]) == (("nofile", 1024, 2048),)
"""
import math
import os
import re

from ..errors import InvalidArgument

MIN_MEMORY = 6 * 1024 * 1024      # Docker refuses less
RLIMITS = {"cpu": 0, "fsize": 1, "data": 2, "stack": 3, "core": 4, "rss": 5, "nproc": 6,
           "nofile": 7, "memlock": 8, "as": 9, "locks": 10, "sigpending": 11, "msgqueue": 12,
           "nice": 13, "rtprio": 14, "rttime": 15}
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def parse_memory(value, *, minimum: int = MIN_MEMORY) -> int:
    """"64m", "1g", "1.5G", "100000" or an int -> bytes (Docker's RAMInBytes); 0 stays 0."""
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgtpb]?)b?\s*", str(value), re.I)
        if not match:
            raise InvalidArgument(f"invalid size: '{value}'")
        size = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if size < 0:
        raise InvalidArgument(f"invalid size: '{value}'")
    if 0 < size < minimum:
        raise InvalidArgument(f"Minimum memory limit allowed is {minimum // (1 << 20)}MB")
    return size


def parse_cpus(value) -> float:
    """"0.5" -> 0.5; Docker's range check against this host's CPU count."""
    try:
        cpus = float(value)
    except (TypeError, ValueError):
        raise InvalidArgument(f"invalid argument {value!r} for \"--cpus\" flag") from None
    host = os.cpu_count() or 1
    if not math.isfinite(cpus) or cpus <= 0 or cpus > host:
        raise InvalidArgument(f"Range of CPUs is from 0.01 to {host}.00, as there are only "
                              f"{host} CPUs available")
    return cpus


def parse_rlimits(ulimits) -> tuple[tuple[str, int, int], ...]:
    """{"nofile": (1024, 2048)} or ["nofile=1024:2048"] -> (("nofile", 1024, 2048),)."""
    items = ulimits.items() if isinstance(ulimits, dict) else (
        u.split("=", 1) if "=" in u else (u, "") for u in ulimits or ())
    out = []
    for name, value in items:
        if name not in RLIMITS:
            raise InvalidArgument(f"invalid ulimit type: {name}")
        if isinstance(value, str):
            soft, _, hard = value.partition(":")
            try:
                value = (int(soft), int(hard or soft))
            except ValueError:
                raise InvalidArgument(f"invalid ulimit argument: {name}={value}") from None
        soft, hard = (value, value) if isinstance(value, int) else value
        if hard != -1 and soft > hard:
            raise InvalidArgument(f"ulimit soft limit must be less than or equal to hard limit: "
                                  f"{soft} > {hard}")
        out.append((name, soft, hard))
    return tuple(out)


def parse_memory_swap(value, memory: int) -> int:
    """--memory-swap: total of memory and swap; -1 unlimited; unset: Docker's default."""
    if value in (None, "", 0, "0"):
        return 0
    swap = -1 if str(value) == "-1" else parse_memory(value, minimum=0)
    if not memory:
        raise InvalidArgument("You should always set the Memory limit when using Memoryswap "
                              "limit, see usage")
    if swap != -1 and swap < memory:
        raise InvalidArgument("Minimum memoryswap limit should be larger than memory limit, "
                              "see usage")
    return swap


def shm_bytes(value) -> int:
    """--shm-size in bytes; Docker's 64 MiB when unset."""
    return parse_memory(value, minimum=1) if value not in (None, "") else 64 << 20


def parse_cpuset(value: str | None) -> str:
    """--cpuset-cpus "0-2,4": checked against the CPUs this process may use."""
    if not value:
        return ""
    wanted = set()
    try:
        for part in str(value).split(","):
            low, _, high = part.partition("-")
            wanted.update(range(int(low), int(high or low) + 1))
    except ValueError:
        raise InvalidArgument(f"Invalid value {value} for cpuset cpus") from None
    available = os.sched_getaffinity(0)
    if not wanted or not wanted <= available:
        have = ",".join(str(c) for c in sorted(available))
        raise InvalidArgument(f"Requested CPUs are not available - requested {value}, "
                              f"available: {have}")
    return str(value)


def parse_cpu_shares(value) -> int:
    """--cpu-shares: 0 is the default weight; the kernel's range is 2..262144."""
    if not value:
        return 0
    if int(value) < 0:
        raise InvalidArgument(f"invalid CPU shares: {value}")
    return min(max(int(value), 2), 262144)
