"""Go text/template's execution: walks the parsed tree over a value, as Go's exec.go does.

Errors read as Go's: `template: :1:8: executing "" at <.State.Health.Status>: map has no
entry for key "Health"`. NO_VALUE is Go's invalid value (a missing map key; it prints
`<no value>`); None is nil.
"""
from ...errors import TemplateError
from .gofmt import value_text
from .nodes import (BranchNode, ChainNode, CommandNode, ConstantNode, DotNode, FieldNode,
                     IdentifierNode, ListNode, LoopControlNode, NilNode, PipeNode, TemplateNode,
                     TextNode, ActionNode, VariableNode)
from .values import GoNil, Struct, go_method, sorted_items, truth, type_name

MAX_DEPTH = 100


class ExecError(TemplateError):
    """A template that fails while it runs; the message is Go's, location and all."""


class FuncError(Exception):
    """What a template function returns as Go's `error`: reported as `error calling NAME: ...`."""


class _NoValue:
    def __repr__(self):
        return "<no value>"


NO_VALUE = _NoValue()
_ABSENT = object()          # no value piped in from a previous command


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class Function:
    """A template function: `params` are the Go types of its fixed parameters ("any",
    "string", "int", "[]string", "value"), `variadic` the type of its `...` one."""

    def __init__(self, call, params=(), variadic=None, short_circuit=False):
        self.call, self.params, self.variadic = call, tuple(params), variadic
        self.short_circuit = short_circuit


class Execution:
    def __init__(self, text: str, trees: dict, functions: dict, out: list):
        self.text, self.trees, self.functions, self.out = text, trees, functions, out
        self.vars: list[tuple[str, object]] = []
        self.node, self.name, self.depth = None, "", 0

    # -- errors ------------------------------------------------------------------------------
    def fail(self, message: str):
        node = self.node
        pos = node.pos if node is not None else 0
        line = self.text.count("\n", 0, pos) + 1
        column = pos - (self.text.rfind("\n", 0, pos) + 1) if line > 1 else pos
        context = str(node) if node is not None else ""
        if len(context) > 20:
            context = context[:20] + "..."
        raise ExecError(f'template: :{line}:{column}: executing "{self.name}" at <{context}>: '
                        f"{message}")

    # -- variables -----------------------------------------------------------------------------
    def var(self, name: str):
        for key, value in reversed(self.vars):
            if key == name:
                return value
        self.fail(f"undefined variable: {name}")

    def set_var(self, name: str, value) -> None:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                self.vars[i] = (name, value)
                return
        self.fail(f"undefined variable: {name}")

    # -- walking -------------------------------------------------------------------------------
    def run(self, name: str, dot) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(f"exceeded maximum template depth ({MAX_DEPTH})")
        saved = self.vars, self.name
        self.vars, self.name = [("$", dot)], name
        try:
            self.walk(dot, self.trees[name])
        finally:
            (self.vars, self.name), self.depth = saved, self.depth - 1

    def walk(self, dot, node) -> None:
        self.node = node
        if isinstance(node, TextNode):
            self.out.append(node.text)
        elif isinstance(node, ListNode):
            for child in node.nodes:
                self.walk(dot, child)
        elif isinstance(node, ActionNode):
            value = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self.out.append("<no value>" if value is NO_VALUE else value_text(value))
        elif isinstance(node, BranchNode):
            mark = len(self.vars)
            try:
                (self.walk_range if node.keyword == "range" else self.walk_if_or_with)(dot, node)
            finally:
                del self.vars[mark:]
        elif isinstance(node, LoopControlNode):
            raise _Break() if node.keyword == "break" else _Continue()
        elif isinstance(node, TemplateNode):
            if node.name not in self.trees:
                self.fail(f'template "{node.name}" not defined')
            self.run(node.name, self.eval_pipeline(dot, node.pipe) if node.pipe else None)

    def walk_if_or_with(self, dot, node: BranchNode) -> None:
        value = self.eval_pipeline(dot, node.pipe)
        if truth(None if value is NO_VALUE else value):
            self.walk(value if node.keyword == "with" else dot, node.list)
        elif node.else_list is not None:
            self.walk(dot, node.else_list)

    def walk_range(self, dot, node: BranchNode) -> None:
        value = self.eval_pipeline(dot, node.pipe)
        decl = node.pipe.decl
        if isinstance(value, (list, tuple)):
            items = list(enumerate(value))
        elif isinstance(value, dict) and not isinstance(value, Struct):
            items = sorted_items(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            if len(decl) > 1:
                self.fail(f"can't use {value} to iterate over more than one variable")
            items = [(i, i) for i in range(value)]
        elif value is NO_VALUE or value is None or isinstance(value, GoNil):
            items = []
        else:
            self.fail(f"range can't iterate over {value_text(value)}")
        mark = len(self.vars)
        for key, element in items:
            values = [key, element] if len(decl) > 1 else [element]
            for i, (name, v) in enumerate(zip(decl, values)):
                if node.pipe.is_assign:
                    self.set_var(name, v)
                else:       # the variables the pipeline declared sit just below the mark
                    self.vars[mark - len(decl) + i] = (name, v)
            try:
                self.walk(element, node.list)
            except _Continue:
                pass
            except _Break:
                return
            finally:
                del self.vars[mark:]
        if not items and node.else_list is not None:
            self.walk(dot, node.else_list)

    # -- evaluation ----------------------------------------------------------------------------
    def eval_pipeline(self, dot, pipe: PipeNode):
        self.node = pipe
        value = _ABSENT
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
            if value is None:       # Go digs a nil out of its interface: no value left
                value = NO_VALUE
        for name in pipe.decl:
            if pipe.is_assign:
                self.set_var(name, value)
            else:
                self.vars.append((name, value))
        return value

    def eval_command(self, dot, cmd: CommandNode, final):
        first = cmd.args[0]
        if isinstance(first, FieldNode):
            self.node = first
            return self.eval_field_chain(dot, dot, first, first.ident, cmd.args, final)
        if isinstance(first, ChainNode):
            self.node = first
            if isinstance(first.node, NilNode):
                self.fail(f"indirection through explicit nil in {first}")
            receiver = self.eval_arg(dot, "any", first.node, keep_none=True)
            return self.eval_field_chain(dot, receiver, first, first.fields, cmd.args, final)
        if isinstance(first, IdentifierNode):
            return self.eval_function(dot, first, cmd, cmd.args, final)
        if isinstance(first, PipeNode):
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)
        if isinstance(first, VariableNode):
            self.node = first
            value = self.var(first.ident[0])
            if len(first.ident) == 1:
                self.not_a_function(cmd.args, final)
                return value
            return self.eval_field_chain(dot, value, first, first.ident[1:], cmd.args, final)
        self.node = first
        self.not_a_function(cmd.args, final)
        if isinstance(first, NilNode):
            self.fail("nil is not a command")
        return dot if isinstance(first, DotNode) else first.value

    def not_a_function(self, args, final) -> None:
        if len(args) > 1 or final is not _ABSENT:
            self.fail(f"can't give argument to non-function {args[0]}")

    def eval_field_chain(self, dot, receiver, node, names, args, final):
        for name in names[:-1]:
            receiver = self.eval_field(dot, name, node, [], _ABSENT, receiver)
        return self.eval_field(dot, names[-1], node, args, final, receiver)

    def eval_field(self, dot, name, node, args, final, receiver):
        if receiver is NO_VALUE:
            return NO_VALUE
        if receiver is None:
            self.fail(f"nil pointer evaluating interface {{}}.{name}")
        if isinstance(receiver, GoNil):
            if receiver.omit:
                self.fail(f'map has no entry for key "{receiver.name}"')
            self.fail(f"nil pointer evaluating interface {{}}.{name}")
        method = go_method(receiver, name)
        if method is not None:
            return self.call(dot, method, name, _signature(method), node, args, final)
        has_args = len(args) > 1 or final is not _ABSENT
        if isinstance(receiver, dict):
            if has_args:
                self.fail(f"{name} is not a method but has arguments")
            if name in receiver:
                return receiver[name]
            if isinstance(receiver, Struct):
                if receiver.aliases.get(name) in receiver:
                    return receiver[receiver.aliases[name]]
                self.fail(f'map has no entry for key "{name}"')
            return NO_VALUE
        self.fail(f"can't evaluate field {name} in type {type_name(receiver)}")

    def eval_function(self, dot, ident: IdentifierNode, cmd, args, final):
        self.node = ident
        function = self.functions.get(ident.name)
        if function is None:
            self.fail(f'"{ident.name}" is not a defined function')
        return self.call(dot, function.call, ident.name, function, cmd, args, final)

    def call(self, dot, fn, name: str, sig: Function, node, args, final):
        args = args[1:] if args else []
        count = len(args) + (final is not _ABSENT)
        fixed = len(sig.params)
        if sig.variadic is not None and count < fixed:
            self.fail(f"wrong number of args for {name}: want at least {fixed} got {len(args)}")
        if sig.variadic is None and count != fixed:
            self.fail(f"wrong number of args for {name}: want {fixed} got {count}")
        types = list(sig.params) + [sig.variadic] * (count - fixed)
        if sig.short_circuit:       # and/or stop at the first value that decides
            value = None
            for arg in args:
                value = self.eval_arg(dot, "value", arg)
                if truth(value) == (name == "or"):
                    return value
            return self.check(final, "value") if final is not _ABSENT else value
        argv = [self.eval_arg(dot, t, a) for t, a in zip(types, args)]
        if final is not _ABSENT:
            argv.append(self.check(final, types[-1]))
        try:
            return fn(*argv)
        except FuncError as exc:
            self.node = node
            self.fail(f"error calling {name}: {exc}")

    def eval_arg(self, dot, typ: str, node, keep_none=False):
        self.node = node
        if isinstance(node, DotNode):
            return self.check(dot, typ)
        if isinstance(node, NilNode):
            if typ in ("any", "value", "[]string"):
                return [] if typ == "[]string" else None
            self.fail(f"cannot assign nil to {typ}")
        if isinstance(node, ConstantNode):
            value = node.value
            if typ == "string" and not isinstance(value, str):
                self.fail(f"expected string; found {node}")
            if typ == "int" and (not isinstance(value, int) or isinstance(value, bool)):
                self.fail(f"expected integer; found {node}")
            if typ == "[]string":
                self.fail(f"can't handle {node} for arg of type []string")
            return value
        if isinstance(node, FieldNode):
            value = self.eval_field_chain(dot, dot, node, node.ident, [node], _ABSENT)
        elif isinstance(node, VariableNode):
            value = self.var(node.ident[0])
            if len(node.ident) > 1:
                value = self.eval_field_chain(dot, value, node, node.ident[1:], [], _ABSENT)
        elif isinstance(node, PipeNode):
            value = self.eval_pipeline(dot, node)
        elif isinstance(node, IdentifierNode):
            value = self.eval_function(dot, node, node, [], _ABSENT)
        elif isinstance(node, ChainNode):
            value = self.eval_command(dot, CommandNode(node.pos, [node]), _ABSENT)
        else:
            self.fail(f"can't handle {node} for arg of type {typ}")
        return value if keep_none and value is None else self.check(value, typ)

    def check(self, value, typ: str):
        """Go's validateType: the value as the parameter's type takes it, or an error."""
        if value is NO_VALUE:
            if typ in ("any", "value"):
                return None
            if typ == "[]string":
                return []
            self.fail(f"invalid value; expected {typ}")
        if typ in ("any", "value"):
            return value
        if typ == "[]string":
            if isinstance(value, GoNil) and value.kind == "slice" or value is None:
                return []
            if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
                return list(value)
        elif typ == "string" and isinstance(value, str):
            return value
        elif typ == "int" and isinstance(value, int) and not isinstance(value, bool):
            return value
        self.fail(f"wrong type for value; expected {typ}; got {type_name(value)}")


def _signature(method) -> Function:
    """A Go method's parameter types, from its Python annotations (str, int, else any)."""
    code = method.__code__
    hints = method.__annotations__
    types = {str: "string", int: "int", "str": "string", "int": "int"}
    return Function(method, [types.get(hints.get(name), "any")
                             for name in code.co_varnames[1:code.co_argcount]])   # after self

