"""HEALTHCHECK: how a container's health is tested, as the image config stores it.

    HEALTHCHECK --interval=30s --retries=3 CMD curl -f http://localhost/ || exit 1
    HEALTHCHECK NONE                      # turn off a check the base image set

Durations are Go durations (``1m30s``) kept in nanoseconds; 0 means Docker's default.
Not expanded: the test command reaches the container as written.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ...errors import DockerfileError
from .. import arguments
from ..flags import STRING, Flag, parse_duration, parse_flags
from .base import Instruction, at_least_one, quote

_DURATIONS = ("interval", "timeout", "start-period", "start-interval")


@dataclass
class HealthConfig:
    """The image config's Healthcheck; ``test`` is ["NONE"], ["CMD", ...] or ["CMD-SHELL", cmd]."""

    test: list[str]
    interval: int = 0
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0
    retries: int = 0

    def to_dict(self) -> dict:
        """Docker's JSON keys; unset durations and retries left out."""
        if self.test == ["NONE"]:
            return {"Test": ["NONE"]}
        out = {"Test": self.test}
        for key, value in (("Interval", self.interval), ("Timeout", self.timeout),
                           ("StartPeriod", self.start_period),
                           ("StartInterval", self.start_interval), ("Retries", self.retries)):
            if value:
                out[key] = value
        return out


class Healthcheck(Instruction):
    """``HEALTHCHECK [--interval] [--timeout] [--start-period] [--start-interval] [--retries]
    CMD command`` or ``HEALTHCHECK NONE``."""

    cmd = "healthcheck"
    syntax = staticmethod(arguments.health)
    interval = Flag(STRING)
    timeout = Flag(STRING)
    start_period = Flag(STRING)
    start_interval = Flag(STRING)
    retries = Flag(STRING)
    healthcheck: HealthConfig

    @classmethod
    def from_node(cls, node):
        args = node.args
        none = bool(args) and args[0].upper() == "NONE"
        # Docker ignores flags on HEALTHCHECK NONE.
        instruction = cls(node, {} if none else parse_flags(cls.FLAGS, node.flags))
        instruction.read(list(args))
        return instruction

    def read(self, args):
        at_least_one(args, "HEALTHCHECK")
        kind = args[0].upper()
        if kind == "NONE" and len(args) > 1:
            raise DockerfileError("HEALTHCHECK NONE takes no arguments")
        if kind not in ("NONE", "CMD"):
            raise DockerfileError(f"Unknown type {quote(kind)} in HEALTHCHECK (try CMD)")
        if kind == "CMD" and len(args) == 1:
            raise DockerfileError("Missing command after HEALTHCHECK CMD")
        self.healthcheck = HealthConfig(["NONE"]) if kind == "NONE" else self._config(args)

    def _config(self, args) -> HealthConfig:
        test = ["CMD" if self.node.json else "CMD-SHELL"] + list(args[1:])
        durations = {}
        for name in _DURATIONS:
            text = self.flags.get(name, [""])[-1]
            value = parse_duration(text) if text else 0
            if 0 < value < 1_000_000:
                raise DockerfileError(f"Interval {quote(name)} cannot be less than 1ms")
            durations[name.replace("-", "_")] = value
        return HealthConfig(test=test, retries=self._retries(), **durations)

    def _retries(self) -> int:
        text = self.retries
        if not text:
            return 0
        if not re.fullmatch(r"[+-]?[0-9]+", text) or abs(int(text)) >= 2**31:
            raise DockerfileError(f'strconv.ParseInt: parsing {quote(text)}: invalid syntax')
        if int(text) < 0:
            raise DockerfileError(f"--retries cannot be negative ({int(text)})")
        return int(text)

    def configure(self, config, cmd_set):
        config["Healthcheck"] = self.healthcheck.to_dict()
        return "HEALTHCHECK " + " ".join(self.node.args)
