"""Go text/template's parser: tokens -> a tree of nodes (nodes.py), with Go's checks and
error texts (`function "x" not defined`, `undefined variable "$x"`, `unexpected {{end}}`...).
"""
import re

from ...errors import TemplateError
from .gofmt import quote
from .lexer import LexError, Token, lex
from .nodes import (ActionNode, BranchNode, ChainNode, CommandNode, ConstantNode, DotNode,
                    FieldNode, IdentifierNode, ListNode, LoopControlNode, NilNode, Node, PipeNode,
                    TemplateNode, TextNode, VariableNode, ElseNode, EndNode)


class ParseError(TemplateError):
    """A template that doesn't parse; the message is Go's: `template: :1: ...`."""


def parse(text: str, functions) -> dict[str, ListNode]:
    """The templates `text` defines: "" (the main one) and each {{define}}d name."""
    try:
        tokens = lex(text)
    except LexError as exc:
        raise ParseError(f"template: :{_line(text, exc.pos)}: {exc}") from None
    return _Parser(text, tokens, functions).parse()


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


LITERALS = {"BOOL", "CHAR_CONSTANT", "NUMBER", "NIL", "RAW_STRING", "STRING", "DOT", "FIELD",
            "IDENTIFIER", "VARIABLE", "LEFT_PAREN"}


class _Parser:
    def __init__(self, text: str, tokens: list[Token], functions):
        self.text, self.tokens, self.i = text, tokens, 0
        self.functions, self.vars, self.range_depth = functions, ["$"], 0
        self.templates: dict[str, ListNode] = {}

    # -- tokens ----------------------------------------------------------------------------
    def next(self) -> Token:
        token = self.tokens[min(self.i, len(self.tokens) - 1)]
        self.i += 1
        return token

    def peek(self) -> Token:
        return self.tokens[min(self.i, len(self.tokens) - 1)]

    def backup(self, n: int = 1) -> None:
        self.i -= n

    def next_non_space(self) -> Token:
        token = self.next()
        while token.kind == "SPACE":
            token = self.next()
        return token

    def peek_non_space(self) -> Token:
        token = self.next_non_space()
        self.backup()
        return token

    def fail(self, message: str, token: Token | None = None):
        token = token or self.tokens[max(0, min(self.i, len(self.tokens)) - 1)]
        raise ParseError(f"template: :{_line(self.text, token.pos)}: {message}")

    def unexpected(self, token: Token, context: str):
        self.fail(f"unexpected {token.describe()} in {context}", token)

    def expect(self, kind: str, context: str) -> Token:
        token = self.next_non_space()
        if token.kind != kind:
            self.unexpected(token, context)
        return token

    # -- structure -------------------------------------------------------------------------
    def parse(self) -> dict[str, ListNode]:
        root = ListNode(self.peek().pos)
        while self.peek().kind != "EOF":
            if self.peek().kind == "LEFT":
                start = self.i
                self.next()
                token = self.next_non_space()
                if token.kind == "KEYWORD" and token.value == "define":
                    self.definition()
                    continue
                self.i = start
            node = self.text_or_action()
            if isinstance(node, (EndNode, ElseNode)):
                self.fail(f"unexpected {{{{{'end' if isinstance(node, EndNode) else 'else'}}}}}")
            root.nodes.append(node)
        self.templates[""] = root
        return self.templates

    def definition(self) -> None:
        name = self.template_name(self.next_non_space(), "define clause")
        self.expect("RIGHT", "define clause")
        saved, self.vars = self.vars, ["$"]
        body, end = self.item_list()
        self.vars = saved
        if not isinstance(end, EndNode):
            self.fail("unexpected {{else}} in define clause")
        self.templates[name] = body

    def template_name(self, token: Token, context: str) -> str:
        if token.kind not in ("STRING", "RAW_STRING"):
            self.unexpected(token, context)
        return _unquote(token.value, self)

    def text_or_action(self) -> Node:
        token = self.next_non_space()
        if token.kind == "TEXT":
            return TextNode(token.pos, token.value)
        if token.kind == "LEFT":
            return self.action()
        self.unexpected(token, "input")

    def item_list(self) -> tuple[ListNode, Node]:
        items = ListNode(self.peek_non_space().pos)
        while self.peek_non_space().kind != "EOF":
            node = self.text_or_action()
            if isinstance(node, (EndNode, ElseNode)):
                return items, node
            items.nodes.append(node)
        self.fail("unexpected EOF")

    def action(self) -> Node:
        token = self.next_non_space()
        if token.kind == "KEYWORD":
            word = token.value
            if word in ("if", "range", "with"):
                return self.branch(word)
            if word == "end":
                return EndNode(self.expect("RIGHT", "end").pos)
            if word == "else":
                peek = self.peek_non_space()
                if peek.kind == "KEYWORD" and peek.value in ("if", "with"):
                    return ElseNode(peek.pos)
                return ElseNode(self.expect("RIGHT", "else").pos)
            if word in ("break", "continue"):
                after = self.next_non_space()
                if after.kind != "RIGHT":
                    self.unexpected(after, "{{" + word + "}}")
                if not self.range_depth:
                    self.fail(f"{{{{{word}}}}} outside {{{{range}}}}")
                return LoopControlNode(token.pos, word)
            if word == "template":
                return self.template_call()
            if word == "block":
                return self.block(token)
            if word == "define":
                self.unexpected(token, "command")
        self.backup()
        token = self.peek()
        return ActionNode(token.pos, self.pipeline("command", "RIGHT"))

    def branch(self, keyword: str) -> BranchNode:
        mark = len(self.vars)
        pipe = self.pipeline(keyword, "RIGHT")
        self.range_depth += keyword == "range"
        body, end = self.item_list()
        self.range_depth -= keyword == "range"
        else_list = None
        if isinstance(end, ElseNode):
            peek = self.peek()
            if keyword in ("if", "with") and peek.kind == "KEYWORD" and peek.value == keyword:
                # {{else if x}} is {{else}}{{if x}}...{{end}}: the inner branch eats the {{end}}.
                self.next()
                else_list = ListNode(end.pos, [self.branch(keyword)])
            else:
                else_list, end = self.item_list()
                if not isinstance(end, EndNode):
                    self.fail("expected end; found {{else}}")
        del self.vars[mark:]
        return BranchNode(pipe.pos, keyword, pipe, body, else_list)

    def template_call(self) -> TemplateNode:
        token = self.next_non_space()
        name = self.template_name(token, "template clause")
        pipe = None
        if self.next_non_space().kind != "RIGHT":
            self.backup()
            pipe = self.pipeline("template clause", "RIGHT")
        return TemplateNode(token.pos, name, pipe)

    def block(self, token: Token) -> TemplateNode:
        name = self.template_name(self.next_non_space(), "block clause")
        pipe = self.pipeline("block clause", "RIGHT")
        saved, self.vars = self.vars, ["$"]
        body, end = self.item_list()
        self.vars = saved
        if not isinstance(end, EndNode):
            self.fail("unexpected {{else}} in block clause")
        self.templates[name] = body
        return TemplateNode(token.pos, name, pipe)

    # -- pipelines -------------------------------------------------------------------------
    def pipeline(self, context: str, end: str) -> PipeNode:
        pipe = PipeNode(self.peek_non_space().pos)
        while self.peek_non_space().kind == "VARIABLE":
            start = self.i
            variable = self.next()
            following = self.peek_non_space()
            if following.kind in ("ASSIGN", "DECLARE"):
                pipe.is_assign = following.kind == "ASSIGN"
                self.next_non_space()
                pipe.decl.append(variable.value)
                self.vars.append(variable.value)
            elif following.kind == "CHAR" and following.value == ",":
                self.next_non_space()
                pipe.decl.append(variable.value)
                self.vars.append(variable.value)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().kind in ("VARIABLE", "RIGHT", "RIGHT_PAREN"):
                        continue
                    self.fail("range can only initialize variables")
                self.fail(f"too many declarations in {context}")
            else:
                self.i = start          # a variable used as an argument, not declared
            break
        while True:
            token = self.next_non_space()
            if token.kind == end:
                self.check_pipeline(pipe, context)
                return pipe
            if token.kind not in LITERALS:
                self.unexpected(token, context)
            self.backup()
            pipe.cmds.append(self.command())

    def check_pipeline(self, pipe: PipeNode, context: str) -> None:
        if not pipe.cmds:
            self.fail(f"missing value for {context}")
        for stage, cmd in enumerate(pipe.cmds[1:], start=2):
            if isinstance(cmd.args[0], (ConstantNode, DotNode, NilNode)):
                self.fail(f"non executable command in pipeline stage {stage}")

    def command(self) -> CommandNode:
        cmd = CommandNode(self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            token = self.next()
            if token.kind == "SPACE":
                continue
            if token.kind in ("RIGHT", "RIGHT_PAREN"):
                self.backup()
            elif token.kind != "PIPE":
                self.unexpected(token, "operand")
            break
        if not cmd.args:
            self.fail("empty command")
        return cmd

    def operand(self) -> Node | None:
        node = self.term()
        if node is None or self.peek().kind != "FIELD":
            return node
        chain_pos, fields = self.peek().pos, []
        while self.peek().kind == "FIELD":
            fields.append(self.next().value[1:])
        if isinstance(node, FieldNode):
            return FieldNode(chain_pos, node.ident + fields)
        if isinstance(node, VariableNode):
            return VariableNode(chain_pos, node.ident + fields)
        if isinstance(node, (ConstantNode, NilNode, DotNode)):
            self.fail(f"unexpected . after term {quote(str(node))}")
        return ChainNode(chain_pos, node, fields)

    def term(self) -> Node | None:
        token = self.next_non_space()
        kind = token.kind
        if kind == "IDENTIFIER":
            if token.value not in self.functions:
                self.fail(f'function "{token.value}" not defined', token)
            return IdentifierNode(token.pos, token.value)
        if kind == "DOT":
            return DotNode(token.pos)
        if kind == "NIL":
            return NilNode(token.pos)
        if kind == "VARIABLE":
            name = token.value.split(".")[0]
            if name not in self.vars:
                self.fail(f'undefined variable "{name}"', token)
            return VariableNode(token.pos, [token.value])
        if kind == "FIELD":
            return FieldNode(token.pos, [token.value[1:]])
        if kind == "BOOL":
            return ConstantNode(token.pos, token.value, token.value == "true")
        if kind in ("NUMBER", "CHAR_CONSTANT"):
            return ConstantNode(token.pos, token.value, _number(token, self))
        if kind == "LEFT_PAREN":
            return self.pipeline("parenthesized pipeline", "RIGHT_PAREN")
        if kind in ("STRING", "RAW_STRING"):
            return ConstantNode(token.pos, token.value, _unquote(token.value, self))
        self.backup()
        return None


def _number(token: Token, parser: _Parser):
    """A number literal as Go's parser reads it: an int where it is one (017 is octal), a
    float64 otherwise; a character constant is its code point."""
    text = token.value
    if token.kind == "CHAR_CONSTANT":
        value = _unquote('"' + text[1:-1].replace('"', '\\"') + '"', parser)
        if len(value) != 1:
            parser.fail(f"malformed character constant: {text}", token)
        return ord(value)
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    try:
        if re.fullmatch(r"0[0-7_]+", body):
            return sign * int(body.replace("_", ""), 8)
        return sign * int(body, 0)
    except ValueError:
        pass
    try:
        if body.endswith("i"):
            raise ValueError("complex numbers are not supported")
        return sign * (float.fromhex(body) if body[:2].lower() == "0x" else float(body))
    except ValueError:
        parser.fail(f"illegal number syntax: {quote(text)}", token)


_UNESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
              "\\": "\\", '"': '"', "'": "'"}


def _unquote(text: str, parser: _Parser) -> str:
    """strconv.Unquote of a "quoted" or `raw` Go string."""
    if text.startswith("`"):
        return text[1:-1].replace("\r", "")
    body, out, i = text[1:-1], [], 0
    try:
        while i < len(body):
            c = body[i]
            if c != "\\":
                out.append(c)
                i += 1
                continue
            e = body[i + 1]
            if e in _UNESCAPES:
                out.append(_UNESCAPES[e])
                i += 2
            elif e in "xuU":
                n = {"x": 2, "u": 4, "U": 8}[e]
                out.append(chr(int(body[i + 2:i + 2 + n], 16)))
                if len(body[i + 2:i + 2 + n]) != n:
                    raise ValueError
                i += 2 + n
            elif e in "01234567":
                out.append(chr(int(body[i + 1:i + 4], 8)))
                i += 4
            else:
                raise ValueError
    except (ValueError, IndexError):
        parser.fail("invalid syntax")
    return "".join(out)
