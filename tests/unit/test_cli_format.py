"""--format as Docker's CLI applies it: inspect templates over Docker's typed shapes, list
formats (table/json/template) with Docker's headers and Go's tabwriter alignment."""
import pytest

from dockyard.engine.cli.format import inspect_text, render_format, render_rows
from dockyard.engine.cli.gotemplate import GoObject
from dockyard.engine.cli.tabwriter import tabwrite
from dockyard.engine.errors import InvalidArgument, TemplateError

VALUE = {"State": {"Status": "exited", "Running": False, "ExitCode": 137},
         "Config": {"Cmd": ["sh", "-c", "echo hi"], "Entrypoint": None, "User": "",
                    "Labels": {"b": "2", "a": "1"}, "ExposedPorts": {"80/tcp": {}}},
         "HostConfig": {"PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]},
                        "LogConfig": {"Type": "json-file", "Config": {}}},
         "NetworkSettings": {"Networks": {"appnet": {"IPAddress": "10.0.0.2", "Aliases": None,
                                                     "IPAMConfig": None}}}}


@pytest.mark.parametrize("template, text", [
    ("{{.State.Status}}", "exited"),
    ("{{.State.Running}} {{.State.ExitCode}}", "false 137"),
    ("{{.Config.Cmd}}", "[sh -c echo hi]"),
    ("{{.Config.Labels}}", "map[a:1 b:2]"),
    # a null field prints as its Go type's nil: Entrypoint is a slice, Health a pointer
    ("{{.Config.Entrypoint}} {{.State.Health}}", "[] <nil>"),
    ("{{json .Config.Cmd}}", '["sh","-c","echo hi"]'),          # compact, as Docker's json
    ("status={{ .State.Status }}!", "status=exited!"),
    ("{{range .Config.Cmd}}<{{.}}>{{end}}", "<sh><-c><echo hi>"),
    ("[{{.Config.User}}]", "[]"),
    # maps: a missing key is <no value>, and `index` gives the element's zero value
    ("{{.Config.Labels.nope}}|{{index .Config.Labels \"nope\"}}|", "<no value>||"),
    ("{{.Config.ExposedPorts}} {{.HostConfig.PortBindings}}", "map[80/tcp:{}] map[80/tcp:[{ 8080}]]"),
    ("{{range $p, $b := .HostConfig.PortBindings}}{{$p}} -> {{(index $b 0).HostPort}}{{end}}",
     "80/tcp -> 8080"),
    ("{{range $net, $ep := .NetworkSettings.Networks}}{{$net}}={{$ep.IPAddress}} "
     "{{$ep.Aliases}} {{$ep.IPAMConfig}}{{end}}", "appnet=10.0.0.2 [] <nil>"),
    ("{{.HostConfig.LogConfig.Config}}", "map[]"),
    ("{{json .State}}", '{"Status":"exited","Running":false,"ExitCode":137}'),  # Health omitted
])
def test_inspect_templates_print_like_docker(template, text):
    assert render_format(template, VALUE) == text


@pytest.mark.parametrize("template, message", [
    ("{{.State.Nope}}", 'template parsing error: template: :1:8: executing "" at <.State.Nope>: '
                        'map has no entry for key "Nope"'),
    ("{{.State.Health.Status}}", 'template parsing error: template: :1:8: executing "" at '
                                 '<.State.Health.Status>: map has no entry for key "Health"'),
    ("{{range .Config.Cmd}}", "template parsing error: template: :1: unexpected EOF"),
    ("{{nosuch .}}", 'template parsing error: template: :1: function "nosuch" not defined'),
])
def test_template_errors_are_docker_one_liners(template, message):
    with pytest.raises(InvalidArgument) as caught:
        render_format(template, VALUE)
    assert str(caught.value) == message and "\n" not in message


def test_inspect_output_forms():
    values = [{"Name": "/a", "Id": "1"}, {"Name": "/b", "Id": "2"}]
    assert inspect_text(values, None).startswith('[\n    {\n        "Name": "/a",')
    assert inspect_text(values, "json") == '[{"Name":"/a","Id":"1"},{"Name":"/b","Id":"2"}]\n'
    assert inspect_text(values, "{{.Name}}") == "/a\n/b\n"
    assert inspect_text([], "{{.Name}}") == "\n"                 # Docker's empty output


def test_inspect_template_failing_on_one_object_prints_the_others():
    values = [{"Name": "/a", "X": 1}, {"Name": "/b"}]
    with pytest.raises(TemplateError) as caught:
        inspect_text(values, "{{.Name}} {{.X}}")
    assert caught.value.text == "/a 1\n"
    assert str(caught.value).endswith('map has no entry for key "X"')


class Row(GoObject):
    go_type = "*formatter.thingContext"
    HEADERS = {"ID": "THING ID", "Name": "NAME"}

    def __init__(self, ident, name):
        self.ident, self.name = ident, name

    def ID(self):
        return self.ident

    def Name(self):
        return self.name

    def Label(self, key: str):
        return {"com.example.team": "infra"}.get(key, "")


ROWS = [Row("1", "short"), Row("22", "a-much-longer-name")]


@pytest.mark.parametrize("source, text", [
    ("table {{.ID}}\t{{.Name}}", "THING ID   NAME\n1          short\n22         a-much-longer-name\n"),
    # \t typed as two characters on a command line is a tab; `table` columns are at least 10
    ("table {{.Name}}\\t{{.ID}}", "NAME                 THING ID\nshort                1\n"
                                  "a-much-longer-name   22\n"),
    ("{{.ID}}:{{.Name}}", "1:short\n22:a-much-longer-name\n"),
    ("json", '{"ID":"1","Name":"short"}\n{"ID":"22","Name":"a-much-longer-name"}\n'),
    # header functions leave the column names alone; .Label names its column by the key's end
    ("table {{upper .Name}}\t{{.Label \"com.example.team\"}}",
     "NAME                 team\nSHORT                infra\nA-MUCH-LONGER-NAME   infra\n"),
    ("table {{.Nope}}", None),
])
def test_list_formats(source, text):
    if text is None:
        with pytest.raises(InvalidArgument, match=r"template parsing error: .*can't evaluate "
                                                  r"field Nope in type \*formatter.thingContext"):
            render_rows(source, ROWS, Row.HEADERS)
        return
    assert render_rows(source, ROWS, Row.HEADERS) == text


def test_a_table_without_rows_still_has_its_header():
    assert render_rows("table {{.ID}}\t{{.Name}}", [], Row.HEADERS) == "THING ID   NAME\n"
    assert render_rows("{{.ID}}", [], Row.HEADERS) == ""


@pytest.mark.parametrize("text, out", [
    ("a\tb\n", "a         b\n"),                                    # minimum width 10
    ("abcdefghijk\tb\nx\ty\n", "abcdefghijk   b\nx             y\n"),   # widest + 3
    # a column is the cells of consecutive lines that end in a tab: "b" ends one on line 1 only
    ("a\tb\tc\nlong-cell-here\tb\n", "a                b         c\nlong-cell-here   b\n"),
    ("a\t\tc\n", "a                   c\n"),                        # empty cells are padded
    ("one\nx\ty\n", "one\nx         y\n"),                          # a line without tabs: no column
    ("漢字\tb\nab\tc\n", "漢字      b\nab        c\n"),               # wide characters take two
])
def test_tabwriter_aligns_as_go(text, out):
    assert tabwrite(text) == out


def test_go_field_names_work_beside_json_keys():
    assert render_format("{{.ID}} {{.Id}}", {"Id": "abc"}) == "abc abc"
    assert render_format("{{json .}}", {"Id": "abc"}) == '{"Id":"abc"}'


def test_fields_docker_omits_from_json_are_still_fields():
    container = {"State": {"Status": "running"}, "Config": {"Image": "busybox"},
                 "HostConfig": {"Privileged": False}}
    text = "{{.Config.ExposedPorts}} {{.Config.StopSignal}}|{{.HostConfig.Init}} {{.State.Health}}"
    assert render_format(text, container) == "map[] |<nil> <nil>"
    assert render_format("{{range $p, $_ := .Config.ExposedPorts}}{{$p}}{{end}}.", container) == "."
    assert render_format("{{json .Config}}", container) == '{"Image":"busybox"}'
