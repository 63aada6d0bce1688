"""Instructions that only set a field of the image config: ENV, LABEL, EXPOSE, VOLUME, USER,
WORKDIR, STOPSIGNAL, MAINTAINER and ONBUILD.

    ENV PATH=/app/bin:$PATH             # pairs, expanded
    WORKDIR /app                        # value, expanded; relative paths join the current one
    ONBUILD RUN make                    # expression "RUN make", trigger: a checked Run

Each is a "config" step: the builder applies ``configure`` and adds an ``empty_layer``
history entry with the line it returns.
"""
from __future__ import annotations

import posixpath
from dataclasses import replace

from ...errors import DockerfileError, InvalidArgument
from .. import arguments
from ..imageconfig import set_env
from .base import Instruction, at_least_one, exactly_one, type_node


class _Pairs(Instruction):
    """ENV and LABEL: ``key=value`` pairs (or the legacy ``key value``)."""

    syntax = staticmethod(arguments.name_val)
    change = True
    pairs: list[tuple[str, str]]

    def read(self, args):
        name = self.cmd.upper()
        at_least_one(args, name)
        if any(not key for key, _ in args):
            raise DockerfileError(f"{name} names can not be blank")
        self.pairs = [tuple(p) for p in args]

    def expand(self, ex):
        return self.replace(pairs=[(ex.word(k), ex.word(v)) for k, v in self.pairs])

    def history(self) -> str:
        return f"{self.cmd.upper()} " + " ".join(f"{k}={v}" for k, v in self.pairs)


class Env(_Pairs):
    """``ENV key=value ...``: environment of later steps and of containers."""

    cmd = "env"

    def configure(self, config, cmd_set):
        for key, value in self.pairs:
            set_env(config, key, value)
        return self.history()


class Label(_Pairs):
    """``LABEL key=value ...``: image metadata."""

    cmd = "label"

    def configure(self, config, cmd_set):
        config["Labels"] = {**(config.get("Labels") or {}), **dict(self.pairs)}
        return self.history()


class Expose(Instruction):
    """``EXPOSE port[/proto] ...``; a range ``8000-8001`` exposes each port."""

    cmd = "expose"
    syntax = staticmethod(arguments.whitespace_delimited)
    change = True
    ports: list[str]

    def read(self, args):
        at_least_one(args, "EXPOSE")
        self.ports = args

    def expand(self, ex):
        return self.replace(ports=[w for port in self.ports for w in ex.words(port)])

    def configure(self, config, cmd_set):
        exposed = config.get("ExposedPorts") or {}
        for port in _port_keys(self.ports):
            exposed[port] = {}
        config["ExposedPorts"] = exposed
        return "EXPOSE map[" + " ".join(f"{p}:{{}}" for p in sorted(exposed)) + "]"


def _port_keys(words: list[str]) -> list[str]:
    """`80`, `53/udp`, `8000-8001` as the config's keys `80/tcp`, `53/udp`, ..."""
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


class Volume(Instruction):
    """``VOLUME /path ...`` or ``VOLUME ["/path"]``: mount points made volumes at run time."""

    cmd = "volume"
    syntax = staticmethod(arguments.maybe_json_to_list)
    change = True
    volumes: list[str]

    def read(self, args):
        at_least_one(args, "VOLUME")
        if any(not a.strip() for a in args):
            raise DockerfileError("VOLUME specified can not be an empty string")
        self.volumes = args

    def expand(self, ex):
        return self.replace(volumes=[ex.word(v) for v in self.volumes])

    def configure(self, config, cmd_set):
        volumes = config.get("Volumes") or {}
        for path in self.volumes:
            volumes[path] = {}
        config["Volumes"] = volumes
        return "VOLUME [" + " ".join(self.volumes) + "]"


class _OneValue(Instruction):
    """USER, WORKDIR, STOPSIGNAL, MAINTAINER: one string, the rest of the line."""

    syntax = staticmethod(arguments.one_string)
    config_key = ""          # the image config field it sets as written
    value: str

    def read(self, args):
        exactly_one(args, self.cmd.upper())
        self.value = args[0]

    def expand(self, ex):
        return self.replace(value=ex.word(self.value))

    def configure(self, config, cmd_set):
        config[self.config_key] = self.value
        return f"{self.cmd.upper()} {self.value}"


class User(_OneValue):
    """``USER name[:group]``: who later steps and containers run as."""

    cmd = "user"
    change = True
    config_key = "User"


class Workdir(_OneValue):
    """``WORKDIR /path``: the working directory; a relative path joins the current one."""

    cmd = "workdir"
    change = True

    def configure(self, config, cmd_set):
        path = posixpath.join(config.get("WorkingDir") or "/", self.value)
        config["WorkingDir"] = posixpath.normpath(path) if path != "/" else "/"
        return f"WORKDIR {config['WorkingDir']}"


class StopSignal(_OneValue):
    """``STOPSIGNAL SIGTERM``: the signal `docker stop` sends."""

    cmd = "stopsignal"
    change = True
    config_key = "StopSignal"


class Maintainer(_OneValue):
    """``MAINTAINER name`` (deprecated): the image's author; not expanded."""

    cmd = "maintainer"

    def expand(self, ex):
        return self

    def configure(self, config, cmd_set):
        return f"MAINTAINER {self.value}"

    def author(self, current):
        return self.value


class Onbuild(Instruction):
    """``ONBUILD INSTRUCTION ...``: a trigger stored in the image, run by builds FROM it."""

    cmd = "onbuild"
    change = True
    expression: str          # the trigger's text, as written
    trigger: Instruction

    @classmethod
    def parse_arguments(cls, node, rest, escape, parse_line):
        if rest:
            node.sub = parse_line(rest, escape)

    def read(self, args):
        sub = self.node.sub
        if sub is None:
            raise DockerfileError("ONBUILD requires at least one argument")
        trigger = sub.cmd.upper()
        if trigger == "ONBUILD":
            raise DockerfileError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
        if trigger in ("MAINTAINER", "FROM"):
            raise DockerfileError(f"{trigger} isn't allowed as an ONBUILD trigger")
        # The parser hangs a trigger's heredocs on the ONBUILD line.
        self.trigger = type_node(replace(sub, heredocs=list(self.node.heredocs),
                                         start_line=self.node.start_line,
                                         end_line=self.node.end_line))
        original = self.node.original
        self.expression = original.split(None, 1)[1] if " " in original else ""

    def cache_parts(self, state):
        return [self.cmd, self.flags, self.expression]

    def configure(self, config, cmd_set):
        config["OnBuild"] = list(config.get("OnBuild") or []) + [self.expression]
        return f"ONBUILD {self.expression}"
