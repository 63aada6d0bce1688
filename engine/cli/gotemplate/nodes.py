"""The nodes of a parsed template, each printing as Go prints it in an execution error
(`<.State.Health.Status>`, `<index .Args 5>`) and keeping its offset in the template."""
from dataclasses import dataclass, field


@dataclass(eq=False)
class Node:
    pos: int


@dataclass(eq=False)
class ListNode(Node):
    nodes: list = field(default_factory=list)

    def __str__(self):
        return "".join(map(str, self.nodes))


@dataclass(eq=False)
class TextNode(Node):
    text: str = ""

    def __str__(self):
        return self.text


@dataclass(eq=False)
class FieldNode(Node):
    ident: list = field(default_factory=list)       # .A.B -> ["A", "B"]

    def __str__(self):
        return "".join("." + i for i in self.ident)


@dataclass(eq=False)
class VariableNode(Node):
    ident: list = field(default_factory=list)       # $x.A -> ["$x", "A"]

    def __str__(self):
        return ".".join(self.ident)


@dataclass(eq=False)
class ChainNode(Node):
    node: Node = None                                # (pipeline).A.B
    fields: list = field(default_factory=list)

    def __str__(self):
        inner = f"({self.node})" if isinstance(self.node, PipeNode) else str(self.node)
        return inner + "".join("." + f for f in self.fields)


@dataclass(eq=False)
class IdentifierNode(Node):
    name: str = ""

    def __str__(self):
        return self.name


@dataclass(eq=False)
class DotNode(Node):
    def __str__(self):
        return "."


@dataclass(eq=False)
class NilNode(Node):
    def __str__(self):
        return "nil"


@dataclass(eq=False)
class ConstantNode(Node):
    """A bool, number, character or string literal: `value` is what it means."""
    text: str = ""
    value: object = None

    def __str__(self):
        return self.text


@dataclass(eq=False)
class CommandNode(Node):
    args: list = field(default_factory=list)

    def __str__(self):
        return " ".join(f"({a})" if isinstance(a, PipeNode) else str(a) for a in self.args)


@dataclass(eq=False)
class PipeNode(Node):
    decl: list = field(default_factory=list)          # variable names
    is_assign: bool = False
    cmds: list = field(default_factory=list)

    def __str__(self):
        text = " | ".join(map(str, self.cmds))
        if self.decl:
            text = ", ".join(self.decl) + (" = " if self.is_assign else " := ") + text
        return text


@dataclass(eq=False)
class ActionNode(Node):
    pipe: PipeNode = None

    def __str__(self):
        return "{{" + str(self.pipe) + "}}"


@dataclass(eq=False)
class BranchNode(Node):
    """if, range or with: `pipe`, the list it runs, the list after {{else}}."""
    keyword: str = ""
    pipe: PipeNode = None
    list: ListNode = None
    else_list: ListNode | None = None

    def __str__(self):
        text = "{{" + self.keyword + " " + str(self.pipe) + "}}" + str(self.list)
        if self.else_list is not None:
            text += "{{else}}" + str(self.else_list)
        return text + "{{end}}"


@dataclass(eq=False)
class LoopControlNode(Node):
    keyword: str = ""                                 # break or continue

    def __str__(self):
        return "{{" + self.keyword + "}}"


@dataclass(eq=False)
class TemplateNode(Node):
    name: str = ""
    pipe: PipeNode | None = None

    def __str__(self):
        from .gofmt import quote
        return "{{template " + quote(self.name) + (f" {self.pipe}" if self.pipe else "") + "}}"


@dataclass(eq=False)
class EndNode(Node):
    """{{end}}: ends the list being parsed; never in a finished tree."""


@dataclass(eq=False)
class ElseNode(Node):
    """{{else}}: ends a branch's list; never in a finished tree."""
