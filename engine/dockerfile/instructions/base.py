"""The base of every instruction class, and the registry that maps keywords to classes.

A class says everything about one Dockerfile instruction, in one place:

- ``cmd``: its keyword in lower case; defining the class registers it in ``REGISTRY``;
- ``syntax``: how the parser splits its arguments (a function from ``arguments``);
- its flags: one ``flags.Flag`` attribute each, which also reads the value back;
- ``read(args)``: the argument checks, and the typed fields (ENV's ``pairs``, COPY's ``dest``);
- ``expand(ex)``: a copy with variables applied where Docker applies them;
- ``cache_parts(state)``: what identifies it in the build cache, besides its fields;
- ``configure(config, cmd_set)``: how it changes the image config, and its history line;
- ``step``: which build step runs it: "from", "arg", "run", "copy", or "config" (the image
  config changes, no layer).

An instruction keeps its parse-tree ``node`` (raw arguments, heredocs, lines, original text)
and adds the checked ``flags`` ({name: [value, ...]}) and, after expansion, ``used`` (the
variable names expansion found).
"""
from __future__ import annotations

import copy
import json

from ...errors import DockerfileError, InvalidArgument
from .. import arguments
from ..flags import Flag, parse_flags

REGISTRY: dict[str, type["Instruction"]] = {}


class Instruction:
    """One checked instruction; subclasses are the instructions (see the module docstring)."""

    cmd = ""
    syntax = staticmethod(arguments.ignore)
    step = "config"
    heredocs_allowed = False       # its shell form may open heredocs (RUN, COPY, ADD)
    change = False                 # accepted by `commit --change` and `import --change`
    FLAGS: dict[str, Flag] = {}
    FIELDS: tuple[str, ...] = ()   # the typed fields, from the class annotations

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        flags, fields = {}, []
        for klass in reversed(cls.__mro__[:cls.__mro__.index(Instruction)]):
            flags.update({f.name: f for f in vars(klass).values() if isinstance(f, Flag)})
            fields += [n for n in vars(klass).get("__annotations__", {}) if n not in fields]
        cls.FLAGS, cls.FIELDS = flags, tuple(fields)
        if cls.cmd:
            REGISTRY[cls.cmd] = cls

    def __init__(self, node, flags: dict | None = None):
        self.node, self.flags, self.used = node, flags if flags is not None else {}, frozenset()

    def __repr__(self):
        return f"<{type(self).__name__} line {self.start_line}: {self.original}>"

    # -- what the parse tree knows ---------------------------------------------------------------
    original = property(lambda self: self.node.original)
    start_line = property(lambda self: self.node.start_line)
    end_line = property(lambda self: self.node.end_line)
    raw_flags = property(lambda self: list(self.node.flags), doc="the flags as written")

    # -- parsing -----------------------------------------------------------------------------------
    @classmethod
    def from_node(cls, node) -> "Instruction":
        """Check a parse-tree node of this instruction and type it."""
        instruction = cls(node, parse_flags(cls.FLAGS, node.flags))
        instruction.read(list(node.args))
        return instruction

    @classmethod
    def parse_arguments(cls, node, rest: str, escape: str, parse_line) -> None:
        """Fill the parse-tree node's arguments from the rest of its line (ONBUILD recurses
        with ``parse_line``)."""
        cls.syntax(node, rest, escape)

    def read(self, args: list) -> None:
        """Check the raw arguments and set the typed fields from them."""

    # -- expansion ---------------------------------------------------------------------------------
    def expand(self, ex) -> "Instruction":
        """A copy with variables applied through ``ex`` (``word``, ``words``, ``heredoc``); self
        when Docker doesn't expand this instruction."""
        return self

    def expanded_flags(self, ex) -> dict:
        """The flags, with the values of those declared ``expand=True`` expanded."""
        return {name: [ex.word(v) for v in values] if self.FLAGS[name].expand else list(values)
                for name, values in self.flags.items()}

    def replace(self, **changes) -> "Instruction":
        """A copy with some attributes changed."""
        new = copy.copy(self)
        new.__dict__.update(changes)
        return new

    # -- building ---------------------------------------------------------------------------------
    def cache_key(self, state) -> str:
        """What identifies this expanded instruction in the build cache, as text."""
        return json.dumps(self.cache_parts(state), sort_keys=True, default=_plain)

    def cache_parts(self, state) -> list:
        """The keyword, the flags and the typed fields; subclasses add what of the builder's
        ``state`` (config, ARGs in scope, whether CMD was set) changes their result."""
        return [self.cmd, self.flags, {name: getattr(self, name) for name in self.FIELDS}]

    def apply(self, config: dict, *, cmd_set: bool = True) -> tuple[dict, str]:
        """A new image config with this (expanded) instruction applied, and its history line.

        ``cmd_set`` says whether this stage set CMD already: ENTRYPOINT clears an inherited CMD.
        """
        if self.step != "config":
            raise InvalidArgument(f"{self.cmd.upper()} is not a metadata instruction")
        config = copy.deepcopy(config)
        return config, self.configure(config, cmd_set)

    def configure(self, config: dict, cmd_set: bool) -> str:
        """Change ``config`` in place; the history line (``config`` instructions only)."""
        raise NotImplementedError

    def author(self, current: str) -> str:
        """The image's author after this instruction (MAINTAINER sets it)."""
        return current

    def references(self) -> list[str]:
        """Stages or images this instruction reads from (COPY --from, RUN --mount from=)."""
        return []


def at_least_one(args: list, name: str) -> None:
    """Docker's error for an instruction without arguments."""
    if not args:
        raise DockerfileError(f"{name} requires at least one argument")


def exactly_one(args: list, name: str) -> None:
    """Docker's error for MAINTAINER, USER, WORKDIR, STOPSIGNAL with other than one argument."""
    if len(args) != 1:
        raise DockerfileError(f"{name} requires exactly one argument")


def quote(text: str) -> str:
    """Go's %q of a string, as buildkit's messages quote names."""
    return json.dumps(text, ensure_ascii=False)


def instruction_class(cmd: str) -> type[Instruction] | None:
    """The class of a lower-case keyword, or None for an unknown instruction."""
    return REGISTRY.get(cmd)


def to_instruction(node) -> Instruction:
    """Check one parse-tree node and type it; errors name the node's line and instruction."""
    name = node.cmd.upper()
    try:
        return type_node(node)
    except DockerfileError as exc:
        if exc.line:
            raise
        message = exc.reason if exc.reason.upper().startswith(name) else f"{name}: {exc.reason}"
        raise DockerfileError(message, node.start_line or None, name) from None


def type_node(node) -> Instruction:
    """The instruction of a parse-tree node; its errors don't name the line yet (ONBUILD's
    trigger is reported as part of the ONBUILD line)."""
    cls = REGISTRY.get(node.cmd)
    if cls is None:
        word = node.original.split(None, 1)[0] if node.original.split() else node.cmd
        raise DockerfileError(f"unknown instruction: {word}", node.start_line or None, word)
    return cls.from_node(node)


def _plain(value):
    """JSON for the values inside instruction fields (heredocs, health configs, triggers)."""
    if isinstance(value, Instruction):
        return value.original
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return vars(value) if hasattr(value, "__dict__") else str(value)
