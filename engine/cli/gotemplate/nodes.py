"""The nodes of a parsed template, each printing as Go prints it in an execution error
(`<.State.Health.Status>`, `<index .Args 5>`) and keeping its offset in the template.
Plain classes: the CLI builds them on every run, and dataclasses would cost it ~1 ms each to
define at import."""
from .gofmt import quote


class Node:
    __slots__ = ("pos",)

    def __init__(self, pos: int):
        self.pos = pos


class ListNode(Node):
    __slots__ = ("nodes",)

    def __init__(self, pos, nodes=None):
        super().__init__(pos)
        self.nodes = nodes if nodes is not None else []

    def __str__(self):
        return "".join(map(str, self.nodes))


class TextNode(Node):
    __slots__ = ("text",)

    def __init__(self, pos, text: str):
        super().__init__(pos)
        self.text = text

    def __str__(self):
        return self.text


class FieldNode(Node):
    """.A.B: ident ["A", "B"]."""
    __slots__ = ("ident",)

    def __init__(self, pos, ident: list):
        super().__init__(pos)
        self.ident = ident

    def __str__(self):
        return "".join("." + i for i in self.ident)


class VariableNode(Node):
    """$x.A: ident ["$x", "A"]."""
    __slots__ = ("ident",)

    def __init__(self, pos, ident: list):
        super().__init__(pos)
        self.ident = ident

    def __str__(self):
        return ".".join(self.ident)


class ChainNode(Node):
    """(pipeline).A.B: the node and the fields after it."""
    __slots__ = ("node", "fields")

    def __init__(self, pos, node: Node, fields: list):
        super().__init__(pos)
        self.node, self.fields = node, fields

    def __str__(self):
        inner = f"({self.node})" if isinstance(self.node, PipeNode) else str(self.node)
        return inner + "".join("." + f for f in self.fields)


class IdentifierNode(Node):
    """A function's name."""
    __slots__ = ("name",)

    def __init__(self, pos, name: str):
        super().__init__(pos)
        self.name = name

    def __str__(self):
        return self.name


class DotNode(Node):
    __slots__ = ()

    def __str__(self):
        return "."


class NilNode(Node):
    __slots__ = ()

    def __str__(self):
        return "nil"


class ConstantNode(Node):
    """A bool, number, character or string literal: `value` is what it means."""
    __slots__ = ("text", "value")

    def __init__(self, pos, text: str, value):
        super().__init__(pos)
        self.text, self.value = text, value

    def __str__(self):
        return self.text


class CommandNode(Node):
    """A function or field and its arguments."""
    __slots__ = ("args",)

    def __init__(self, pos, args=None):
        super().__init__(pos)
        self.args = args if args is not None else []

    def __str__(self):
        return " ".join(f"({a})" if isinstance(a, PipeNode) else str(a) for a in self.args)


class PipeNode(Node):
    """`$x := a | b`: the variables declared (or assigned) and the commands."""
    __slots__ = ("decl", "is_assign", "cmds")

    def __init__(self, pos):
        super().__init__(pos)
        self.decl, self.is_assign, self.cmds = [], False, []

    def __str__(self):
        text = " | ".join(map(str, self.cmds))
        if self.decl:
            text = ", ".join(self.decl) + (" = " if self.is_assign else " := ") + text
        return text


class ActionNode(Node):
    __slots__ = ("pipe",)

    def __init__(self, pos, pipe: PipeNode):
        super().__init__(pos)
        self.pipe = pipe

    def __str__(self):
        return "{{" + str(self.pipe) + "}}"


class BranchNode(Node):
    """if, range or with: `pipe`, the list it runs, the list after {{else}}."""
    __slots__ = ("keyword", "pipe", "list", "else_list")

    def __init__(self, pos, keyword: str, pipe: PipeNode, body: ListNode,
                 else_list: ListNode | None):
        super().__init__(pos)
        self.keyword, self.pipe, self.list, self.else_list = keyword, pipe, body, else_list

    def __str__(self):
        text = "{{" + self.keyword + " " + str(self.pipe) + "}}" + str(self.list)
        if self.else_list is not None:
            text += "{{else}}" + str(self.else_list)
        return text + "{{end}}"


class LoopControlNode(Node):
    """{{break}} or {{continue}}."""
    __slots__ = ("keyword",)

    def __init__(self, pos, keyword: str):
        super().__init__(pos)
        self.keyword = keyword

    def __str__(self):
        return "{{" + self.keyword + "}}"


class TemplateNode(Node):
    """{{template "name" pipeline}}."""
    __slots__ = ("name", "pipe")

    def __init__(self, pos, name: str, pipe: PipeNode | None):
        super().__init__(pos)
        self.name, self.pipe = name, pipe

    def __str__(self):
        return "{{template " + quote(self.name) + (f" {self.pipe}" if self.pipe else "") + "}}"


class EndNode(Node):
    """{{end}}: ends the list being parsed; never in a finished tree."""
    __slots__ = ()


class ElseNode(Node):
    """{{else}}: ends a branch's list; never in a finished tree."""
    __slots__ = ()
