"""The shell lexer against Docker's expected results (cases written after buildkit's lexer tests)."""
import pytest

from dockyard.engine.dockerfile.shell import (Lexer, process_word, process_word_with_matches,
                                              process_words)
from dockyard.engine.errors import DockerfileError

ENV = ["PWD=/home", "SHELL=bash", "KOREAN=한국어", "NULL="]

WORDS = [
    ("hello", "hello"), ("he'll'o", "hello"), ("he'llo", None), ('he\\"llo', 'he"llo'),
    ("he\\'llo", "he'llo"), ('"hello"', "hello"), ("'hello'", "hello"), ("'hello\\'", "hello\\"),
    ('"\\$PWD"', "$PWD"), ("'$PWD'", "$PWD"), ("$PWD", "/home"), ("${PWD}", "/home"),
    ("\\$PWD", "$PWD"), ('"$PWD"', "/home"), ("he$PWD", "he/home"), ("he${PWD}x", "he/homex"),
    ("he${PWDx}", "he"), ("$KOREAN", "한국어"), ("안녕$KOREAN", "안녕한국어"),
    ("${PWD:-xxx}", "/home"), ("${NULL:-xxx}", "xxx"), ("${NULL-xxx}", ""),
    ("${UNSET:-x y}", "x y"), ("${UNSET-$PWD}", "/home"), ("${PWD:+yes}", "yes"),
    ("${NULL:+yes}", ""), ("${NULL+yes}", "yes"), ("${UNSET+yes}", ""),
    ("${PWD:?err}", "/home"), ("${UNSET:?err}", None), ("${NULL:?err}", None),
    ("${NULL?err}", ""), ("${UNSET?err}", None), ("${PWD", None), ("${", None), ("${}", None),
    ("${:}", None), ("${PWD=x}", None), ("${PWD:x}", None), ("$", "$"), ("x$", "x$"),
    ("$1x", "x"), ("${1}x", "x"), ("$@", ""), ("a\\", "a"), ('"a\\', None), ('"a\\"', None),
    ('"a\\b"', "a\\b"), ('"a\\\\b"', "a\\b"), ("\\\\", "\\"), ("${PWD#/}", "home"),
    ("${PWD%e}", "/hom"), ("${SHELL#b*}", "ash"), ("${SHELL##*s}", "h"), ("${SHELL%a*}", "b"),
    ("${SHELL%%a*}", "b"), ("${SHELL/a/A}", "bAsh"), ("${PWD//o/0}", "/h0me"),
    ("${PWD/#x/y}", "/home"), ("a  b", "a  b"), ("'a  b'", "a  b"),
]


@pytest.mark.parametrize("word,expected", WORDS)
def test_process_word(word, expected):
    if expected is None:
        with pytest.raises(DockerfileError):
            process_word(word, ENV)
    else:
        assert process_word(word, ENV) == expected
        assert process_word(word, dict(p.split("=", 1) for p in ENV)) == expected


MATCHES = [
    ("x ${UNUSED}", {"DUMMY": "dummy"}, "x ", set(), {"UNUSED"}),
    ("${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}", {"FOO": "xxx", "BAR": ""}, "xxx  ccc", {"FOO", "BAR"},
     {"BAZ"}),
    ("${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}", {"FOO": "xxx", "BAR": ""}, "xxx bbb ccc",
     {"FOO", "BAR"}, {"BAZ"}),
    ("${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}", {"FOO": "xxx", "BAR": ""}, "aaa  ", {"FOO", "BAR"},
     {"BAZ"}),
    ("${FOO#()[]{\\}^$.\\*\\?|\\\\}", {"FOO": "()[]{}^$.*?|\\x"}, "x", {"FOO"}, set()),
    ("${FOO%%\\**}", {"FOO": "xx**"}, "xx", {"FOO"}, set()),
    ("${FOO#*x*y}", {"FOO": "xxyy"}, "y", {"FOO"}, set()),
    ("${FOO#$BAR}", {"FOO": "xxyy", "BAR": "x"}, "xyy", {"FOO", "BAR"}, set()),
    ("${FOO##*x}", {"FOO": "xxyy"}, "yy", {"FOO"}, set()),
    ("${FOO#?\\?}", {"FOO": "???y"}, "?y", {"FOO"}, set()),
    ("${ABC:-.}${FOO%x}${ABC:-.}", {"FOO": "xxyy"}, ".xxyy.", {"FOO"}, {"ABC"}),
    ("${FOO%%\\**\\*}", {"FOO": "a***yy*"}, "a", {"FOO"}, set()),
    ("${FOO/$N/.} - ${FOO//$N/.}", {"FOO": "/foo*/*/*.txt", "N": "\\*/"},
     "/foo.*/*.txt - /foo..*.txt", {"FOO", "N"}, set()),
    ("${FOO/$N/} - ${FOO//$N/}", {"FOO": "/tmp/tmp/bar.txt", "N": "/tmp"},
     "/tmp/bar.txt - /bar.txt", {"FOO", "N"}, set()),
    ("${FOO/$N/$R} - ${FOO//$N/$R}", {"FOO": "/a/foo/b/c.txt", "N": "/?/", "R": "/"},
     "/foo/b/c.txt - /foo/c.txt", {"FOO", "N", "R"}, set()),
    ("${FOO//\\//\\/}", {"FOO": "/tmp/foo.txt"}, "\\/tmp\\/foo.txt", {"FOO"}, set()),
    ("${FOO/$BAR/ww}", {"FOO": "xxyy", "BAR": ""}, "wwxxyy", {"FOO", "BAR"}, set()),
    ("${FOO///}", {"FOO": "xxyy"}, "xxyy", {"FOO"}, set()),
    ("${FOO///}", {}, "", set(), {"FOO"}),
    ("v-${V}.${OS}-${ARCH}${VARIANT:+-${VARIANT}}.tgz",
     {"V": "1", "OS": "linux", "ARCH": "arm", "VARIANT": "v7"}, "v-1.linux-arm-v7.tgz",
     {"V", "OS", "ARCH", "VARIANT"}, set()),
]


@pytest.mark.parametrize("word,env,expected,matched,unmatched", MATCHES)
def test_process_word_with_matches(word, env, expected, matched, unmatched):
    assert process_word_with_matches(word, env) == (expected, matched, unmatched)


@pytest.mark.parametrize("word", ["${FOO//ww}", "${FOO//}", "${FOO=aaa}", "${BAR:?bbb}",
                                  "${FOO#\\x}"])
def test_process_word_errors(word):
    with pytest.raises(DockerfileError, match="failed to process"):
        process_word(word, {"FOO": "xxyy", "BAR": ""})


def test_required_message_names_variable():
    with pytest.raises(DockerfileError, match="VAR: message herex"):
        process_word("${VAR:?message here$ARG}", ["VAR=", "ARG=x"])
    assert process_word("${VAR?message}", ["VAR="]) == ""


WORD_SPLITS = [
    ("hello", ["hello"]), ("hello world", ["hello", "world"]), ("'a b' c", ["a b", "c"]),
    ('"a b"c d', ["a bc", "d"]), ("$SPLIT", ["a", "b"]), ('"$SPLIT"', ["a b"]),
    ("x$SPLIT", ["xa", "b"]), ("''", []), ('""x', ["x"]), ("a\\ b", ["a b"]),
    ("  lead trail  ", ["lead", "trail"]), ("$EMPTY", []), ("${EMPTY:-d e}", ["d", "e"]),
]


@pytest.mark.parametrize("word,expected", WORD_SPLITS)
def test_process_words(word, expected):
    assert process_words(word, ["SPLIT=a b", "EMPTY="]) == expected


def test_backtick_escape():
    assert process_word("a`$b `\"c", {"b": "B"}, escape="`") == 'a$b "c'
    assert process_word("C:\\dir", {}, escape="`") == "C:\\dir"
    assert process_word('"x`"y"', {}, escape="`") == 'x"y'


def test_env_list_later_wins_and_bare_key():
    assert process_word("$A|$B", ["A=1", "A=2", "B"]) == "2|"


def test_lexer_options():
    raw = Lexer(raw_quotes=True, raw_escapes=True, skip_unset_env=True)
    assert raw.process("'a' \"$X\" \\$Y ${Z:-d}", {})[0] == "'a' \"$X\" \\$Y ${Z:-d}"
    body = Lexer(skip_process_quotes=True)
    assert body.process("it's \"$X\"", {"X": "1"})[0] == 'it\'s "1"'
