"""FROM and ARG: where a stage starts, and the build arguments it sees.

    FROM --platform=$BUILDPLATFORM golang:1.22 AS build     # base, stage_name, platform
    ARG VERSION=1.0 TARGETOS                                 # pairs: (name, default or None)

Both are run by the builder itself (``step`` "from", "arg"): FROM picks the base (an image, a
stage, or scratch), ARG puts values in scope; neither is a layer or a history entry.
"""
from __future__ import annotations

import re

from ...errors import DockerfileError
from .. import arguments
from ..flags import STRING, Flag
from .base import Instruction, at_least_one, quote

_STAGE_NAME = re.compile(r"[a-z][a-z0-9-_.]*\Z")


class From(Instruction):
    """``FROM [--platform=P] image [AS name]``; ``base`` is the image text before expansion."""

    cmd = "from"
    syntax = staticmethod(arguments.whitespace_delimited)
    step = "from"
    platform = Flag(STRING, expand=True)
    base: str
    stage_name: str          # lower case, "" without AS

    def read(self, args):
        if len(args) == 3 and args[1].lower() == "as":
            if not _STAGE_NAME.match(args[2].lower()):
                raise DockerfileError(f"invalid name for build stage: {quote(args[2])}, "
                                      "name can't start with a number or contain symbols")
        elif len(args) != 1:
            raise DockerfileError("FROM requires either one or three arguments")
        self.base = args[0]
        self.stage_name = args[2].lower() if len(args) == 3 else ""

    def expand(self, ex):
        return self.replace(base=ex.word(self.base), flags=self.expanded_flags(ex))


class Arg(Instruction):
    """``ARG name[=default] ...``; a name without ``=`` has the default None."""

    cmd = "arg"
    syntax = staticmethod(arguments.name_or_name_val)
    step = "arg"
    pairs: list[tuple[str, str | None]]

    def read(self, args):
        at_least_one(args, "ARG")
        if any(a.startswith("=") for a in args):
            raise DockerfileError("ARG names can not be blank")
        self.pairs = [(a.partition("=")[0], a.partition("=")[2] if "=" in a else None)
                      for a in args]

    def expand(self, ex):
        return self.replace(pairs=[(ex.word(k), None if v is None else ex.word(v))
                                   for k, v in self.pairs])
