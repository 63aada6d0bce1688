"""Typed instructions and stages: the parse tree checked the way buildkit's ``instructions``
package checks it (argument counts, flags, stage names, ONBUILD rules, heredoc misuse).

Argument text stays raw here; ``expand.expand`` applies variables. Each Instruction carries
the parse tree's fields plus parsed ``flags`` and accessors for the builder (see the package
docstring for the list).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from ..errors import DockerfileError
from . import flags as _flags
from .parser import Heredoc, Node, INSTRUCTIONS, parse_heredoc, parse_tree

_STAGE_NAME = re.compile(r"[a-z][a-z0-9-_.]*\Z")
# Instructions that take exactly one argument, as a single raw string.
_EXACTLY_ONE = ("maintainer", "workdir", "user", "stopsignal")
_AT_LEAST_ONE = ("env", "label", "expose", "volume", "arg", "onbuild", "healthcheck", "run")


@dataclass
class Healthcheck:
    """HEALTHCHECK as the image config stores it; durations in nanoseconds (0: default)."""

    test: list[str]
    interval: int = 0
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0
    retries: int = 0


@dataclass
class Instruction:
    """One checked instruction. ``args`` is raw: [key, value] tuples for ENV and LABEL."""

    cmd: str
    flags: dict[str, list]
    args: list
    json: bool = False
    heredocs: list[Heredoc] = field(default_factory=list)
    start_line: int = 0
    end_line: int = 0
    original: str = ""
    sub: "Instruction | None" = None
    raw_flags: list[str] = field(default_factory=list)
    used: frozenset = frozenset()

    # Generic -----------------------------------------------------------------------------
    @property
    def value(self) -> str:
        """The single argument of MAINTAINER, USER, WORKDIR and STOPSIGNAL."""
        return self.args[0] if self.args else ""

    def flag(self, name: str, default=None):
        """The last value of a flag (a string; "true"/"false" for booleans), or ``default``."""
        values = self.flags.get(name)
        return values[-1] if values else default

    def _bool(self, name: str, default=False):
        value = self.flag(name)
        return default if value is None else value == "true"

    # ENV, LABEL, ARG -----------------------------------------------------------------------
    @property
    def pairs(self) -> list[tuple[str, str | None]]:
        """(key, value) for ENV and LABEL; (name, default or None) for ARG."""
        if self.cmd == "arg":
            return [(a.partition("=")[0], a.partition("=")[2] if "=" in a else None)
                    for a in self.args]
        return [tuple(p) for p in self.args]

    # FROM ----------------------------------------------------------------------------------
    @property
    def base(self) -> str:
        return self.args[0] if self.args else ""

    @property
    def stage_name(self) -> str:
        return self.args[2].lower() if len(self.args) == 3 else ""

    @property
    def platform(self) -> str:
        return self.flag("platform", "")

    # RUN, CMD, ENTRYPOINT, SHELL -------------------------------------------------------------
    @property
    def command(self) -> list[str]:
        """Exec form: the JSON array; shell form: one string to hand to the image's SHELL."""
        return list(self.args)

    @property
    def prepend_shell(self) -> bool:
        return not self.json

    @property
    def mounts(self) -> list[dict]:
        return list(self.flags.get("mount", []))

    @property
    def network(self) -> str:
        return self.flag("network", "default")

    @property
    def security(self) -> str:
        return self.flag("security", "sandbox")

    # COPY, ADD -------------------------------------------------------------------------------
    @property
    def sources(self) -> list[str]:
        """Source paths (or URLs), without heredoc sources."""
        return [a for a in self.args[:-1] if parse_heredoc(a) is None]

    @property
    def dest(self) -> str:
        return self.args[-1] if self.args else ""

    @property
    def heredoc_files(self) -> list[tuple[str, str, bool]]:
        """(name, content, expand) of each heredoc source of COPY/ADD, tabs chomped for <<-."""
        by_name = {h.name: h for h in self.heredocs}
        out = []
        for arg in self.args[:-1]:
            opener = parse_heredoc(arg)
            if opener is not None:
                doc = by_name.get(opener.name, opener)
                out.append((doc.name, doc.text, doc.expand))
        return out

    chown = property(lambda self: self.flag("chown", ""))
    chmod = property(lambda self: self.flag("chmod", ""))
    from_ = property(lambda self: self.flag("from", ""))
    link = property(lambda self: self._bool("link"))
    parents = property(lambda self: self._bool("parents"))
    excludes = property(lambda self: list(self.flags.get("exclude", [])))
    checksum = property(lambda self: self.flag("checksum", ""))
    keep_git_dir = property(lambda self: self._bool("keep-git-dir"))
    unpack = property(lambda self: self._bool("unpack", None),
                      doc="True/False when --unpack was given, None for Docker's default.")

    # EXPOSE, VOLUME, HEALTHCHECK -------------------------------------------------------------
    @property
    def ports(self) -> list[str]:
        return list(self.args)

    @property
    def volumes(self) -> list[str]:
        return list(self.args)

    @property
    def healthcheck(self) -> Healthcheck:
        """The health config: ``test`` is ["NONE"], ["CMD", ...] or ["CMD-SHELL", cmd]."""
        kind = self.args[0].upper()
        if kind == "NONE":
            return Healthcheck(test=["NONE"])
        test = ["CMD" if self.json else "CMD-SHELL"] + list(self.args[1:])
        durations = {}
        for name in ("interval", "timeout", "start-period", "start-interval"):
            text = self.flag(name, "")
            value = _flags.parse_duration(text) if text else 0
            if 0 < value < 1_000_000:
                raise DockerfileError(f"Interval {_quote(name)} cannot be less than 1ms")
            durations[name.replace("-", "_")] = value
        retries = self.flag("retries", "")
        count = 0
        if retries:
            if not re.fullmatch(r"[+-]?[0-9]+", retries) or abs(int(retries)) >= 2**31:
                raise DockerfileError(f'strconv.ParseInt: parsing {_quote(retries)}: invalid syntax')
            count = int(retries)
            if count < 0:
                raise DockerfileError(f"--retries cannot be negative ({count})")
        return Healthcheck(test=test, retries=count, **durations)


def _quote(text: str) -> str:
    import json
    return json.dumps(text, ensure_ascii=False)


@dataclass
class Stage:
    """One FROM and the instructions up to the next FROM."""

    name: str
    base: str
    platform: str
    from_line: int
    instructions: list[Instruction] = field(default_factory=list)
    index: int = 0
    from_instruction: Instruction | None = None


@dataclass
class Dockerfile:
    """A checked Dockerfile: ARGs before the first FROM, stages, and what directives set."""

    meta_args: list[Instruction]
    stages: list[Stage]
    escape: str = "\\"
    syntax: str = ""
    check: str = ""
    warnings: list[str] = field(default_factory=list)

    def stage(self, name_or_index) -> Stage:
        """A stage by name or by index (as ``COPY --from`` and ``--target`` refer to them)."""
        for stage in self.stages:
            if stage.name and stage.name == str(name_or_index).lower():
                return stage
        if str(name_or_index).isdecimal() and int(name_or_index) < len(self.stages):
            return self.stages[int(name_or_index)]
        raise DockerfileError(f"target stage {_quote(str(name_or_index))} could not be found")


def parse(text: str | bytes) -> Dockerfile:
    """Parse and check a Dockerfile into stages; every problem is a DockerfileError."""
    tree = parse_tree(text)
    meta_args: list[Instruction] = []
    stages: list[Stage] = []
    for node in tree.children:
        instruction = to_instruction(node)
        if instruction.cmd == "from":
            name = instruction.stage_name
            if name and any(s.name == name for s in stages):
                raise DockerfileError(f"duplicate stage name {_quote(name)}",
                                      node.start_line, "FROM")
            stages.append(Stage(name, instruction.base, instruction.platform, node.start_line,
                                index=len(stages), from_instruction=instruction))
        elif not stages and instruction.cmd == "arg":
            meta_args.append(instruction)
        elif not stages:
            raise DockerfileError(f"{node.cmd.upper()}: no build stage in current context",
                                  node.start_line, node.cmd.upper())
        else:
            stages[-1].instructions.append(instruction)
    warnings = list(tree.warnings)
    return Dockerfile(meta_args, stages, tree.escape, tree.directives.get("syntax", ""),
                      tree.directives.get("check", ""), warnings)


def check(text: str | bytes) -> None:
    """Validate every instruction without building; raise DockerfileError on the first problem."""
    parse(text)


def to_instruction(node: Node) -> Instruction:
    """Check one parse-tree node and type it; errors name the node's line and instruction."""
    name = node.cmd.upper()
    try:
        return _typed(node)
    except DockerfileError as exc:
        if exc.line:
            raise
        message = exc.reason if exc.reason.upper().startswith(name) else f"{name}: {exc.reason}"
        raise DockerfileError(message, node.start_line or None, name) from None


def _typed(node: Node) -> Instruction:
    cmd, args = node.cmd, node.args
    if cmd not in INSTRUCTIONS:
        word = node.original.split(None, 1)[0] if node.original.split() else cmd
        raise DockerfileError(f"unknown instruction: {word}", node.start_line or None, word)
    if cmd == "healthcheck" and args and args[0].upper() == "NONE":
        parsed_flags = {}  # Docker ignores flags on HEALTHCHECK NONE.
    else:
        parsed_flags = _flags.parse_flags(cmd, node.flags)
    _check_arguments(node)
    if cmd == "run":
        _flags.check_run_flags(parsed_flags)
        parsed_flags["mount"] = _flags.parse_mounts(parsed_flags.get("mount", []))
    sub = _onbuild_trigger(node) if cmd == "onbuild" else None
    instruction = Instruction(cmd, parsed_flags, list(args), node.json, list(node.heredocs),
                              node.start_line, node.end_line, node.original, sub,
                              list(node.flags))
    if cmd == "healthcheck":
        instruction.healthcheck  # noqa: B018 - parses durations and retries, raising early
    return instruction


def _check_arguments(node: Node) -> None:
    cmd, args, name = node.cmd, node.args, node.cmd.upper()
    if cmd in _AT_LEAST_ONE and not args and not (cmd == "onbuild" and node.sub):
        raise DockerfileError(f"{name} requires at least one argument")
    if cmd in _EXACTLY_ONE and len(args) != 1:
        raise DockerfileError(f"{name} requires exactly one argument")
    if cmd in ("env", "label"):
        if any(not key for key, _ in args):
            raise DockerfileError(f"{name} names can not be blank")
    elif cmd == "arg":
        if any(a.startswith("=") for a in args):
            raise DockerfileError("ARG names can not be blank")
    elif cmd == "from":
        if len(args) == 3 and args[1].lower() == "as":
            if not _STAGE_NAME.match(args[2].lower()):
                raise DockerfileError(f"invalid name for build stage: {_quote(args[2])}, "
                                      "name can't start with a number or contain symbols")
        elif len(args) != 1:
            raise DockerfileError("FROM requires either one or three arguments")
    elif cmd in ("copy", "add"):
        _check_copy(node)
    elif cmd == "shell":
        if not args:
            raise DockerfileError("SHELL requires at least one argument")
        if not node.json:
            raise DockerfileError("SHELL requires the arguments to be in JSON form")
    elif cmd == "volume":
        if any(not a.strip() for a in args):
            raise DockerfileError("VOLUME specified can not be an empty string")
    elif cmd == "healthcheck":
        kind = args[0].upper()
        if kind == "NONE" and len(args) > 1:
            raise DockerfileError("HEALTHCHECK NONE takes no arguments")
        if kind not in ("NONE", "CMD"):
            raise DockerfileError(f"Unknown type {_quote(kind)} in HEALTHCHECK (try CMD)")
        if kind == "CMD" and len(args) == 1:
            raise DockerfileError("Missing command after HEALTHCHECK CMD")


def _check_copy(node: Node) -> None:
    name = node.cmd.upper()
    if len(node.args) < 2:
        raise DockerfileError(f"{name} requires at least two arguments, but only one was "
                              "provided. Destination could not be determined")
    if parse_heredoc(node.args[-1]) is not None:
        raise DockerfileError(f"{name} cannot accept a heredoc as a destination")


def _onbuild_trigger(node: Node) -> Instruction:
    if node.sub is None:
        raise DockerfileError("ONBUILD requires at least one argument")
    trigger = node.sub.cmd.upper()
    if trigger == "ONBUILD":
        raise DockerfileError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if trigger in ("MAINTAINER", "FROM"):
        raise DockerfileError(f"{trigger} isn't allowed as an ONBUILD trigger")
    sub = replace(node.sub, heredocs=list(node.heredocs), start_line=node.start_line,
                  end_line=node.end_line)
    return _typed(sub)
