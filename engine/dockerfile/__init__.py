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
- ``parse(text) -> Dockerfile``: checked, typed stages (``check(text)`` only validates).
  ``Dockerfile``: ``meta_args`` (ARGs before the first FROM), ``stages``, ``escape``,
  ``syntax``, ``check`` (the directive's raw value), ``warnings``, ``stage(name_or_index)``.
  ``Stage``: ``name``, ``base`` (FROM's raw image), ``platform``, ``from_line``, ``index``,
  ``instructions``, ``from_instruction``.
  ``Instruction``: ``cmd`` (lower case), ``flags`` (name -> list of values; booleans are
  "true"/"false"; ``RUN --mount`` values are dicts from ``flags.parse_mount``), ``args``
  (raw), ``json`` (exec form), ``heredocs`` (``Heredoc``: name, content, expand, chomp, fd,
  ``.text`` with ``<<-`` tabs removed), ``start_line``, ``end_line``, ``original``, ``sub``
  (ONBUILD's trigger, an Instruction), ``raw_flags``, ``used`` (names expansion used).
  Accessors: ``value`` (MAINTAINER USER WORKDIR STOPSIGNAL); ``pairs`` (ENV LABEL: (k, v);
  ARG: (name, default or None)); ``base`` ``stage_name`` ``platform`` (FROM); ``command``
  ``prepend_shell`` (RUN CMD ENTRYPOINT SHELL), ``mounts`` ``network`` ``security`` (RUN);
  ``sources`` ``dest`` ``heredoc_files`` [(name, content, expand)] ``chown`` ``chmod``
  ``from_`` ``link`` ``parents`` ``excludes`` (COPY ADD), ``checksum`` ``keep_git_dir``
  ``unpack`` (ADD; None when not given); ``ports`` (EXPOSE), ``volumes`` (VOLUME),
  ``healthcheck`` -> ``Healthcheck(test, interval, timeout, start_period, start_interval,
  retries)``, durations in ns, ``test == ["NONE"]`` for HEALTHCHECK NONE.
- ``expand(instruction, env, *, escape)``: variables applied where Docker applies them.
- ``shell.process_word / process_words / process_word_with_matches``: the shell lexer.

Every problem is a ``DockerfileError`` ("Dockerfile line N: INSTRUCTION: ...").
"""
from .expand import expand
from .instructions import Dockerfile, Healthcheck, Instruction, Stage, check, parse
from .parser import Heredoc, parse_tree

__all__ = ["Dockerfile", "Healthcheck", "Heredoc", "Instruction", "Stage", "check", "dump_ast",
           "expand", "parse", "parse_tree"]


def dump_ast(text: str | bytes) -> dict:
    """The parse tree before expansion as plain data (JSON-ready); see the module docstring."""
    tree = parse_tree(text)
    return {"children": [node.to_dict() for node in tree.children], "warnings": tree.warnings,
            "directives": tree.directives}
