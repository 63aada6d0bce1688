"""RUN, CMD, ENTRYPOINT and SHELL: command lines, in exec form (JSON) or shell form.

    RUN --mount=type=cache,target=/root/.cache pip install .   # command ["pip install ."]
    CMD ["serve", "--port", "80"]                               # command [...], json True

Shell form is one string, handed to the image's SHELL (``/bin/sh -c`` by default). Docker
expands no variables in them: the text reaches the shell (or the child image) as written;
only ``RUN --mount`` field values are expanded.
"""
from __future__ import annotations

import re

from ...errors import DockerfileError
from .. import arguments
from ..flags import STRING, STRINGS, Flag, check_run_flags, parse_flags, parse_mounts
from ..imageconfig import command_of, go_quote_list, shell_of
from .base import Instruction, at_least_one

_HEREDOC_ALONE = re.compile(r"[0-9]*<<-?([\"']?)[^\s\"']+\1")


class _CommandLine(Instruction):
    """An instruction whose arguments are a command line."""

    syntax = staticmethod(arguments.maybe_json)
    command: list[str]       # exec form: the JSON array; shell form: one string
    json: bool               # exec form

    def read(self, args):
        self.command, self.json = args, self.node.json

    @property
    def prepend_shell(self) -> bool:
        """Shell form: the command runs through the image's SHELL."""
        return not self.json


class Run(_CommandLine):
    """``RUN [--mount=...] [--network=...] [--security=...] command``, in a container."""

    cmd = "run"
    step = "run"
    heredocs_allowed = True
    mounts = Flag(STRINGS, "mount")                     # dicts, from flags.parse_mount
    network = Flag(STRING, default="default")
    security = Flag(STRING, default="sandbox")
    heredocs: list

    def read(self, args):
        at_least_one(args, "RUN")
        check_run_flags(self.flags)
        self.flags["mount"] = parse_mounts(self.flags.get("mount", []))
        super().read(args)
        self.heredocs = list(self.node.heredocs)

    def expand(self, ex):
        if not self.flags.get("mount"):
            return self
        raw = parse_flags(self.FLAGS, self.node.flags).get("mount", [])
        return self.replace(flags={**self.flags, "mount": parse_mounts(raw, ex.word)})

    def cache_parts(self, state):
        # What RUN does depends on the build args it sees as environment.
        return super().cache_parts(state) + [sorted(state.args.items())]

    def references(self):
        return [m["from"] for m in self.mounts if m.get("from")]

    def argv(self, config: dict) -> list[str]:
        """The process's argv. A shell-form RUN with heredocs hands the whole text, heredocs
        included, to the shell (which understands `<<EOF`); `RUN <<EOF` alone runs the body as
        a script, with its own interpreter when it starts with `#!`."""
        if self.json:
            return list(self.command)
        text = " ".join(self.command)
        if self.heredocs:
            only = self.heredocs[0]
            if len(self.heredocs) == 1 and _HEREDOC_ALONE.fullmatch(text.strip()):
                body = only.text
                if body.startswith("#!"):
                    # BuildKit writes the script to a file and runs it; `interpreter -c` is the
                    # same for the shells and python that shebangs name.
                    return body.splitlines()[0][2:].split() + ["-c", body]
                return shell_of(config) + [body]
            for doc in self.heredocs:
                text += "\n" + doc.content + doc.name
        return shell_of(config) + [text]


class Cmd(_CommandLine):
    """``CMD command``: the default command of a container."""

    cmd = "cmd"
    change = True

    def configure(self, config, cmd_set):
        config["Cmd"] = command_of(self, config)
        return "CMD " + go_quote_list(config["Cmd"])


class Entrypoint(_CommandLine):
    """``ENTRYPOINT command``: what a container runs, CMD its default arguments."""

    cmd = "entrypoint"
    change = True

    def configure(self, config, cmd_set):
        config["Entrypoint"] = command_of(self, config)
        if not cmd_set:
            config["Cmd"] = None        # Docker: an inherited CMD doesn't survive ENTRYPOINT
        return "ENTRYPOINT " + go_quote_list(config["Entrypoint"])

    def cache_parts(self, state):
        # Whether this stage set CMD: the parent key can't tell, since `FROM stage` keeps the
        # key but starts with CMD unset.
        return super().cache_parts(state) + [state.cmd_set]


class Shell(_CommandLine):
    """``SHELL ["executable", "parameters"]``: what later shell-form commands run through."""

    cmd = "shell"

    def read(self, args):
        if not args:
            raise DockerfileError("SHELL requires at least one argument")
        if not self.node.json:
            raise DockerfileError("SHELL requires the arguments to be in JSON form")
        super().read(args)

    def configure(self, config, cmd_set):
        config["Shell"] = list(self.command)
        return "SHELL " + go_quote_list(self.command)
