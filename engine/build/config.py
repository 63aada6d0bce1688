"""Metadata instructions applied to an image config, and their `docker history` lines.

    config, created_by = apply_metadata({"Env": []}, instruction, cmd_set=False)
    apply_changes({"Cmd": ["sh"]}, ['CMD ["echo", "hi"]', "ENV A=1"])   # import/commit -c

`config` is the container config inside the OCI image config (Env, Cmd, Entrypoint, ...).
History lines follow BuildKit: `ENV A=1`, `CMD ["sh"]`, `EXPOSE map[80/tcp:{}]`.
"""
from __future__ import annotations

import copy
import json
import posixpath

from ..errors import InvalidArgument

DEFAULT_SHELL = ["/bin/sh", "-c"]
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
METADATA = frozenset({"env", "label", "expose", "volume", "user", "workdir", "stopsignal",
                      "healthcheck", "shell", "cmd", "entrypoint", "onbuild", "maintainer"})
# What `docker commit -c` and `docker import -c` accept.
CHANGE_INSTRUCTIONS = frozenset({"cmd", "entrypoint", "env", "expose", "label", "onbuild",
                                 "stopsignal", "user", "volume", "workdir"})


def go_quote_list(values) -> str:
    """Go's `%q` of a []string: `["a" "b"]`, what BuildKit writes in history."""
    return "[" + " ".join(json.dumps(v, ensure_ascii=False) for v in values) + "]"


def env_dict(config: dict) -> dict[str, str]:
    """The config's Env as a dict (later entries win)."""
    out = {}
    for item in config.get("Env") or []:
        key, _, value = item.partition("=")
        out[key] = value
    return out


def set_env(config: dict, key: str, value: str) -> None:
    env = [e for e in (config.get("Env") or []) if e.partition("=")[0] != key]
    env.append(f"{key}={value}")
    config["Env"] = env


def shell_of(config: dict) -> list[str]:
    return list(config.get("Shell") or DEFAULT_SHELL)


def command_of(instruction, config: dict) -> list[str]:
    """CMD/ENTRYPOINT/RUN argv: exec form as written, shell form wrapped in the image's SHELL."""
    if instruction.json:
        return list(instruction.args)
    return shell_of(config) + [" ".join(instruction.args)]


def _ports(words: list[str]) -> list[str]:
    ports = []
    for word in words:
        number, _, proto = word.partition("/")
        proto = (proto or "tcp").lower()
        low, dash, high = number.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            raise InvalidArgument(f"invalid containerPort: {number}")
        for port in range(int(low), int(high if dash else low) + 1):
            ports.append(f"{port}/{proto}")
    return ports


def _healthcheck(instruction) -> dict:
    check = instruction.healthcheck
    if check.test == ["NONE"]:
        return {"Test": ["NONE"]}
    out = {"Test": check.test}
    for key, value in (("Interval", check.interval), ("Timeout", check.timeout),
                       ("StartPeriod", check.start_period),
                       ("StartInterval", check.start_interval), ("Retries", check.retries)):
        if value:
            out[key] = value
    return out


def apply_metadata(config: dict, ins, *, cmd_set: bool = True) -> tuple[dict, str]:
    """A new config with one (expanded) metadata instruction applied, and its history line.

    `cmd_set` says whether this stage set CMD already: ENTRYPOINT clears an inherited CMD.
    """
    config = copy.deepcopy(config)
    cmd = ins.cmd
    if cmd == "env":
        for key, value in ins.pairs:
            set_env(config, key, value)
        return config, "ENV " + " ".join(f"{k}={v}" for k, v in ins.pairs)
    if cmd == "label":
        labels = config.get("Labels") or {}
        labels.update({k: v for k, v in ins.pairs})
        config["Labels"] = labels
        return config, "LABEL " + " ".join(f"{k}={v}" for k, v in ins.pairs)
    if cmd == "expose":
        exposed = config.get("ExposedPorts") or {}
        for port in _ports(ins.ports):
            exposed[port] = {}
        config["ExposedPorts"] = exposed
        return config, "EXPOSE map[" + " ".join(f"{p}:{{}}" for p in sorted(exposed)) + "]"
    if cmd == "volume":
        volumes = config.get("Volumes") or {}
        for path in ins.volumes:
            volumes[path] = {}
        config["Volumes"] = volumes
        return config, "VOLUME [" + " ".join(ins.volumes) + "]"
    if cmd == "user":
        config["User"] = ins.value
        return config, f"USER {ins.value}"
    if cmd == "workdir":
        path = posixpath.join(config.get("WorkingDir") or "/", ins.value)
        config["WorkingDir"] = posixpath.normpath(path) if path != "/" else "/"
        return config, f"WORKDIR {config['WorkingDir']}"
    if cmd == "stopsignal":
        config["StopSignal"] = ins.value
        return config, f"STOPSIGNAL {ins.value}"
    if cmd == "healthcheck":
        config["Healthcheck"] = _healthcheck(ins)
        return config, "HEALTHCHECK " + " ".join(ins.args)
    if cmd == "shell":
        config["Shell"] = list(ins.args)
        return config, "SHELL " + go_quote_list(ins.args)
    if cmd == "cmd":
        config["Cmd"] = command_of(ins, config)
        return config, "CMD " + go_quote_list(config["Cmd"])
    if cmd == "entrypoint":
        config["Entrypoint"] = command_of(ins, config)
        if not cmd_set:
            config["Cmd"] = None        # Docker: an inherited CMD doesn't survive ENTRYPOINT
        return config, "ENTRYPOINT " + go_quote_list(config["Entrypoint"])
    if cmd == "onbuild":
        trigger = ins.original.split(None, 1)[1] if " " in ins.original else ""
        config["OnBuild"] = list(config.get("OnBuild") or []) + [trigger]
        return config, f"ONBUILD {trigger}"
    if cmd == "maintainer":
        return config, f"MAINTAINER {ins.value}"
    raise InvalidArgument(f"{cmd.upper()} is not a metadata instruction")


def apply_changes(config: dict, changes: list[str] | None) -> dict:
    """`docker commit/import -c`: Dockerfile lines (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL,
    ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR) applied to a container config."""
    from ..dockerfile import expand, parse
    config = copy.deepcopy(config or {})
    for change in changes or []:
        text = change.strip()
        if not text:
            continue
        name = text.split(None, 1)[0].lower()
        if name not in CHANGE_INSTRUCTIONS:
            raise InvalidArgument(f"{name.upper()} is not a valid change command")
        dockerfile = parse("FROM scratch\n" + text)
        for ins in dockerfile.stages[0].instructions:
            ins = expand(ins, env_dict(config))
            config, _ = apply_metadata(config, ins)
    return config
