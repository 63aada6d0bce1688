"""Instruction flags (``--name=value``) as buildkit's BFlags declares, parses and reads them.

An instruction class declares each flag it accepts as a ``Flag`` attribute, which also reads
the flag's value back::

    class Copy(Instruction):
        chown = Flag(STRING, expand=True)        # ins.chown: the last value, or ""
        link = Flag(BOOL)                        # ins.link: True/False
        excludes = Flag(STRINGS, "exclude", expand=True)   # ins.excludes: every value

``parse_flags(allowed, raw)`` checks raw flags against such declarations and gives
``{name: [value, ...]}``: a bool flag's value is "true" or "false", a string flag has one
value, a repeatable flag (``--mount``, ``--exclude``) one per use. ``parse_mount`` turns a
``RUN --mount`` value into a dict with every field filled in with Docker's default;
``parse_duration`` reads Go durations (``30s``, ``1m30s``) as nanoseconds.
"""
from __future__ import annotations

import posixpath
import re

from ..errors import DockerfileError

BOOL, STRING, STRINGS = "bool", "string", "strings"
_DEFAULTS = {BOOL: False, STRING: "", STRINGS: ()}
_BY_KIND = object()


class Flag:
    """One flag an instruction accepts; on an instruction, the attribute reads its value.

    ``name`` defaults to the attribute's (``keep_git_dir`` -> ``keep-git-dir``, ``from_`` ->
    ``from``); ``expand`` says whether Docker applies variables to its values; ``default`` is
    what reading gives when the flag wasn't used ("", False or [] by kind; ADD's ``--unpack``
    has None, for "Docker's default").
    """

    def __init__(self, kind: str, name: str = "", *, expand: bool = False, default=_BY_KIND):
        self.kind, self.name, self.expand = kind, name, expand
        self.default = _DEFAULTS[kind] if default is _BY_KIND else default

    def __set_name__(self, owner, attribute: str) -> None:
        self.name = self.name or attribute.rstrip("_").replace("_", "-")

    def __get__(self, instruction, owner=None):
        if instruction is None:
            return self
        values = instruction.flags.get(self.name)
        if not values:
            return list(self.default) if self.kind == STRINGS else self.default
        if self.kind == STRINGS:
            return list(values)
        return values[-1] == "true" if self.kind == BOOL else values[-1]


NETWORK_MODES = ("default", "none", "host")
SECURITY_MODES = ("sandbox", "insecure")
MOUNT_TYPES = ("bind", "cache", "tmpfs", "secret", "ssh")
SHARING_MODES = ("shared", "private", "locked")
_MOUNT_KEYS = {
    "type": "type", "from": "from", "source": "source", "src": "source", "target": "target",
    "dst": "target", "destination": "target", "readonly": "readonly", "ro": "readonly",
    "readwrite": "readwrite", "rw": "readwrite", "id": "id", "sharing": "sharing",
    "mode": "mode", "uid": "uid", "gid": "gid", "size": "size", "required": "required",
    "env": "env",
}
_DURATION_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6, "s": 10**9,
                   "m": 60 * 10**9, "h": 3600 * 10**9}
_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([kmgtp]?)i?b?\Z", re.IGNORECASE)


def parse_flags(allowed: dict[str, Flag], raw: list[str]) -> dict[str, list[str]]:
    """Check ``raw`` flags against the ``allowed`` declarations; values are not expanded here."""
    out: dict[str, list[str]] = {}
    for arg in raw:
        if not arg.startswith("--"):
            raise DockerfileError(f"arg should start with -- : {arg}")
        if arg == "--":
            break
        name, eq, value = arg[2:].partition("=")
        declared = allowed.get(name)
        if declared is None:
            hint = _suggest(name, allowed)
            raise DockerfileError(f"unknown flag: {name}" + (f" (did you mean {hint}?)" if hint else ""))
        kind = declared.kind
        if name in out and kind != STRINGS:
            raise DockerfileError(f"duplicate flag specified: {name}")
        if kind == BOOL:
            if eq and value == "":
                raise DockerfileError(f"missing a value on flag: {name}")
            if value.lower() not in ("", "true", "false"):
                raise DockerfileError(f"expecting boolean value for flag {name}, not: {value}")
            out[name] = ["false" if value.lower() == "false" else "true"]
            continue
        if not eq:
            raise DockerfileError(f"missing a value on flag: {name}")
        out.setdefault(name, []).append(value)
    return out


def _suggest(name: str, allowed) -> str | None:
    import difflib
    close = difflib.get_close_matches(name, list(allowed), n=1, cutoff=0.6)
    return close[0] if close else None


def check_run_flags(flags: dict[str, list[str]]) -> None:
    """Refuse RUN flag values Docker refuses before running anything."""
    for value in flags.get("network", []):
        if value not in NETWORK_MODES:
            raise DockerfileError(f"unsupported network mode {value!r} "
                                  f"(one of {', '.join(NETWORK_MODES)})")
    for value in flags.get("security", []):
        if value not in SECURITY_MODES:
            raise DockerfileError(f"unsupported security mode {value!r}")


def _split_csv(value: str) -> list[str]:
    import csv
    try:
        rows = list(csv.reader([value], strict=True))
    except csv.Error as exc:
        raise DockerfileError(f"invalid mount {value!r}: {exc}") from None
    return rows[0] if rows else []


def _parse_bool(key: str, value: str) -> bool:
    if value.lower() in ("1", "t", "true"):
        return True
    if value.lower() in ("0", "f", "false"):
        return False
    raise DockerfileError(f"invalid value for {key}: {value}")


def parse_mounts(values: list[str], expand=None) -> list[dict]:
    """Every ``--mount`` of one RUN; ssh mounts are numbered in order for their socket path."""
    out, ssh = [], 0
    for value in values:
        mount = parse_mount(value, expand, ssh)
        ssh += mount["type"] == "ssh"
        out.append(mount)
    return out


def parse_mount(value: str, expand=None, secret_index: int = 0) -> dict:
    """One ``--mount`` value as a dict: type, target, source, from, readonly, id, sharing,
    mode, uid, gid, size, required, env. ``expand`` (str -> str) is applied to field values.
    """
    fields: dict = {}
    readonly = None
    for field in _split_csv(value):
        key, eq, val = field.partition("=")
        name = _MOUNT_KEYS.get(key.strip().lower())
        if name is None:
            raise DockerfileError(f"unexpected key '{key}' in '{field}'")
        if expand is not None:
            val = expand(val)
        if name in ("readonly", "readwrite"):
            flag = _parse_bool(key, val) if eq else True
            readonly = flag if name == "readonly" else not flag
        elif name == "required":
            fields["required"] = _parse_bool(key, val) if eq else True
        elif not eq:
            raise DockerfileError(f"invalid field '{field}' must be a key=value pair")
        else:
            fields[name] = val
    kind = fields.get("type", "bind").lower()
    if kind not in MOUNT_TYPES:
        raise DockerfileError(f"unsupported mount type {kind!r}")
    mount = {"type": kind, "target": fields.get("target", ""), "source": fields.get("source", ""),
             "from": fields.get("from", ""), "id": fields.get("id", ""),
             "sharing": fields.get("sharing", "shared").lower(), "mode": None, "uid": None,
             "gid": None, "size": None, "required": fields.get("required", False),
             "env": fields.get("env", "")}
    # Bind mounts are read-only unless asked otherwise; cache and tmpfs are writable.
    mount["readonly"] = readonly if readonly is not None else kind in ("bind", "secret", "ssh")
    if mount["sharing"] not in SHARING_MODES:
        raise DockerfileError(f"unsupported sharing value {mount['sharing']!r}")
    for key, base in (("mode", 8), ("uid", 10), ("gid", 10)):
        if key in fields:
            try:
                mount[key] = int(fields[key], base)
            except ValueError:
                raise DockerfileError(f"invalid value for {key}: {fields[key]}") from None
            if mount[key] < 0:
                raise DockerfileError(f"invalid value for {key}: {fields[key]}")
    if "size" in fields:
        mount["size"] = parse_size(fields["size"])
    _mount_defaults(mount, fields, secret_index)
    return mount


def _mount_defaults(mount: dict, fields: dict, index: int) -> None:
    kind = mount["type"]
    if kind == "secret":
        if not mount["id"] and mount["target"]:
            mount["id"] = posixpath.basename(mount["target"])
        if not mount["target"] and not mount["env"]:
            if not mount["id"]:
                raise DockerfileError("one of source, target required")
            mount["target"] = "/run/secrets/" + mount["id"]
        mount["mode"] = 0o400 if mount["mode"] is None else mount["mode"]
    elif kind == "ssh":
        mount["id"] = mount["id"] or "default"
        mount["target"] = mount["target"] or f"/run/buildkit/ssh_agent.{index}"
        mount["mode"] = 0o600 if mount["mode"] is None else mount["mode"]
    elif not mount["target"]:
        raise DockerfileError(f"mount type {kind} requires a target")
    if kind == "cache":
        mount["id"] = mount["id"] or mount["target"]
        mount["mode"] = 0o755 if mount["mode"] is None else mount["mode"]
    for key in ("uid", "gid"):
        mount[key] = 0 if mount[key] is None and kind in ("cache", "secret", "ssh") else mount[key]
    if kind == "tmpfs" and fields.get("source"):
        raise DockerfileError("tmpfs mounts take no source")


def parse_size(text: str) -> int:
    """A tmpfs size like ``64m``, ``1g`` or ``1048576`` in bytes (powers of 1024)."""
    match = _SIZE.match(text.strip())
    if not match:
        raise DockerfileError(f"invalid size: {text!r}")
    number, unit = match.groups()
    return int(float(number) * 1024 ** " kmgtp".index(unit.lower() or " "))


def parse_duration(text: str) -> int:
    """A Go duration (``1h2m3.5s``, ``300ms``, ``0``) in nanoseconds, as time.ParseDuration."""
    orig, rest, sign = text, text, 1
    if rest[:1] in "+-" and rest:
        sign, rest = (-1 if rest[0] == "-" else 1), rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise DockerfileError(f"time: invalid duration {_go_quote(orig)}")
    total, pos = 0.0, 0
    while pos < len(rest):
        match = _DURATION_PART.match(rest, pos)
        if not match or match.group(1) in ("", "."):
            if match is None and re.match(r"[0-9.]+\Z", rest[pos:]):
                raise DockerfileError(f"time: missing unit in duration {_go_quote(orig)}")
            raise DockerfileError(f"time: invalid duration {_go_quote(orig)}")
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    return sign * int(round(total))


def _go_quote(text: str) -> str:
    import json
    return json.dumps(text, ensure_ascii=False)
