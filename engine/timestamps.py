"""Docker's --since/--until values as Unix times: durations, RFC 3339 times, Unix timestamps.

    parse_timestamp("10m", now=1000.0)                 # 400.0 (ten minutes before now)
    parse_timestamp("2024-05-01T12:00:00Z")            # 1714564800.0
    parse_timestamp("1714564800.5")                    # 1714564800.5
    rfc3339(1714564800.5)                              # "2024-05-01T12:00:00.500000000Z"
"""
import calendar
import datetime
import re
import time

from .errors import InvalidArgument

_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def _duration(text: str) -> float | None:
    """Go's time.ParseDuration ("1h30m", "10s", "1.5h") in seconds, or None."""
    pos, total = 0, 0.0
    while pos < len(text):
        match = _DURATION.match(text, pos)
        if not match:
            return None
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    return total if text else None


def parse_timestamp(value: str, *, now: float | None = None, flag: str = "--since") -> float:
    """A Unix time from what `docker logs --since` accepts; InvalidArgument naming `flag`."""
    text = str(value).strip()
    now = time.time() if now is None else now
    seconds = _duration(text)
    if seconds is not None:
        return now - seconds
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument(f'invalid value for "{flag}": failed to parse value as time or '
                              f"duration: {value!r}") from None
    if parsed.tzinfo is None:       # Docker reads a time without a zone as local time
        return time.mktime(parsed.timetuple()) + parsed.microsecond / 1e6
    return parsed.timestamp()


def rfc3339(unix: float) -> str:
    """A Unix time as the log's RFC 3339 UTC form with nanoseconds, comparable as text."""
    whole = int(unix)
    frac = min(round((unix - whole) * 1e9), 999_999_999)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{frac:09d}Z"


def from_rfc3339(text: str) -> float:
    """The Unix time of an RFC 3339 UTC string ("...Z", any fraction)."""
    stamp, _, frac = text.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%S")) + float("0." + (frac or "0"))
