"""Checks, the typed model and expansion of the Dockerfile front end."""
import argparse
import json
import time

import pytest

from dockyard.engine.dockerfile import check, dump_ast, expand, parse
from dockyard.engine.errors import DockerfileError

ERRORS = [
    ("", None, "file with no instructions"),
    ("# only a comment\n\n", 2, "file with no instructions"),
    ("FROM a\nFOO bar\n", 2, "unknown instruction: FOO"),
    ("FROM a\nCOPY x\n", 2, "COPY requires at least two arguments"),
    ("FROM a\nADD x\n", 2, "ADD requires at least two arguments"),
    ("FROM a\nCOPY x <<EOF\nhi\nEOF\n", 2, "COPY cannot accept a heredoc as a destination"),
    ("FROM a\nRUN <<EOF\nno end\n", 2, "unterminated heredoc"),
    ("FROM a\nCOPY --bogus=1 x y\n", 2, "COPY: unknown flag: bogus"),
    ("FROM a\nCOPY --chown x y\n", 2, "missing a value on flag: chown"),
    ("FROM a\nCOPY --link=maybe x y\n", 2, "expecting boolean value for flag link"),
    ("FROM a\nCOPY --from=a --from=b x y\n", 2, "duplicate flag specified: from"),
    ("FROM a\nENV\n", 2, "ENV requires at least one argument"),
    ("FROM a\nENV A\n", 2, "ENV must have two arguments"),
    ("FROM a\nENV A=1 B\n", 2, "can't find = in \"B\""),
    ("FROM a\nLABEL =x\n", 2, "LABEL names can not be blank"),
    ("FROM a\nARG =x\n", 2, "ARG names can not be blank"),
    ("FROM a b\n", 1, "FROM requires either one or three arguments"),
    ("FROM a AS 1x\n", 1, "invalid name for build stage"),
    ("FROM a AS x\nFROM b AS X\n", 2, "duplicate stage name"),
    ("RUN true\n", 1, "no build stage in current context"),
    ("FROM a\nWORKDIR\n", 2, "WORKDIR requires exactly one argument"),
    ("FROM a\nUSER\n", 2, "USER requires exactly one argument"),
    ("FROM a\nSTOPSIGNAL\n", 2, "STOPSIGNAL requires exactly one argument"),
    ("FROM a\nMAINTAINER\n", 2, "MAINTAINER requires exactly one argument"),
    ("FROM a\nEXPOSE\n", 2, "EXPOSE requires at least one argument"),
    ("FROM a\nVOLUME\n", 2, "VOLUME requires at least one argument"),
    ("FROM a\nVOLUME [\"\"]\n", 2, "VOLUME specified can not be an empty string"),
    ("FROM a\nSHELL /bin/sh -c\n", 2, "SHELL requires the arguments to be in JSON form"),
    ("FROM a\nSHELL []\n", 2, "SHELL requires at least one argument"),
    ("FROM a\nCMD [1, 2]\n", 2, "arrays must be comprised of strings only"),
    ("FROM a\nONBUILD\n", 2, "ONBUILD requires at least one argument"),
    ("FROM a\nONBUILD ONBUILD RUN x\n", 2, "Chaining ONBUILD"),
    ("FROM a\nONBUILD FROM b\n", 2, "FROM isn't allowed as an ONBUILD trigger"),
    ("FROM a\nONBUILD MAINTAINER me\n", 2, "MAINTAINER isn't allowed as an ONBUILD trigger"),
    ("FROM a\nONBUILD COPY x\n", 2, "COPY requires at least two arguments"),
    ("FROM a\nHEALTHCHECK\n", 2, "HEALTHCHECK requires at least one argument"),
    ("FROM a\nHEALTHCHECK NONE x\n", 2, "HEALTHCHECK NONE takes no arguments"),
    ("FROM a\nHEALTHCHECK CMD\n", 2, "Missing command after HEALTHCHECK CMD"),
    ("FROM a\nHEALTHCHECK FOO x\n", 2, "Unknown type \"FOO\" in HEALTHCHECK"),
    ("FROM a\nHEALTHCHECK --interval=10 CMD x\n", 2, "missing unit in duration"),
    ("FROM a\nHEALTHCHECK --interval=1us CMD x\n", 2, "cannot be less than 1ms"),
    ("FROM a\nHEALTHCHECK --retries=-1 CMD x\n", 2, "--retries cannot be negative"),
    ("FROM a\nHEALTHCHECK --retries=x CMD x\n", 2, "invalid syntax"),
    ("FROM a\nRUN --network=bridge true\n", 2, "unsupported network mode"),
    ("FROM a\nRUN --mount=type=nfs,target=/x true\n", 2, "unsupported mount type"),
    ("FROM a\nRUN --mount=type=cache true\n", 2, "requires a target"),
    ("FROM a\nRUN --mount=type=cache,target=/x,bogus=1 true\n", 2, "unexpected key 'bogus'"),
    ("FROM a\nRUN --mount=type=cache,target=/x,sharing=all true\n", 2, "sharing"),
    ("FROM a\nRUN\n", 2, "RUN requires at least one argument"),
    ("# escape=x\nFROM a\n", 1, "invalid escape token"),
    ("# escape=\\\n# escape=`\nFROM a\n", 2, "only one escape parser directive"),
    ("FROM a\nRUN echo \\\n", None, None),  # a continuation at EOF is fine
]


@pytest.mark.parametrize("text,line,message", ERRORS)
def test_errors_name_line_and_instruction(text, line, message):
    if message is None:
        check(text)
        return
    with pytest.raises(DockerfileError) as info:
        check(text)
    assert message in str(info.value)
    assert info.value.line == line
    if line:
        assert str(info.value).startswith(f"Dockerfile line {line}: ")


def test_unknown_instruction_parses_but_fails_check():
    assert dump_ast("FROM a\nFOO bar\n")["children"][1]["cmd"] == "foo"


def test_model_stages_and_meta_args():
    df = parse("ARG V=1\nARG R\nFROM --platform=linux/amd64 img:$V AS Build\nRUN a\n"
               "FROM build\nCOPY --from=build /a /b\n")
    assert [a.pairs for a in df.meta_args] == [[("V", "1")], [("R", None)]]
    first, second = df.stages
    assert (first.name, first.base, first.platform, first.from_line) == (
        "build", "img:$V", "linux/amd64", 3)
    assert [i.cmd for i in first.instructions] == ["run"]
    assert second.instructions[0].from_ == "build"
    assert df.stage("build") is first and df.stage(1) is second
    with pytest.raises(DockerfileError):
        df.stage("nope")


def test_heredoc_chomp_and_files():
    df = parse("FROM a\nCOPY <<-EOF <<B /d/\n\t\tone\n\tEOF\ntwo $X\nB\n")
    copy = df.stages[0].instructions[0]
    assert copy.heredoc_files == [("EOF", "one\n", True), ("B", "two $X\n", True)]
    assert copy.sources == [] and copy.dest == "/d/"
    expanded = expand(copy, {"X": "1"})
    assert [h.content for h in expanded.heredocs] == ["one\n", "two 1\n"]
    assert expanded.used == {"X"}


def test_quoted_heredoc_is_not_expanded():
    copy = parse("FROM a\nCOPY <<'EOF' /f\n$X\nEOF\n").stages[0].instructions[0]
    assert expand(copy, {"X": "1"}).heredocs[0].content == "$X\n"


EXPANDS = [
    ("ENV K_$A=$A\"$B\"", "pairs", [("K_1", "1two words")]),
    ("LABEL \"x.$A\"=\"$B\"", "pairs", [("x.1", "two words")]),
    ("ARG N=${A}0", "pairs", [("N", "10")]),
    ("EXPOSE $A $B", "ports", ["1", "two", "words"]),
    ("WORKDIR /w/$A", "value", "/w/1"),
    ("USER $A:$A", "value", "1:1"),
    ("STOPSIGNAL SIG$A", "value", "SIG1"),
    ("VOLUME [\"/v/$A\"]", "volumes", ["/v/1"]),
    ("COPY --chown=$A --from=s$A --chmod=7$A$A \"$B\" /d/$A", "sources", ["two words"]),
    ("COPY --chown=$A --from=s$A x /d/$A", "chown", "1"),
    ("COPY --chown=$A --from=s$A x /d/$A", "from_", "s1"),
    ("COPY --exclude=*.$A x /d/$A", "excludes", ["*.1"]),
    ("ADD --checksum=sha256:$A x /d/$A", "checksum", "sha256:1"),
    ("RUN echo $A", "command", ["echo $A"]),
    ("CMD [\"$A\"]", "command", ["$A"]),
    ("ENTRYPOINT $A", "command", ["$A"]),
    ("MAINTAINER $A", "value", "$A"),
    ("ONBUILD RUN $A", "expression", "RUN $A"),
    ("HEALTHCHECK CMD $A", "healthcheck.test", ["CMD-SHELL", "$A"]),
]


@pytest.mark.parametrize("line,accessor,expected", EXPANDS)
def test_expand_where_docker_expands(line, accessor, expected):
    ins = parse(f"FROM a\n{line}\n").stages[0].instructions[0]
    out = expand(ins, {"A": "1", "B": "two words"})
    for name in accessor.split("."):
        out = getattr(out, name)
    assert out == expected


def test_expand_from_and_mounts():
    df = parse("ARG T=3\nFROM --platform=$P img:$T\nRUN --mount=type=cache,target=/c/$T,id=$T x\n")
    frm = expand(df.stages[0].from_instruction, {"T": "3", "P": "linux/arm64"})
    assert (frm.base, frm.platform) == ("img:3", "linux/arm64")
    run = expand(df.stages[0].instructions[0], {"T": "3"})
    assert (run.mounts[0]["target"], run.mounts[0]["id"]) == ("/c/3", "3")
    assert run.command == ["x"]


def test_expand_error_names_line():
    ins = parse("FROM a\n\nWORKDIR ${X:?must be set}\n").stages[0].instructions[0]
    with pytest.raises(DockerfileError, match=r"^Dockerfile line 3: WORKDIR: .*must be set"):
        expand(ins, {})


def test_backtick_escape_directive():
    df = parse("# escape=`\nFROM a\nRUN dir c:\\ `\n  && echo x\nWORKDIR c:\\a`$b\n")
    run, workdir = df.stages[0].instructions
    assert df.escape == "`" and run.command == ["dir c:\\   && echo x"]
    assert expand(workdir, {}, escape="`").value == "c:\\a$b"


def test_escaped_escape_is_not_a_continuation():
    tree = dump_ast("FROM a\nRUN echo \\\\\nRUN b\n")
    assert [c["args"] for c in tree["children"][1:]] == [["echo \\\\"], ["b"]]


def test_crlf_and_bom():
    tree = dump_ast(b"\xef\xbb\xbfFROM a\r\nRUN x \\\r\n  y\r\n")
    assert tree["children"][1]["args"] == ["x   y"]


def test_healthcheck_none_and_values():
    hc = parse("FROM a\nHEALTHCHECK --interval=1m30s CMD [\"t\"]\n").stages[0].instructions[0]
    assert hc.healthcheck.test == ["CMD", "t"] and hc.healthcheck.interval == 90 * 10**9
    none = parse("FROM a\nHEALTHCHECK NONE\n").stages[0].instructions[0]
    assert none.healthcheck.test == ["NONE"]


def test_cli_handlers(tmp_path, capsys):
    from dockyard.engine.cli import dockerfile as cli
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    good = tmp_path / "Dockerfile"
    good.write_text("FROM a\nRUN x\n")
    args = parser.parse_args(["dockerfile", "parse", str(good)])
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out)["children"][1]["args"] == ["x"]
    args = parser.parse_args(["dockerfile", "check", str(good)])
    assert args.func(args) == 0 and capsys.readouterr().out == ""
    bad = tmp_path / "Bad"
    bad.write_text("FROM a\nCOPY x\n")
    args = parser.parse_args(["dockerfile", "check", str(bad)])
    with pytest.raises(DockerfileError) as info:
        args.func(args)
    assert info.value.exit_status == 1 and info.value.line == 2
    args = parser.parse_args(["dockerfile", "expand", "--matches", "--env", "A=1", "--", "$A$B"])
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out) == {"result": "1", "matched": ["A"],
                                                   "unmatched": ["B"]}
    args = parser.parse_args(["dockerfile", "expand", "--words", "--", "a 'b c'"])
    args.func(args)
    assert json.loads(capsys.readouterr().out) == ["a", "b c"]


def test_parse_is_fast():
    text = ("FROM busybox\nARG V=1\nENV A=$V B=2\nWORKDIR /app\nCOPY --chown=1:1 . /app\n"
            "RUN --mount=type=cache,target=/c echo hi \\\n  && echo there\nLABEL a=b\n"
            "EXPOSE 80\nUSER 1000\nCMD [\"sh\"]\n")
    parse(text)
    start = time.perf_counter()
    for _ in range(200):
        parse(text)
    per_parse = (time.perf_counter() - start) / 200
    assert per_parse < 0.002, f"{per_parse * 1e3:.3f} ms per parse"


def test_a_new_instruction_is_one_class():
    # docs/ARCHITECTURE.md's "How to add an instruction", end to end: defining the class is all.
    from dockyard.engine.dockerfile import REGISTRY, apply_changes, arguments
    from dockyard.engine.dockerfile.flags import BOOL, Flag
    from dockyard.engine.dockerfile.instructions.base import Instruction, exactly_one

    class Hostname(Instruction):
        cmd = "hostname"
        syntax = staticmethod(arguments.one_string)
        change = True
        strict = Flag(BOOL)
        value: str

        def read(self, args):
            exactly_one(args, "HOSTNAME")
            self.value = args[0]

        def expand(self, ex):
            return self.replace(value=ex.word(self.value))

        def configure(self, config, cmd_set):
            config["Hostname"] = self.value
            return f"HOSTNAME {self.value}"

    try:
        ins = parse("FROM a\nHOSTNAME --strict web-$N\n").stages[0].instructions[0]
        assert isinstance(ins, Hostname) and ins.strict and ins.value == "web-$N"
        assert expand(ins, {"N": "1"}).apply({}) == ({"Hostname": "web-1"}, "HOSTNAME web-1")
        assert apply_changes({"Env": ["N=2"]}, ["HOSTNAME web-$N"])["Hostname"] == "web-2"
        with pytest.raises(DockerfileError, match="line 2: HOSTNAME requires exactly one"):
            check("FROM a\nHOSTNAME\n")
    finally:
        del REGISTRY["hostname"]
    with pytest.raises(DockerfileError, match="unknown instruction: HOSTNAME"):
        check("FROM a\nHOSTNAME web\n")
