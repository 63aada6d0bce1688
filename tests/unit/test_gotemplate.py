"""Go's text/template with Docker's functions: each case is what Go prints for that template
and data (the data as Go would hold it: dicts are maps, Struct is a struct)."""
import pytest

from dockyard.engine.cli.gotemplate import (ExecError, GoMap, GoNil, GoObject, ParseError,
                                            Struct, Template)
from dockyard.engine.errors import InvalidArgument

STATE = Struct(Status="running", Health=GoNil("ptr", "Health", omit=True))
STATE.hidden = frozenset({"Health"})         # as Docker's JSON leaves out a nil State.Health
DATA = Struct(
    Name="/web", Args=["-c", "echo hi"], Empty=[], Zero=0, Yes=True, No=False, Nil=None,
    Labels=GoMap({"b": "2", "a": "1", "com.x.y": "z"}, zero=""),
    Map={"k2": [1, 2], "k1": None}, Num=42, Float=1.5, Big=1e6, Text="héllo",
    State=STATE,
    Ports=GoMap({"80/tcp": [Struct(HostIp="0.0.0.0", HostPort="8080")], "443/tcp": GoNil("slice")},
                zero=GoNil("slice")),
    Nets={"bridge": Struct(IPAddress="172.17.0.2"), "app": Struct(IPAddress="10.0.0.5")},
)


def render(template: str, data=DATA) -> str:
    return Template(template).execute(data)


@pytest.mark.parametrize("template, text", [
    # values as Go prints them
    ("{{.Name}} {{.Num}} {{.Float}} {{.Big}} {{.Yes}}", "/web 42 1.5 1e+06 true"),
    ("{{.Args}} {{.Empty}} {{.Labels}}", "[-c echo hi] [] map[a:1 b:2 com.x.y:z]"),
    ("{{.Map}}", "map[k1:<nil> k2:[1 2]]"),
    ("{{.Nil}}|{{.Map.nope}}|{{.Labels.nope}}|{{.State.Health}}", "<no value>|<no value>|<no value>|<nil>"),
    ("{{.Ports}}", "map[443/tcp:[] 80/tcp:[{0.0.0.0 8080}]]"),
    ("{{.State}}", "{running <nil>}"),
    ("{{.}}", None),        # not checked: just must not fail on the whole struct
    # text, trim markers, comments
    ("a {{- .Zero -}} b", "a0b"),
    ("a {{- /* gone */ -}} b", "ab"),
    ("x{{/* c */}}y", "xy"),
    ("{{\"a\\tb\"}}|{{`raw\\t`}}|{{'x'}}|{{0x1F}} {{017}} {{1_000}} {{-3}} {{.5}}",
     "a\tb|raw\\t|120|31 15 1000 -3 0.5"),
    # if / else if / else, with, and truth
    ("{{if .Yes}}y{{end}}{{if .No}}n{{else}}N{{end}}", "yN"),
    ("{{if .Zero}}a{{else if .Empty}}b{{else if .Labels}}c{{else}}d{{end}}", "c"),
    ("{{if .State}}struct{{end}}{{if .Nil}}nil{{end}}{{if .Map.nope}}m{{end}}", "struct"),
    ("{{with .Name}}[{{.}}]{{end}}{{with .Empty}}x{{else}}empty{{end}}", "[/web]empty"),
    ("{{with .Zero}}a{{else with .Num}}{{.}}{{end}}", "42"),
    # range: slices, maps in key order, else, variables, break/continue, integers
    ("{{range .Args}}<{{.}}>{{end}}", "<-c><echo hi>"),
    ("{{range $i, $a := .Args}}{{$i}}={{$a}};{{end}}", "0=-c;1=echo hi;"),
    ("{{range $k, $v := .Labels}}{{$k}}:{{$v}} {{end}}", "a:1 b:2 com.x.y:z "),
    ("{{range $k, $v := .Nets}}{{$k}} {{$v.IPAddress}}, {{end}}", "app 10.0.0.5, bridge 172.17.0.2, "),
    ("{{range .Empty}}x{{else}}none{{end}}{{range .Map.nope}}x{{else}}-{{end}}", "none-"),
    ("{{range $e := .Args}}{{$e}}{{end}}", "-cecho hi"),
    ("{{range 3}}{{.}}{{end}}", "012"),
    ("{{range $i, $x := .Args}}{{if eq $i 0}}{{continue}}{{end}}{{$x}}{{break}}{{end}}", "echo hi"),
    # variables
    ("{{$x := .Num}}{{$x}} {{$}}", None),
    ("{{$x := 1}}{{if .Yes}}{{$x = 2}}{{end}}{{$x}}", "2"),
    ("{{range .Args}}{{$.Num}}{{end}}", "4242"),
    # pipelines, parentheses, chains, methods on data
    ("{{.Num | printf \"%05d\"}}", "00042"),
    ("{{\"a\" | printf \"%s-%s\" \"b\"}}", "b-a"),
    ("{{(index .Args 1) | len}}", "7"),
    ("{{(index .Nets \"app\").IPAddress}}", "10.0.0.5"),
    ("{{len .Args}} {{len .Labels}} {{len .Text}} {{len .Empty}}", "2 3 6 0"),
    # Go's builtins
    ("{{index .Args 0}} {{index .Labels \"a\"}}|{{index .Labels \"nope\"}}|{{index .Map \"nope\"}}",
     "-c 1||<no value>"),
    ("{{index .Ports \"443/tcp\"}} {{index .Ports \"1/udp\"}}", "[] []"),
    ("{{slice .Args 1}} {{slice .Name 1 3}}", "[echo hi] we"),
    ("{{and 1 0 2}} {{and 1 2}} {{or 0 \"\" \"z\"}} {{or 0 \"\"}}|{{not .Zero}}", "0 2 z |true"),
    ("{{and .No .Nope.Deeper}}|{{or .Yes .Nil.X}}", "false|true"),
    ("{{eq .Num 42}} {{eq .Name \"/x\" \"/web\"}} {{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt \"b\" \"a\"}} {{ge 1.5 2.5}}",
     "true true true true true true false"),
    ("{{eq .Map.nope \"x\"}}", "false"),
    ("{{print 1 2 \"a\" \"b\" 3}}|{{println .Num \"x\"}}|", "1 2ab3|42 x\n|"),
    ("{{html \"<a href='x'>&\"}} {{js \"it's <b>\"}} {{urlquery \"a b/c&d\"}}",
     "&lt;a href=&#39;x&#39;&gt;&amp; it\\'s \\u003Cb\\u003E a+b%2Fc%26d"),
    # printf: Go's verbs and flags, and its error strings
    ("{{printf \"%s|%10s|%-6s|%.2s|%q|%x\" \"go\" \"right\" \"left\" \"trunc\" \"q\\\"\" \"hi\"}}",
     'go|     right|left  |tr|"q\\""|6869'),
    ("{{printf \"%d|%5d|%-5d|%05d|%+d|%x|%X|%o|%b|%c|%U\" 7 7 7 -7 7 255 255 8 5 65 65}}",
     "7|    7|7    |-0007|+7|ff|FF|10|101|A|U+0041"),
    ("{{printf \"%v|%.2f|%8.3f|%e|%g|%T|%T\" 2.5 3.14159 2.0 1234.5678 0.00001 .Args .Labels}}",
     "2.5|3.14|   2.000|1.234568e+03|1e-05|[]string|map[string]string"),
    ("{{printf \"%v %t %v %s\" .Args .Yes .Labels .Args}}", "[-c echo hi] true map[a:1 b:2 com.x.y:z] [-c echo hi]"),
    ("{{printf \"%d %s\" \"x\" 3}}|{{printf \"%d\"}}|{{printf \"x\" 1}}|{{printf \"%z\" 1}}|{{printf \"100%%\"}}",
     "%!d(string=x) %!s(int=3)|%!d(MISSING)|x%!(EXTRA int=1)|%!z(int=1)|100%"),
    ("{{printf \"%v %s\" .Nil .Nil}}", "<nil> %!s(<nil>)"),
    ("{{printf \"%[2]s-%[1]s\" \"a\" \"b\"}}", "b-a"),
    # Docker's functions
    ("{{json .Args}} {{json .Labels}} {{json .Name}} {{json .Nil}}",
     '["-c","echo hi"] {"a":"1","b":"2","com.x.y":"z"} "/web" null'),
    ("{{json .State}}", '{"Status":"running"}'),
    ("{{json \"<&>\"}}", '"<&>"'),
    ("{{join .Args \" , \"}}|{{split \"a:b:c\" \":\"}}|{{split \"abc\" \"\"}}", "-c , echo hi|[a b c]|[a b c]"),
    ("{{upper .Name}} {{lower \"ABC\"}} {{title \"hello wide-world\"}} {{title .Name}}",
     "/WEB abc Hello Wide-World /Web"),
    ("{{truncate \"abcdef\" 3}}|{{truncate \"ab\" 3}}|{{pad \"x\" 2 1}}|{{pad \"\" 2 1}}|", "abc|ab|  x ||"),
])
def test_go_prints_this(template, text):
    out = render(template)
    if text is not None:
        assert out == text


@pytest.mark.parametrize("template, message", [
    # parse errors: `template: NAME:LINE: ...`
    ("{{.Name", "template: :1: unclosed action"),
    ("{{nosuch .Name}}", 'template: :1: function "nosuch" not defined'),
    ("{{end}}", "template: :1: unexpected {{end}}"),
    ("{{if .Yes}}x", "template: :1: unexpected EOF"),
    ("a\n{{else}}", "template: :2: unexpected {{else}}"),
    ("{{$x}}", 'template: :1: undefined variable "$x"'),
    ("{{range}}{{end}}", "template: :1: missing value for range"),
    ("{{}}", "template: :1: missing value for command"),
    ("{{.Name | 3}}", "template: :1: non executable command in pipeline stage 2"),
    ("{{\"abc}}", "template: :1: unterminated quoted string"),
    ("{{ @ }}", 'template: :1: unexpected "@" in command'),
    ("{{/* c */ }}", "template: :1: comment ends before closing delimiter"),
    ("{{range $a, $b, $c := .Args}}{{end}}", "template: :1: too many declarations in range"),
    ("{{break}}", "template: :1: {{break}} outside {{range}}"),
    ("{{3.x}}", 'template: :1: bad number syntax: "3.x"'),
    ("{{true.x}}", 'template: :1: unexpected . after term "true"'),
    # execution errors: `template: NAME:LINE:COL: executing "NAME" at <NODE>: ...`
    ("{{.Nope}}", 'template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"'),
    ("{{.State.Health.Status}}",
     'template: :1:8: executing "" at <.State.Health.Status>: map has no entry for key "Health"'),
    ("{{.Name.X}}", 'template: :1:7: executing "" at <.Name.X>: can\'t evaluate field X in type string'),
    ("{{index .Args 5}}",
     'template: :1:2: executing "" at <index .Args 5>: error calling index: index out of range: 5'),
    ("{{join .Args}}", 'template: :1:2: executing "" at <join>: wrong number of args for join: want 2 got 1'),
    ("{{upper .Num}}", 'template: :1:8: executing "" at <.Num>: wrong type for value; expected string; got int'),
    ("{{upper .Missing}}", 'template: :1:8: executing "" at <.Missing>: map has no entry for key "Missing"'),
    ("{{upper .Labels.nope}}",
     'template: :1:15: executing "" at <.Labels.nope>: invalid value; expected string'),
    ("{{eq .Num \"42\"}}",
     'template: :1:2: executing "" at <eq .Num "42">: error calling eq: incompatible types for comparison'),
    ("{{lt .Yes .No}}",
     'template: :1:2: executing "" at <lt .Yes .No>: error calling lt: invalid type for comparison'),
    ("{{range .Name}}{{end}}", 'template: :1:8: executing "" at <.Name>: range can\'t iterate over /web'),
    ("{{3 4}}", 'template: :1:2: executing "" at <3>: can\'t give argument to non-function 3'),
    ("{{.Labels.a 1}}", 'template: :1:9: executing "" at <.Labels.a>: a is not a method but has arguments'),
    ("{{len .Num}}", 'template: :1:2: executing "" at <len .Num>: error calling len: len of type int'),
    ("{{template \"x\"}}", 'template: :1:11: executing "" at <{{template "x"}}>: template "x" not defined'),
])
def test_errors_read_as_go_writes_them(template, message):
    with pytest.raises((ParseError, ExecError)) as caught:
        render(template)
    assert str(caught.value) == message
    assert isinstance(caught.value, InvalidArgument)     # the CLI prints it as one Error: line


def test_long_node_text_is_cut_in_errors():
    with pytest.raises(ExecError, match=r'at <index \.Args 1 2 3 4 \.\.\.>'):
        render("{{index .Args 1 2 3 4 5 6 7}}")


def test_define_template_and_block():
    text = '{{define "item"}}<{{.}}>{{end}}{{range .Args}}{{template "item" .}}{{end}}' \
           '{{block "tail" .Num}}[{{.}}]{{end}}'
    assert render(text) == "<-c><echo hi>[42]"


class Row(GoObject):
    go_type = "*formatter.ContainerContext"

    def ID(self):
        return "abc"

    def Label(self, name: str):
        return {"env": "prod"}.get(name, "")


def test_methods_are_fields_with_arguments():
    assert render('{{.ID}} {{.Label "env"}}|{{.Label "x"}}|{{"env" | .Label}}', Row()) == "abc prod||prod"
    assert render("{{json .}}", Row()) == '{"ID":"abc"}'      # methods without arguments
    with pytest.raises(ExecError, match=r"at <\.Nope>: can't evaluate field Nope in type "
                                        r"\*formatter\.ContainerContext"):
        render("{{.Nope}}", Row())
    with pytest.raises(ExecError, match="wrong number of args for Label: want 1 got 0"):
        render("{{.Label}}", Row())


def test_error_positions_count_lines_and_columns():
    with pytest.raises(ExecError, match=r"template: :2:5: executing"):
        render("line one\nab {{.Nope}}")


def test_partial_output_before_an_error():
    assert Template("a{{.Nope}}b").execute(DATA, partial=True) == "a"


def test_nesting_too_deep_is_an_error_not_a_crash():
    with pytest.raises(ParseError, match="max expression depth exceeded"):
        Template("{{" + "(" * 5000 + "1" + ")" * 5000 + "}}")
