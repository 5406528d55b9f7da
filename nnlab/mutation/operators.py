"""Mutation operators for torch code: each proposes source-span edits of one statement's nodes."""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Callable, Iterator

from nnlab.mutation.spans import Located, Source


@dataclass(frozen=True)
class Edit:
    """Replace bytes [start, end) of the source; `anchor` is the node named in the mutant's id."""

    operator: str
    start: int
    end: int
    replacement: str
    anchor: Located


ARITHMETIC = {ast.Add: ("+", "-"), ast.Sub: ("-", "+"), ast.Mult: ("*", "/"), ast.Div: ("/", "*"),
              ast.FloorDiv: ("//", "/"), ast.Pow: ("**", "*"), ast.MatMult: ("@", "*"),
              ast.Mod: ("%", "//")}
COMPARISON = {ast.Lt: ("<", "<="), ast.LtE: ("<=", "<"), ast.Gt: (">", ">="), ast.GtE: (">=", ">"),
              ast.Eq: ("==", "!="), ast.NotEq: ("!=", "=="), ast.Is: ("is", "is not"),
              ast.IsNot: ("is not", "is"), ast.In: ("in", "not in"), ast.NotIn: ("not in", "in")}
REDUCTIONS = ("mean", "sum", "none")
DIM_KEYWORDS = ("dim", "axis")
# Methods whose first positional argument is a dimension (x.sum(1), x.softmax(-1), ...).
DIM_METHODS = frozenset({
    "sum", "mean", "max", "min", "amax", "amin", "argmax", "argmin", "softmax", "log_softmax",
    "cumsum", "cumprod", "prod", "std", "var", "logsumexp", "unsqueeze", "squeeze", "norm",
    "all", "any", "size", "flatten", "flip", "median", "nansum", "nanmean"})
# Functions whose second positional argument is a dimension (torch.cat(xs, 0), F.softmax(x, 1)).
DIM_FUNCTIONS = frozenset({"cat", "stack", "concat", "softmax", "log_softmax", "unsqueeze", "squeeze",
                           "sum", "mean", "amax", "amin", "cumsum", "argmax", "gather", "split", "chunk"})
REDUCERS = frozenset({"sum", "mean", "amax", "amin", "max", "min", "std", "var", "prod", "logsumexp",
                      "norm", "all", "any", "argmax", "argmin", "median", "nansum", "nanmean"})
TRANSPOSES = frozenset({"t", "transpose", "swapaxes", "swapdims"})
TRANSPOSE_ATTRS = frozenset({"T", "mT", "H", "mH"})
# Tensor methods with an in-place twin `name_`: a wrong choice aliases (or fails to update) a tensor.
INPLACE = frozenset({"add", "sub", "mul", "div", "clamp", "clamp_min", "clamp_max", "relu", "sigmoid",
                     "tanh", "exp", "log", "neg", "abs", "sqrt", "pow", "masked_fill", "addmm",
                     "addcmul", "addcdiv", "lerp", "scatter", "index_add", "clip", "square"})
MODULES = frozenset({"torch", "F", "nn", "math", "np", "numpy", "functional", "init", "random"})
_WORD_OP = re.compile(rb"(is\s+not|not\s+in|is|in|and|or)\b")
_SYMBOL = b"+-*/@%<>=!&|^~"


def _op_token(src: Source, start: int, end: int) -> tuple[int, int]:
    """The operator token between two operands: skips brackets, blanks, continuations, comments."""
    data, i = src.data, start
    while i < end:
        ch = data[i:i + 1]
        if ch == b"#":
            i = data.index(b"\n", i)
        elif ch in b" \t\r\n\\()[]":
            i += 1
        else:
            break
    word = _WORD_OP.match(data, i, end)
    if word:
        return i, word.end()
    j = i
    while j < end and data[j:j + 1] in [bytes([c]) for c in _SYMBOL]:
        j += 1
    return i, j


def _gap_edit(src: Source, name: str, left: ast.expr, right: ast.expr, new: str,
              anchor: Located) -> Edit | None:
    start, end = _op_token(src, src.end(left), src.start(right))
    return Edit(name, start, end, new, anchor) if end > start else None


def binary(src: Source, node: ast.AST) -> Iterator[Edit]:
    """Arithmetic swaps (+ -, * /, // /, ** *, @ *, % //), in expressions and augmented assignments."""
    if isinstance(node, ast.BinOp) and type(node.op) in ARITHMETIC:
        edit = _gap_edit(src, "arithmetic", node.left, node.right, ARITHMETIC[type(node.op)][1], node)
        if edit:
            yield edit
    elif isinstance(node, ast.AugAssign) and type(node.op) in ARITHMETIC:
        start, end = _op_token(src, src.end(node.target), src.start(node.value))
        if end > start:
            yield Edit("arithmetic", start, end - 1, ARITHMETIC[type(node.op)][1], node)


def comparison(src: Source, node: ast.AST) -> Iterator[Edit]:
    """Boundary and equality swaps (< <=, > >=, == !=, is / is not, in / not in); and <-> or."""
    if isinstance(node, ast.Compare):
        operands = [node.left, *node.comparators]
        for index, op in enumerate(node.ops):
            if type(op) in COMPARISON:
                edit = _gap_edit(src, "comparison", operands[index], operands[index + 1],
                                 COMPARISON[type(op)][1], node)
                if edit:
                    yield edit
    elif isinstance(node, ast.BoolOp):
        new = "or" if isinstance(node.op, ast.And) else "and"
        for left, right in zip(node.values, node.values[1:]):
            edit = _gap_edit(src, "comparison", left, right, new, node)
            if edit:
                yield edit
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)) \
            and not isinstance(node.operand, ast.Constant):
        # `-x` -> `x`, `not c` -> `c`: a lost sign or negation.
        yield Edit("arithmetic" if isinstance(node.op, ast.USub) else "comparison",
                   src.start(node), src.start(node.operand), "", node)


def _number(value: object) -> list[str]:
    if isinstance(value, bool):
        return [repr(not value)]
    if isinstance(value, int):
        return ["1", "0"] if value == 0 else ([str(value + 1), "0"] if value == 1 else [str(value + 1)])
    if isinstance(value, float):
        return [repr(value / 2) if value else "1.0"]
    return []


def constant(src: Source, node: ast.AST) -> Iterator[Edit]:
    """Numbers (0 -> 1, 1 -> 2 and 0, n -> n + 1, x.y -> x.y / 2), booleans, and the reduction strings."""
    if not isinstance(node, ast.Constant) or src.skipped(node):
        return
    if isinstance(node.value, str):
        if node.value in REDUCTIONS:
            quote = src.text(node)[0]
            for other in REDUCTIONS:
                if other != node.value:
                    yield Edit("reduction", src.start(node), src.end(node), f"{quote}{other}{quote}",
                               src.context(node))
        return
    for new in _number(node.value):
        yield Edit("constant", src.start(node), src.end(node), new, src.context(node))


def _int_value(node: ast.AST) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) \
            and isinstance(node.operand, ast.Constant) and type(node.operand.value) is int:
        return -node.operand.value
    return None


def _called_name(call: ast.Call) -> tuple[str, bool]:
    """(name, is_method_of_a_value): `x.sum` -> ('sum', True), `torch.cat` -> ('cat', False)."""
    func = call.func
    if isinstance(func, ast.Attribute):
        base = func.value
        on_module = isinstance(base, ast.Name) and base.id in MODULES or isinstance(base, ast.Attribute) \
            and base.attr in MODULES
        return func.attr, not on_module
    return (func.id, False) if isinstance(func, ast.Name) else ("", False)


def _dim_argument(call: ast.Call) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg in DIM_KEYWORDS:
            return keyword.value
    name, method = _called_name(call)
    if method and name in DIM_METHODS and call.args:
        return call.args[0]
    if not method and name in DIM_FUNCTIONS and len(call.args) > 1:
        return call.args[1]
    return None


def dim(src: Source, node: ast.AST) -> Iterator[Edit]:
    """`dim=` (keyword or positional) among -1, 0 and 1; `keepdim` flipped, or added to a reduction."""
    if not isinstance(node, ast.Call):
        return
    argument = _dim_argument(node)
    value = _int_value(argument) if argument is not None else None
    if argument is not None and value is not None:
        src.claim(argument)  # the constant operator leaves this number to this one
        for other in (-1, 0, 1):
            if other != value:
                yield Edit("dim", src.start(argument), src.end(argument), str(other), node)
    keep = next((k for k in node.keywords if k.arg == "keepdim"), None)
    if keep is not None and isinstance(keep.value, ast.Constant) and isinstance(keep.value.value, bool):
        src.claim(keep.value)
        yield Edit("keepdim", src.start(keep.value), src.end(keep.value), repr(not keep.value.value), node)
    elif keep is None and argument is not None and _called_name(node)[0] in REDUCERS:
        at = src.end(argument)
        yield Edit("keepdim", at, at, ", keepdim=True", node)


def transpose(src: Source, node: ast.AST) -> Iterator[Edit]:
    """A dropped `.t()`, `.transpose(a, b)`, `.T`, `torch.t(x)` / `torch.transpose(x, a, b)`."""
    if isinstance(node, ast.Attribute) and node.attr in TRANSPOSE_ATTRS:
        yield Edit("transpose", src.start(node), src.end(node), src.text(node.value), node)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr in TRANSPOSES:
        name, method = _called_name(node)
        kept = node.func.value if method else (node.args[0] if node.args else None)
        if kept is not None:
            yield Edit("transpose", src.start(node), src.end(node), src.text(kept), node)


def _wrapped(src: Source, value: ast.expr) -> str:
    text = src.text(value)
    atom = isinstance(value, (ast.Name, ast.Attribute, ast.Call, ast.Subscript))
    return f"{text}.detach()" if atom else f"({text}).detach()"


def detach(src: Source, node: ast.AST) -> Iterator[Edit]:
    """A dropped `.detach()`; one added to a returned value or to a computed assignment."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr == "detach" and not node.args and not node.keywords:
        yield Edit("detach", src.start(node), src.end(node), src.text(node.func.value), node)
    if not (isinstance(node, ast.Return) or isinstance(node, ast.Assign) and isinstance(node.value, ast.BinOp)):
        return
    value = node.value
    if value is not None and isinstance(value, (ast.Name, ast.Attribute, ast.Call, ast.Subscript,
                                                ast.BinOp)):
        if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
                and value.func.attr in ("detach", "item", "tolist")):
            yield Edit("detach", src.start(value), src.end(value), _wrapped(src, value), node)


def _method_name_span(src: Source, method: ast.Attribute) -> tuple[int, int]:
    end = src.end(method)
    return end - len(method.attr.encode()), end


def _inplace_call(src: Source, node: ast.Call) -> Iterator[Edit]:
    """Only where it changes what someone sees: on a fresh temporary, `(a - b).abs_()` and
    `(a - b).abs()` are the same value; on a parameter or attribute, or with the result
    discarded (`x.add_(y)` as a statement), they are not."""
    name, method = _called_name(node)
    if not method or not isinstance(node.func, ast.Attribute):  # a method is always an Attribute
        return
    receiver = node.func.value
    start, end = _method_name_span(src, node.func)
    if name.endswith("_") and not name.startswith("_") and name[:-1] in INPLACE \
            and (_shared(src, receiver) or isinstance(src.parent(node), ast.Expr)):
        yield Edit("inplace", start, end, name[:-1], node)
    elif name in INPLACE and _shared(src, receiver):
        yield Edit("inplace", start, end, name + "_", node)


def _shared(src: Source, target: ast.AST) -> bool:
    """Whether the target may be a tensor someone else holds: an attribute (a module's buffer)
    or a parameter. A fresh local tensor updated in place or rebound behaves the same."""
    return isinstance(target, ast.Attribute) or isinstance(target, ast.Name) \
        and target.id in src.parameters(target)


def _same_target(target: ast.AST, other: ast.AST) -> bool:
    # ast.unparse, not ast.dump: the target is stored to, the operand loaded (ctx differs).
    return isinstance(target, (ast.Name, ast.Attribute)) and ast.unparse(target) == ast.unparse(other)


def inplace(src: Source, node: ast.AST) -> Iterator[Edit]:
    """`add_` <-> `add` (and kin), `inplace=` flipped, `x += y` <-> `x = x + y` (tensor aliasing)."""
    if isinstance(node, ast.Call):
        yield from _inplace_call(src, node)
        for keyword in node.keywords:
            if keyword.arg == "inplace" and isinstance(keyword.value, ast.Constant):
                src.claim(keyword.value)
                yield Edit("inplace", src.start(keyword.value), src.end(keyword.value),
                           repr(not keyword.value.value), node)
    elif isinstance(node, ast.AugAssign) and type(node.op) in ARITHMETIC and _shared(src, node.target) \
            and not isinstance(node.value, ast.Constant):  # `n += 1`: a counter, never a tensor
        target, value = src.text(node.target), src.text(node.value)
        if not isinstance(node.value, (ast.Name, ast.Attribute, ast.Call, ast.Subscript)):
            value = f"({value})"
        op = ARITHMETIC[type(node.op)][0]
        yield Edit("inplace", src.start(node), src.end(node), f"{target} = {target} {op} {value}", node)
    elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.value, ast.BinOp) \
            and type(node.value.op) in ARITHMETIC and _same_target(node.targets[0], node.value.left) \
            and _shared(src, node.targets[0]):
        op = ARITHMETIC[type(node.value.op)][0]
        yield Edit("inplace", src.start(node), src.end(node),
                   f"{src.text(node.targets[0])} {op}= {src.text(node.value.right)}", node)


EXPRESSION_OPERATORS: tuple[Callable[[Source, ast.AST], Iterator[Edit]], ...] = (
    dim, inplace, binary, comparison, transpose, detach, constant)
"""In this order: `dim` and `inplace` claim the numbers they mutate before `constant` runs."""


def deletable(statement: ast.stmt, last_in_function: bool) -> bool:
    """Whether deleting the statement makes a mutant worth grading: not a docstring, `pass`,
    a nested definition, or the function's final return (any call of it would notice)."""
    if isinstance(statement, (ast.Pass, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                              ast.Global, ast.Nonlocal)):
        return False
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
        return False
    return not (last_in_function and isinstance(statement, ast.Return))


def delete(src: Source, statement: ast.stmt) -> Edit:
    """The statement replaced by `pass` (its first line keeps its indentation)."""
    return Edit("statement", src.start(statement), src.end(statement), "pass", statement)
