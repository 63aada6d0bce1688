"""Property: whatever the text, the front end raises DockerfileError or nothing at all."""
import pathlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockyard.engine.dockerfile import check, dump_ast, expand, parse
from dockyard.engine.dockerfile.shell import process_word, process_words
from dockyard.engine.errors import DockerfileError

CASES = pathlib.Path(__file__).resolve().parents[1] / "dockerfiles"
SEEDS = [p.read_text() for p in sorted(CASES.glob("*/Dockerfile"))]
# Characters that matter to the parser and the lexer, so random text reaches deep paths.
ALPHABET = st.sampled_from(list("FROMRUNCOPYADDENVARGabc $ {}:-+?#%/=\\`'\"[],<>\n\t\r\x00é0123"))
WORDS = st.sampled_from(["FROM a", "RUN ", "COPY ", "<<EOF", "<<-'E'", "EOF", "\n", "--mount=",
                         "type=cache", "ONBUILD ", "HEALTHCHECK ", "NONE", "CMD ", "[\"x\"]",
                         "# escape=`\n", "\\\n", "${A:-", "}", "ENV ", "=", "AS ", "ARG "])
TEXT = st.one_of(st.text(alphabet=ALPHABET, max_size=200),
                 st.lists(WORDS, max_size=30).map("".join), st.text(max_size=100))


def _exercise(text: str) -> None:
    for fn in (dump_ast, check):
        try:
            fn(text)
        except DockerfileError:
            pass
    try:
        df = parse(text)
    except DockerfileError:
        return
    for stage in df.stages:
        for ins in [stage.from_instruction] + stage.instructions:
            try:
                expand(ins, {"A": "1"}, escape=df.escape)
            except DockerfileError:
                pass


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(TEXT)
def test_random_text_only_raises_dockerfile_error(text):
    _exercise(text)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(SEEDS), st.data())
def test_mutated_dockerfiles_only_raise_dockerfile_error(seed, data):
    text = seed
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text)))
        op = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = data.draw(st.text(alphabet=ALPHABET, max_size=5))
        cut = data.draw(st.integers(0, 8))
        if op == "insert":
            text = text[:at] + piece + text[at:]
        elif op == "delete":
            text = text[:at] + text[at + cut:]
        else:
            text = text[:at] + piece + text[at + len(piece):]
    _exercise(text)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=60), st.sampled_from(["\\", "`"]))
def test_lexer_only_raises_dockerfile_error(word, escape):
    for fn in (process_word, process_words):
        try:
            fn(word, {"A": "x*y", "B": ""}, escape=escape)
        except DockerfileError:
            pass
