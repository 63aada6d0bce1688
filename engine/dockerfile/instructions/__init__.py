"""Dockerfile instructions, one class each; ``REGISTRY`` maps each lower-case keyword to its class.

The parse tree (``parser.parse_tree``) keeps the raw text; these classes check it as buildkit's
``instructions`` package does (argument counts, flags, ONBUILD rules, heredoc misuse) and type
it. ``base.py`` says what a class defines; ``stages.parse`` puts the instructions into stages.
Argument text stays raw here; ``expand.expand`` applies variables.

    stage.py     FROM ARG
    commands.py  RUN CMD ENTRYPOINT SHELL
    files.py     COPY ADD
    settings.py  ENV LABEL EXPOSE VOLUME USER WORKDIR STOPSIGNAL MAINTAINER ONBUILD
    health.py    HEALTHCHECK
"""
from .base import REGISTRY, Instruction, instruction_class, to_instruction
from .commands import Cmd, Entrypoint, Run, Shell
from .files import Add, Copy
from .health import HealthConfig, Healthcheck
from .settings import Env, Expose, Label, Maintainer, Onbuild, StopSignal, User, Volume, Workdir
from .stage import Arg, From

__all__ = ["REGISTRY", "Add", "Arg", "Cmd", "Copy", "Entrypoint", "Env", "Expose", "From",
           "HealthConfig", "Healthcheck", "Instruction", "Label", "Maintainer", "Onbuild", "Run",
           "Shell", "StopSignal", "User", "Volume", "Workdir", "instruction_class",
           "to_instruction"]
