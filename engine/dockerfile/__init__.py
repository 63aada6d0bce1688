"""The Dockerfile front end: Docker's Dockerfile language, parsed, checked and expanded.

Layers, each usable alone:

- ``parser.parse_tree(text)``: lines, directives (``# syntax=``, ``# escape=``, ``# check=``),
  comments, continuations, heredocs and argument syntax, raw text kept.
  ``dump_ast(text)`` renders it as plain data::

      {"children": [{"cmd": "copy", "flags": ["--from=build"], "args": ["/a", "/b"],
                     "json": False, "heredocs": [{"name", "content", "expand", "chomp", "fd"}],
                     "start_line": 3, "end_line": 3, "sub": None}, ...],
       "warnings": [...], "directives": {"escape": "`"}}

  ``args`` of ENV and LABEL are ``[key, raw_value]`` pairs; ``sub`` is ONBUILD's trigger.
- ``instructions/``: one class per instruction (``Run``, ``Copy``, ``Env``, ...), each with its
  flags, its typed fields, how it expands, what it adds to the build cache key, how it
  changes the image config and which build step runs it; ``REGISTRY`` maps keywords to them.
- ``parse(text) -> Dockerfile``: checked stages (``check(text)`` only validates).
  ``Dockerfile``: ``meta_args`` (ARGs before the first FROM), ``stages``, ``escape``,
  ``syntax``, ``check`` (the directive's raw value), ``warnings``, ``stage(name_or_index)``.
  ``Stage``: ``name``, ``base`` (FROM's raw image), ``platform``, ``from_line``, ``index``,
  ``instructions``, ``from_instruction``.
- ``expand(instruction, env, *, escape)``: variables applied where Docker applies them.
- ``apply_changes(config, changes)``: ``commit --change`` lines applied to a config.
- ``Lexer(escape).process(word, env)``: the shell lexer (``shell.process_word``,
  ``process_words``, ``process_word_with_matches`` wrap it).

Every problem is a ``DockerfileError`` ("Dockerfile line N: INSTRUCTION: ...").
"""
from .changes import apply_changes
from .expand import expand
from .heredoc import Heredoc
from .instructions import REGISTRY, HealthConfig, Instruction
from .parser import parse_tree
from .shell import Lexer
from .stages import Dockerfile, Stage, check, parse

__all__ = ["REGISTRY", "Dockerfile", "HealthConfig", "Heredoc", "Instruction", "Lexer", "Stage",
           "apply_changes", "check", "dump_ast", "expand", "parse", "parse_tree"]


def dump_ast(text: str | bytes) -> dict:
    """The parse tree before expansion as plain data (JSON-ready); see the module docstring."""
    tree = parse_tree(text)
    return {"children": [node.to_dict() for node in tree.children], "warnings": tree.warnings,
            "directives": tree.directives}
