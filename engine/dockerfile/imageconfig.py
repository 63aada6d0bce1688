"""The container config inside an OCI image config, as instructions read and change it.

    env_dict({"Env": ["A=1", "A=2"]})                 # {"A": "2"}
    command_of(cmd_instruction, {"Shell": ["bash", "-c"]})   # ["bash", "-c", "echo hi"]

``config`` is the image config's ``config`` object (Env, Cmd, Entrypoint, WorkingDir, ...).
History lines follow BuildKit: ``ENV A=1``, ``CMD ["sh"]``, ``EXPOSE map[80/tcp:{}]``.
"""
from __future__ import annotations

import json

DEFAULT_SHELL = ["/bin/sh", "-c"]
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


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
    """Set one variable in the config's Env, replacing an earlier value of the same key."""
    env = [e for e in (config.get("Env") or []) if e.partition("=")[0] != key]
    env.append(f"{key}={value}")
    config["Env"] = env


def shell_of(config: dict) -> list[str]:
    """The shell that runs shell-form commands: the image's SHELL, else /bin/sh -c."""
    return list(config.get("Shell") or DEFAULT_SHELL)


def command_of(instruction, config: dict) -> list[str]:
    """CMD/ENTRYPOINT argv: exec form as written, shell form wrapped in the image's SHELL."""
    if instruction.json:
        return list(instruction.command)
    return shell_of(config) + [" ".join(instruction.command)]
