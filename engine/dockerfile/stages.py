"""A whole Dockerfile checked into stages: ARGs before the first FROM, then one Stage per FROM.

    dockerfile = parse(text)
    dockerfile.stage("build").instructions      # [Run, Copy, ...] objects of instructions/
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import DockerfileError
from .instructions import Arg, From, Instruction, to_instruction
from .instructions.base import quote
from .parser import parse_tree


@dataclass
class Stage:
    """One FROM and the instructions up to the next FROM."""

    name: str
    base: str
    platform: str
    from_line: int
    instructions: list[Instruction] = field(default_factory=list)
    index: int = 0
    from_instruction: From | None = None


@dataclass
class Dockerfile:
    """A checked Dockerfile: ARGs before the first FROM, stages, and what directives set."""

    meta_args: list[Arg]
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
        raise DockerfileError(f"target stage {quote(str(name_or_index))} could not be found")


def parse(text: str | bytes) -> Dockerfile:
    """Parse and check a Dockerfile into stages; every problem is a DockerfileError."""
    tree = parse_tree(text)
    meta_args: list[Arg] = []
    stages: list[Stage] = []
    for node in tree.children:
        instruction = to_instruction(node)
        if isinstance(instruction, From):
            name = instruction.stage_name
            if name and any(s.name == name for s in stages):
                raise DockerfileError(f"duplicate stage name {quote(name)}",
                                      node.start_line, "FROM")
            stages.append(Stage(name, instruction.base, instruction.platform, node.start_line,
                                index=len(stages), from_instruction=instruction))
        elif not stages and isinstance(instruction, Arg):
            meta_args.append(instruction)
        elif not stages:
            raise DockerfileError(f"{node.cmd.upper()}: no build stage in current context",
                                  node.start_line, node.cmd.upper())
        else:
            stages[-1].instructions.append(instruction)
    return Dockerfile(meta_args, stages, tree.escape, tree.directives.get("syntax", ""),
                      tree.directives.get("check", ""), list(tree.warnings))


def check(text: str | bytes) -> None:
    """Validate every instruction without building; raise DockerfileError on the first problem."""
    parse(text)
