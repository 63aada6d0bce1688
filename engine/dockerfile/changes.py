"""Dockerfile lines applied to a container config: `docker commit --change` and `import --change`.

    apply_changes({"Cmd": ["sh"]}, ['CMD ["echo", "hi"]', "ENV A=1"])
"""
from __future__ import annotations

import copy

from ..errors import InvalidArgument
from .expand import expand
from .imageconfig import env_dict
from .instructions import REGISTRY
from .stages import parse


def apply_changes(config: dict, changes: list[str] | None) -> dict:
    """``config`` with each change applied in order; variables expand from its Env. Only the
    instructions Docker accepts as changes (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD,
    STOPSIGNAL, USER, VOLUME, WORKDIR) are allowed."""
    config = copy.deepcopy(config or {})
    for change in changes or []:
        text = change.strip()
        if not text:
            continue
        name = text.split(None, 1)[0].lower()
        if name not in REGISTRY or not REGISTRY[name].change:
            raise InvalidArgument(f"{name.upper()} is not a valid change command")
        for ins in parse("FROM scratch\n" + text).stages[0].instructions:
            config, _ = expand(ins, env_dict(config)).apply(config)
    return config
