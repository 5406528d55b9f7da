"""Hidden checks for custom_sigmoid: values, gradcheck, grad_output scaling, stability, saved output,
and a backward written by hand."""
from __future__ import annotations

import ast
from typing import Any

import torch

from nnlab.grader.checks import (CheckFailed, GradingContext, Remote, RequiresGrad, assert_close,
                                 assert_tensor, audited_call, evaluate, gradcheck_remote,
                                 noncontig, randn, vjp)

# The statement says the caller's inputs are left as they were: every call through
# `sub` (and what it returns) is audited, in every check, edge cases included.
AUDIT_INPUTS = True


def _randn(shape: tuple[int, ...], dtype: torch.dtype = torch.float32, scale: float = 1.0) -> torch.Tensor:
    """randn for any shape, 0-d included."""
    return randn(*shape, dtype=dtype, scale=scale) if shape else randn(1, dtype=dtype, scale=scale)[0]


def _sigmoid(x: torch.Tensor) -> torch.Tensor:
    """The reference, in float64 from a pristine copy, cast back to the input's dtype."""
    return torch.sigmoid(x.detach().double()).to(x.dtype)


def _dtype_name(x: torch.Tensor) -> str:
    return str(x.dtype).removeprefix("torch.")


def _finite(got: torch.Tensor, x: torch.Tensor, what: str) -> None:
    if not bool(torch.isfinite(got).all()):
        index = tuple(int(i) for i in (~torch.isfinite(got)).nonzero()[0])
        raise CheckFailed(f"{what}: expected finite values, got {got[index].item()} at index {index} "
                          f"where x = {x[index].item():g} (exp of a large number overflows to inf)")


def _check_grad(target: Remote, x: torch.Tensor, g: torch.Tensor, what: str, family: str) -> None:
    _, grads, _ = vjp(target, [x], [g])
    got = grads[0]
    if got is None:
        raise CheckFailed(f"{what} ({family}): no gradient reached the input; does backward return it?")
    assert_tensor(got, f"{what} ({family})", shape=x.shape, dtype=x.dtype)
    _finite(got, x, f"{what} ({family})")
    s = torch.sigmoid(x.double())
    assert_close(got, (g.double() * s * (1 - s)).to(x.dtype), what, family=family)


def test_forward_values(sub):
    """Does the forward match torch.sigmoid for any shape, float32 and float64, through apply too?"""
    apply = sub.CustomSigmoid.apply
    for shape in [(), (7,), (3, 5), (2, 3, 4), (0, 3)]:
        x = _randn(shape, scale=3.0)
        assert_close(sub.custom_sigmoid(x), _sigmoid(x), f"custom_sigmoid on a {shape} input",
                     family="odd shapes")
    x64 = randn(3, 5, dtype=torch.float64, scale=3.0)
    assert_close(apply(x64), _sigmoid(x64), "CustomSigmoid.apply on a float64 input", family="float64")
    x = randn(4, 6, scale=3.0)
    assert_close(sub.custom_sigmoid(noncontig(x)), _sigmoid(x), "custom_sigmoid on a non-contiguous input",
                 family="non-contiguous")
    audited_call(sub.custom_sigmoid, (x,), names=("x",))


def test_gradcheck(sub):
    """Does CustomSigmoid pass torch.autograd.gradcheck in float64 (through apply and custom_sigmoid)?"""
    gradcheck_remote(sub.CustomSigmoid.apply, [randn(2, 3, dtype=torch.float64, scale=2.0)],
                     "CustomSigmoid.apply")
    gradcheck_remote(sub.custom_sigmoid, [randn(5, dtype=torch.float64, scale=4.0)], "custom_sigmoid")


def test_grad_output_scaling(sub):
    """Does backward multiply by grad_output (random, zero, large and negative upstream gradients)?"""
    for dtype in (torch.float32, torch.float64):
        x = randn(3, 5, dtype=dtype, scale=2.0)
        name = _dtype_name(x)
        _check_grad(sub.custom_sigmoid, x, randn(3, 5, dtype=dtype, scale=3.0), f"gradient ({name})",
                    "random upstream gradient")
        _check_grad(sub.custom_sigmoid, x, torch.zeros(3, 5, dtype=dtype), f"gradient ({name})",
                    "zero upstream gradient")
        _check_grad(sub.custom_sigmoid, x, torch.full((3, 5), -250.0, dtype=dtype), f"gradient ({name})",
                    "upstream gradient -250")
    x = randn(2, 3, 4, scale=2.0)
    _check_grad(sub.CustomSigmoid.apply, x, randn(2, 3, 4), "gradient through CustomSigmoid.apply",
                "3-D input, random upstream gradient")


def test_large_magnitudes(sub):
    """Are the forward and the backward finite and right for |x| up to 1e4, float32 and float64?"""
    for dtype in (torch.float32, torch.float64):
        for scale in (1e2, 1e4):
            x = (torch.rand(4, 6, dtype=torch.float64) * 2 - 1) * scale
            x[0, 0], x[0, 1] = scale, -scale
            x = x.to(dtype)
            family = f"magnitudes up to {scale:g}, {_dtype_name(x)}"
            got = assert_tensor(sub.custom_sigmoid(x), f"custom_sigmoid ({family})", shape=x.shape,
                                dtype=dtype)
            _finite(got, x, f"custom_sigmoid ({family})")
            assert_close(got, _sigmoid(x), "custom_sigmoid", family=family)
            _check_grad(sub.custom_sigmoid, x, randn(4, 6, dtype=dtype), "gradient", family)


def _saved_tensors(sub: Any, x: torch.Tensor) -> Any:
    """ctx.saved_tensors of a fresh CustomSigmoid node, read in the worker right after forward."""
    return evaluate(
        sub,
        "(lambda out: tuple(out.grad_fn.saved_tensors) if out.grad_fn is not None else None)"
        "(submission.CustomSigmoid.apply(x))", label="CustomSigmoid's saved tensors", x=RequiresGrad(x))


def test_saves_output(sub):
    """Does forward save its OUTPUT with ctx.save_for_backward (not the input, to recompute)?"""
    x = randn(3, 4, dtype=torch.float64, scale=2.0)
    saved = _saved_tensors(sub, x)
    if saved is None:
        raise CheckFailed("CustomSigmoid.apply(x) on an x that requires grad returned a tensor without "
                          "a grad_fn; forward must return a new tensor computed from input")
    if not isinstance(saved, tuple) or not saved:
        raise CheckFailed("forward saved nothing with ctx.save_for_backward; save the output "
                          "(ctx.save_for_backward(output)) and read it back from ctx.saved_tensors")
    s = torch.sigmoid(x)
    # Saving the derivative sigma * (1 - sigma) is also a backward "from the output".
    wanted = {"the output sigma(x)": s, "sigma(x) * (1 - sigma(x))": s * (1 - s)}
    for t in saved:
        if type(t) is torch.Tensor and t.shape == x.shape:
            for value in wanted.values():
                if torch.allclose(t.double(), value, rtol=1e-6, atol=1e-9):
                    return
    found = ", ".join("the input x" if type(t) is torch.Tensor and t.shape == x.shape
                      and torch.allclose(t.double(), x) else
                      (f"a tensor of shape {tuple(t.shape)}" if type(t) is torch.Tensor else type(t).__name__)
                      for t in saved)
    raise CheckFailed(f"ctx.saved_tensors holds {found}; expected the output sigma(x): the backward must "
                      "be computed from the saved output, not recomputed from the input")


_AUTOGRAD_ROOTS = ("torch.autograd", "torch.func", "functorch")
_AUTOGRAD_CALLS = {"grad", "backward", "vjp", "jvp", "jacobian", "hessian", "jacrev", "jacfwd", "vmap"}


class _AutogradCalls(ast.NodeVisitor):
    """Finds autograd calls in a function body; follows calls to module-level helper functions."""

    def __init__(self, aliases: dict[str, str], helpers: dict[str, ast.AST]) -> None:
        self.aliases = aliases
        self.helpers = helpers
        self.visited: set[str] = set()
        self.found: list[str] = []

    def dotted(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = self.dotted(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = self.dotted(func)
        if isinstance(func, ast.Attribute) and func.attr == "backward":
            self.found.append(f"line {node.lineno}: .backward()")
        elif name and name.startswith(_AUTOGRAD_ROOTS) and name.rsplit(".", 1)[-1] in _AUTOGRAD_CALLS:
            self.found.append(f"line {node.lineno}: {name}()")
        else:
            # A helper the backward calls: a module-level function, or a method of the class.
            helper = (func.id if isinstance(func, ast.Name)
                      else func.attr if isinstance(func, ast.Attribute) else None)
            if helper in self.helpers and helper not in self.visited:
                self.visited.add(helper)
                self.visit(self.helpers[helper])
        self.generic_visit(node)


def _backward_problems(source: str) -> list[str]:
    """Autograd calls inside CustomSigmoid.backward (or the helpers it calls), from the source."""
    tree = ast.parse(source)
    aliases: dict[str, str] = {}
    helpers: dict[str, ast.AST] = {}
    backward: ast.AST | None = None
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                # `import torch.autograd` binds `torch`; `import torch.autograd as ag` binds the module.
                root = alias.name.split(".")[0]
                aliases[alias.asname or root] = alias.name if alias.asname else root
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            helpers[node.name] = node
        if isinstance(node, ast.ClassDef) and node.name == "CustomSigmoid":
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "backward":
                    backward = item
                elif isinstance(item, ast.FunctionDef):
                    helpers[item.name] = item
    if backward is None:
        return ["no `def backward` found in `class CustomSigmoid` at the top level of your file"]
    visitor = _AutogradCalls(aliases, helpers)
    visitor.visit(backward)
    return visitor.found


def test_backward_by_hand(sub, grading: GradingContext):
    """Is backward written by hand, without calling autograd (torch.autograd.grad, .backward())?"""
    problems = _backward_problems(grading.source)
    if problems:
        raise CheckFailed("backward must compute the gradient by hand from the saved output; it calls "
                          "autograd: " + "; ".join(problems[:3]))
    # A backward that does not work at all must not pass on its source alone; the message says
    # that this, not autograd, is why the check failed.
    x = randn(3, 4, scale=2.0)
    try:
        _check_grad(sub.custom_sigmoid, x, randn(3, 4), "gradient", "random upstream gradient")
    except CheckFailed as wrong:
        raise CheckFailed(f"backward calls no autograd, but a hand-written backward counts only once "
                          f"its gradient is right, and it is not: {wrong}") from None
