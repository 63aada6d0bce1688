"""The magics' flags are the CLI's: one table of cases, parsed both ways, must agree."""
import subprocess
import sys

import pytest
from IPython import get_ipython
from IPython.testing.globalipapp import start_ipython

from dockyard.engine.cli.main import parse as cli_parse
from dockyard.engine.errors import InvalidArgument
from dockyard.extension import commandline

# (magic group, magic line, the `dockyard` argv that must mean the same)
CASES = [
    ("container", "run -d -p 8080:80 --name web img", ["run", "-d", "-p", "8080:80", "--name", "web", "img"]),
    ("container", "run --rm -e A=1 -e 'B=two words' busybox sh -c 'echo $A'",
     ["run", "--rm", "-e", "A=1", "-e", "B=two words", "busybox", "sh", "-c", "echo $A"]),
    ("container", "run --network net1 -v data:/data busybox ls /data",
     ["run", "--network", "net1", "-v", "data:/data", "busybox", "ls", "/data"]),
    ("container", "ps -a", ["ps", "-a"]),
    ("container", "logs -n 5 web", ["logs", "-n", "5", "web"]),
    ("container", "stop -t 1 web", ["stop", "-t", "1", "web"]),
    ("container", "exec -u nobody -w /tmp web id", ["exec", "-u", "nobody", "-w", "/tmp", "web", "id"]),
    ("container", "rm -f web", ["rm", "-f", "web"]),
    ("image", "ls", ["image", "ls"]),
    ("image", "history busybox", ["image", "history", "busybox"]),
    ("image", "tag busybox mine:1", ["image", "tag", "busybox", "mine:1"]),
    # the container's own flags are its business, even one that looks like ours (--name)
    ("container", "run busybox find / -name x", ["run", "busybox", "find", "/", "-name", "x"]),
]
BAD = [("container", "run --no-such-flag img"), ("container", "frobnicate"),
       ("container", "stop"), ("image", "ls --bogus"), ("container", "run 'unbalanced"),
       ("container", "run -name web img"), ("image", "ls -all")]


def as_dict(ns):
    return {k: v for k, v in vars(ns).items()}


@pytest.mark.parametrize("group,line,cli_argv", CASES)
def test_magic_line_parses_like_the_cli(group, line, cli_argv):
    argv = commandline.argv_for(group, line)
    assert argv == cli_argv
    assert as_dict(commandline.parse(argv)) == as_dict(cli_parse(cli_argv))


@pytest.mark.parametrize("group,line", BAD)
def test_bad_lines_fail_in_both_with_the_same_message(group, line):
    with pytest.raises(InvalidArgument) as magic:
        commandline.parse(commandline.argv_for(group, line))
    if "unbalanced" in line:
        return
    cli = subprocess.run([sys.executable, "-m", "dockyard.engine.cli",
                          *commandline.argv_for(group, line)], capture_output=True, text=True)
    assert cli.returncode == 125
    assert cli.stderr.strip() == f"Error: {magic.value}"


def test_top_level_commands_are_the_ones_the_cli_parser_offers():
    import re
    from dockyard.engine.cli.main import build_parser
    with pytest.raises(InvalidArgument) as refused:
        build_parser().parse_args(["no-such-verb"])
    offered = set(re.findall(r"'([^']+)'", str(refused.value).split("choose from", 1)[1]))
    assert commandline.top_level_commands() == offered and "run" in offered


def test_data_root_setting_becomes_the_cli_flag(tmp_path):
    args = commandline.parse(["ps"], data_root=str(tmp_path))
    assert args.data_root == str(tmp_path)


def test_bad_magic_line_is_one_line_in_a_real_shell(capsys):
    shell = start_ipython()
    shell.run_line_magic("load_ext", "dockyard.extension")
    result = shell.run_cell("%container run --no-such-flag img")
    assert isinstance(result.error_in_exec, InvalidArgument)
    shown = capsys.readouterr().out.strip().splitlines()
    assert len(shown) == 1 and "unrecognized arguments: --no-such-flag" in shown[0]
    assert shell.run_cell("1 + 1").result == 2        # the shell is fine afterwards


def test_go_templates_reach_the_parser_unexpanded(monkeypatch):
    # IPython expands {x} in magic lines; a --format template must arrive as written.
    shell = start_ipython() or get_ipython()      # the test session's one shell
    shell.run_line_magic("load_ext", "dockyard.extension")
    shell.run_cell("State = 'a python value'")
    seen = []
    real_parse = commandline.parse
    monkeypatch.setattr(commandline, "parse", lambda argv, *a: seen.append(argv) or real_parse(argv, *a))
    shell.run_cell("%container inspect -f '{{.State.Status}}' nosuch")
    assert seen and "{{.State.Status}}" in seen[0]


def test_a_single_dash_long_flag_gets_did_you_mean_in_the_cli_and_the_magics(capsys):
    cli = subprocess.run([sys.executable, "-m", "dockyard.engine.cli", "build", "-tag", "typo:1",
                          "."], capture_output=True, text=True)
    assert cli.returncode == 125
    assert cli.stderr.strip() == "Error: dockyard build: unknown flag -tag: did you mean --tag?"
    shell = start_ipython() or get_ipython()
    shell.run_line_magic("load_ext", "dockyard.extension")
    result = shell.run_cell("%%dockerfile -tag typo:1\nFROM busybox\n")
    assert isinstance(result.error_in_exec, InvalidArgument)
    assert str(result.error_in_exec) == "%%dockerfile: unknown flag -tag: did you mean --tag?"
    with pytest.raises(InvalidArgument, match="unknown flag -name: did you mean --name"):
        commandline.parse(commandline.argv_for("container", "run -name web busybox"))
