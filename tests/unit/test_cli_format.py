"""--format templates print values the way Docker's Go templates do."""
import pytest

from dockyard.engine.cli.format import render_format
from dockyard.engine.errors import InvalidArgument

VALUE = {"State": {"Status": "exited", "Running": False, "ExitCode": 137},
         "Config": {"Cmd": ["sh", "-c", "echo hi"], "Entrypoint": None,
                    "Labels": {"b": "2", "a": "1"}}}


@pytest.mark.parametrize("template, text", [
    ("{{.State.Status}}", "exited"),
    ("{{.State.Running}} {{.State.ExitCode}}", "false 137"),
    ("{{.Config.Cmd}}", "[sh -c echo hi]"),
    ("{{.Config.Labels}}", "map[a:1 b:2]"),
    ("{{.Config.Entrypoint}}", "<no value>"),
    ("{{json .Config.Cmd}}", '["sh", "-c", "echo hi"]'),
    ("status={{ .State.Status }}!", "status=exited!"),
])
def test_templates_print_like_go(template, text):
    assert render_format(template, VALUE) == text


@pytest.mark.parametrize("template", ["{{.State.Nope}}", "{{range .Config.Cmd}}x{{end}}"])
def test_unknown_fields_and_actions_are_one_line_errors(template):
    with pytest.raises(InvalidArgument):
        render_format(template, VALUE)
