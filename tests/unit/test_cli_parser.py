"""The CLI parser: the command map is complete, flags mean what Docker's mean, errors are one line."""
import pytest

from dockyard.engine.cli import main
from dockyard.engine.cli.runflags import run_options
from dockyard.engine.errors import InvalidArgument


def test_command_map_matches_what_modules_register():
    for module, commands in main.COMMANDS.items():
        parser = main.build_parser((module,))
        registered = set(parser._subparsers._group_actions[0].choices)
        assert registered == set(commands), module


@pytest.mark.parametrize("argv, field, value", [
    (["run", "-d", "--name", "web", "busybox"], "name", "web"),
    (["run", "-h", "box", "busybox"], "hostname", "box"),
    (["run", "-e", "A=1", "-e", "B", "busybox"], "environment", ("A=1", "B")),
    (["run", "-p", "8080:80", "-p", "53/udp", "busybox"], "ports", ("8080:80", "53/udp")),
    (["run", "-m", "64m", "--cpus", "0.5", "busybox"], "memory", "64m"),
    (["run", "--entrypoint", "", "busybox"], "entrypoint", ()),
    (["run", "--entrypoint", "/bin/env", "busybox"], "entrypoint", ("/bin/env",)),
    (["run", "busybox", "sh", "-c", "echo -d"], "command", ("sh", "-c", "echo -d")),
    (["run", "busybox"], "command", None),
    (["create", "-v", "data:/data:ro", "busybox"], "volumes", ("data:/data:ro",)),
    (["run", "--network", "host", "busybox"], "network", "host"),
    (["run", "--rm", "-it", "busybox"], "tty", True),
    (["run", "--cap-add", "NET_ADMIN", "--cap-drop", "ALL", "busybox"], "cap_drop", ("ALL",)),
    (["run", "-d", "--rm", "busybox"], "auto_remove", True),
    (["run", "--rm", "busybox"], "auto_remove", False),       # the attached client removes it
])
def test_run_flags(argv, field, value):
    assert getattr(run_options(main.parse(argv)), field) == value


@pytest.mark.parametrize("argv, words", [
    (["run"], "the following arguments are required: image"),
    (["run", "--nope", "busybox"], "unrecognized arguments: --nope"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    ([], "a command is needed"),
    (["run", "--pids-limit", "many", "busybox"], "invalid int value: 'many'"),
])
def test_bad_flags_are_one_line_errors(argv, words):
    with pytest.raises(InvalidArgument) as exc:
        main.parse(argv)
    assert words in str(exc.value) and "\n" not in str(exc.value)


def test_global_data_root_before_the_command(tmp_path):
    args = main.parse(["--data-root", str(tmp_path), "ps", "-a"])
    assert args.data_root == str(tmp_path) and args.all
