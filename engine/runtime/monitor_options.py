"""Docker's options for what a container's monitor does, as plain values: the restart policy,
the json-file log's rotation and the health check. Pure; errors in Docker's words.

    restart_policy("on-failure:3")            # ("on-failure", 3)
    log_config("json-file", {"max-size": "10m", "max-file": "3"})   # ("json-file", 10000000, 3)
    healthcheck(image_config, {"test": "curl -f localhost", "interval": "5s"})
"""
import re

from ..errors import InvalidArgument
from .spec import Healthcheck

POLICIES = ("no", "always", "unless-stopped", "on-failure")
LOG_DRIVERS = ("json-file", "none")
JSON_FILE_OPTS = ("max-size", "max-file", "compress", "labels", "labels-regex", "env",
                  "env-regex", "tag")
_HUMAN_SIZE = re.compile(r"^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$")
MIN_DURATION = 1_000_000        # Docker refuses health durations between 0 and 1 ms


def restart_policy(value) -> tuple[str, int]:
    """--restart NAME[:N], or docker-py's {"Name": ..., "MaximumRetryCount": N}: (name, N)."""
    if value in (None, ""):
        return "no", 0
    if isinstance(value, dict):
        name, count = value.get("Name") or "no", value.get("MaximumRetryCount") or 0
    else:
        name, colon, count = str(value).partition(":")
        if colon and not name:
            raise InvalidArgument("invalid restart policy format: no policy provided before colon")
        if count and not re.fullmatch(r"[+-]?\d+", count):
            raise InvalidArgument("invalid restart policy format: maximum retry count must be an "
                                  "integer")
    count = int(count or 0)
    if name not in POLICIES:
        raise InvalidArgument(f"invalid restart policy: unknown policy '{name}'; use one of "
                              "'no', 'always', 'on-failure', or 'unless-stopped'")
    if name != "on-failure" and count:
        raise InvalidArgument("invalid restart policy: maximum retry count can only be used with "
                              "'on-failure'" + (" and cannot be negative" if count < 0 else ""))
    if count < 0:
        raise InvalidArgument("invalid restart policy: maximum retry count cannot be negative")
    return name, count


def from_human_size(text: str) -> int:
    """Docker's units.FromHumanSize: "10m" = 10,000,000 bytes (decimal, as json-file reads it)."""
    match = _HUMAN_SIZE.match(text.strip())
    if not match:
        raise InvalidArgument(f"invalid size: '{text}'")
    number, unit = match.groups()
    return int(float(number) * 1000 ** " kmgtp".index((unit or " ").lower()))


def log_config(driver: str | None, opts: dict | None) -> tuple[str, int, int]:
    """--log-driver and --log-opt KEY=VALUE: (driver, max_size bytes or 0, max_file)."""
    driver = driver or "json-file"
    opts = dict(opts or {})
    if driver not in LOG_DRIVERS:
        raise InvalidArgument(f'logging driver "{driver}" is not supported here (json-file or none)')
    for key in opts:
        if driver == "none" or key not in JSON_FILE_OPTS:
            raise InvalidArgument(f"unknown log opt '{key}' for {driver} log driver")
    if str(opts.get("compress", "false")).lower() not in ("false", "0"):
        raise InvalidArgument("log opt 'compress' is not supported here: rotated logs stay plain")
    max_size = 0
    if "max-size" in opts and str(opts["max-size"]) != "-1":
        max_size = from_human_size(str(opts["max-size"]))
        if max_size <= 0:
            raise InvalidArgument("max-size must be a positive number")
    max_file = 1
    if "max-file" in opts:
        if not re.fullmatch(r"[+-]?\d+", str(opts["max-file"])):
            raise InvalidArgument(f"invalid max-file: '{opts['max-file']}'")
        max_file = int(opts["max-file"])
        if max_file < 1:
            raise InvalidArgument("max-file cannot be less than 1")
    return driver, max_size, max_file


_HEALTH_KEYS = {"test": "Test", "interval": "Interval", "timeout": "Timeout",
                "retries": "Retries", "start_period": "StartPeriod",
                "start_interval": "StartInterval"}


def _nanoseconds(value, name: str) -> int:
    if isinstance(value, str):
        from ..dockerfile.flags import parse_duration
        from ..errors import DockerfileError
        try:
            value = parse_duration(value)
        except DockerfileError as exc:
            raise InvalidArgument(f'invalid argument "{value}" for "--health-'
                                  f'{name.replace("_", "-")}" flag: {exc.reason}') from None
    value = int(value or 0)
    if value < 0:
        raise InvalidArgument(f"--health-{name.replace('_', '-')} cannot be negative")
    if 0 < value < MIN_DURATION:
        raise InvalidArgument(f"{_HEALTH_KEYS[name]} in Healthcheck cannot be less than 1ms")
    return value


def health_config(user: dict | None) -> dict | None:
    """docker-py's healthcheck={...} (or the --health-* flags) as Docker's Config.Healthcheck:
    {"Test": [...], "Interval": ns, ...}, only the fields given; None when nothing was."""
    if not user:
        return None
    out = {}
    for key, value in user.items():
        docker_key = _HEALTH_KEYS.get(key, key)
        name = {v: k for k, v in _HEALTH_KEYS.items()}.get(docker_key)
        if name is None:
            raise InvalidArgument(f"unknown healthcheck option: {key}")
        if value in (None, "", 0, [], ()):
            continue
        if name == "test":
            out["Test"] = ["CMD-SHELL", value] if isinstance(value, str) else list(value)
        elif name == "retries":
            if int(value) < 0:
                raise InvalidArgument("--health-retries cannot be negative")
            out["Retries"] = int(value)
        else:
            out[docker_key] = _nanoseconds(value, name)
    return out or None


def merge_health(image: dict | None, user: dict | None) -> dict | None:
    """Docker's merge: the user's fields over the image's HEALTHCHECK, field by field."""
    if not image and not user:
        return None
    merged = dict(image or {})
    if user:
        if user.get("Test"):
            merged = {"Test": user["Test"]} if user["Test"] == ["NONE"] else {**merged, **user}
        else:
            merged.update(user)
    return merged if merged.get("Test") else None


def healthcheck(config: dict | None) -> Healthcheck | None:
    """The monitor's Healthcheck from Docker's Config.Healthcheck; None for none or NONE."""
    test = tuple((config or {}).get("Test") or ())
    if not test or test[0] == "NONE":
        return None
    if test[0] not in ("CMD", "CMD-SHELL") or len(test) < 2 or (test[0] == "CMD-SHELL"
                                                                and len(test) != 2):
        raise InvalidArgument(f"invalid healthcheck test {list(test)}: CMD ARG... or "
                              "CMD-SHELL COMMAND expected")
    return Healthcheck(test=test, interval=config.get("Interval", 0),
                       timeout=config.get("Timeout", 0), start_period=config.get("StartPeriod", 0),
                       start_interval=config.get("StartInterval", 0),
                       retries=config.get("Retries", 0))
