"""Go's text/template, as Docker's `--format` uses it: Go's syntax, functions, printing and
error messages, with Docker's functions (json, join, split, title, lower, upper, pad, truncate).

    Template('{{range $k, $v := .Labels}}{{$k}}={{$v}} {{end}}').execute({"Labels": {"b": "2", "a": "1"}})
    -> 'a=1 b=2 '

See values.py for how Python values stand for Go's (dicts are maps, Struct is a struct).
"""
from .evaluate import NO_VALUE, ExecError, Execution, FuncError, Function
from .functions import BUILTINS, DOCKER, HEADER
from .parser import ParseError, parse
from .values import GoMap, GoNil, GoObject, Struct, to_json

__all__ = ["Template", "ParseError", "ExecError", "FuncError", "Function", "GoMap", "GoNil",
           "GoObject", "Struct", "NO_VALUE", "HEADER", "to_json"]


class Template:
    """A parsed template; `execute` runs it over a value (ParseError, ExecError: Go's words)."""

    def __init__(self, text: str, functions: dict = DOCKER):
        self.text, self.functions = text, {**BUILTINS, **functions}
        try:
            self.trees = parse(text, self.functions)
        except RecursionError:      # Go's parser has a limit too
            raise ParseError("template: :1: max expression depth exceeded") from None

    def execute(self, data, functions: dict | None = None, partial: bool = False) -> str:
        """The text the template makes of `data`; `functions` replace some for this run;
        `partial` returns what was written before an error instead of raising it."""
        out: list[str] = []
        run = Execution(self.text, self.trees, {**self.functions, **(functions or {})}, out)
        try:
            try:
                run.run("", data)
            except RecursionError:
                run.fail("max expression depth exceeded")
        except ExecError:
            if not partial:
                raise
        return "".join(out)
