"""Docker's --since/--until values: durations, RFC 3339 times, Unix timestamps, to the nanosecond.

    parse_ns("10m", now_ns=1000 * 10**9)            # 400 * 10**9 (ten minutes before now)
    parse_ns("2024-05-01T12:00:00.000000001Z")      # 1714564800000000001
    parse_ns("1714564800.5")                        # 1714564800500000000
    rfc3339_ns(1714564800500000000)                 # "2024-05-01T12:00:00.500000000Z"

Nanoseconds are kept exactly (a float can't hold them at today's Unix times), so a log entry's
own time given back as --since or --until selects that entry.
"""
import calendar
import datetime
import re
import time

from ..errors import InvalidArgument

_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9,
          "h": 3600 * 10**9}
_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d)(?::(\d\d)(?::(\d\d)(?:\.(\d+))?)?)?)?"
                   r"(Z|[+-]\d\d:?\d\d)?")


def _duration_ns(text: str) -> int | None:
    """Go's time.ParseDuration ("1h30m", "10s", "1.5h") in nanoseconds, or None."""
    pos, total = 0, 0
    while pos < len(text):
        match = _DURATION.match(text, pos)
        if not match:
            return None
        total += round(float(match.group(1)) * _UNITS[match.group(2)])
        pos = match.end()
    return total if text else None


def _time_ns(text: str) -> int | None:
    match = _TIME.fullmatch(text)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    fields = [int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)]
    try:
        moment = datetime.datetime(*fields)
    except ValueError:
        return None
    if zone is None:                # Docker reads a time without a zone as local time
        seconds = int(time.mktime(moment.timetuple()))
    else:
        seconds = calendar.timegm(moment.timetuple())
        if zone != "Z":
            sign = 1 if zone[0] == "+" else -1
            digits = zone[1:].replace(":", "")
            seconds -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return seconds * 10**9 + int((fraction or "0")[:9].ljust(9, "0"))


def unix_seconds(rfc3339: str | None) -> float:
    """Unix seconds of an RFC 3339 time (a record's Created), 0.0 when it isn't one."""
    ns = _time_ns(rfc3339 or "")
    return ns / 10**9 if ns is not None else 0.0


def parse_ns(value: str, *, now_ns: int | None = None, flag: str = "--since") -> int:
    """Unix nanoseconds from what `docker logs --since` accepts; InvalidArgument naming `flag`."""
    text = str(value).strip()
    now_ns = time.time_ns() if now_ns is None else now_ns
    found = _duration_ns(text)
    if found is not None:
        return now_ns - found
    if re.fullmatch(r"\d+(\.\d+)?", text):
        whole, _, fraction = text.partition(".")
        return int(whole) * 10**9 + int(fraction[:9].ljust(9, "0"))
    found = _time_ns(text)
    if found is None:
        raise InvalidArgument(f'invalid value for "{flag}": failed to parse value as time or '
                              f"duration: {value!r}")
    return found


def parse_timestamp(value: str, *, now: float | None = None, flag: str = "--since") -> float:
    """parse_ns in (float) seconds."""
    return parse_ns(value, now_ns=None if now is None else int(now * 10**9), flag=flag) / 10**9


def rfc3339_ns(ns: int) -> str:
    """Unix nanoseconds as the log's RFC 3339 UTC form, comparable as text with its entries."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + f".{ns % 10**9:09d}Z"
