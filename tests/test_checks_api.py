"""The check API exercise authors use: comparisons that teach, the worker's objects, timing gates,
and the rules every check file follows."""
from __future__ import annotations

import ast
import math
import re
from pathlib import Path

import pytest
import torch

from nnlab.errors import StudentCodeError
from nnlab.grader.checks import (CheckBoard, CheckFailed, GradingContext, RequiresGrad, TimingRequest,
                                 assert_close, assert_detached, assert_equal, assert_fast,
                                 assert_not_view_of_input, assert_same_tensor_returned, assert_tensor,
                                 audited_call, call_returning_args, evaluate, expect_raises,
                                 gradcheck_remote, is_timing_check, meta_of, timing)
from nnlab.grader.exercise import EXERCISES_DIR, load_exercise
from nnlab.grader.session import WorkerSession
from nnlab.results import Outcome

CHECK_FILES = sorted(EXERCISES_DIR.glob("*/test_*.py"))

_SUBMISSION = '''
import torch


class Box:
    pass


def scale(x, by=2.0):
    return x * by


def scale_in_place(x):
    x.mul_(2.0)
    return x


def positive(x):
    if x < 0:
        raise ValueError("x must be positive")
    return x


def lookup(key):
    return {}[key]


class _Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 2 * x


class _WrongSquare(_Square):
    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x


def square(x):
    return _Square.apply(x)


def wrong_square(x):
    return _WrongSquare.apply(x)


def attached_double(x):
    leaf = x.detach().requires_grad_(True)
    return leaf * 2


def fill_(t):
    return t.fill_(3.0)


def fill_alias_(t):
    t.fill_(3.0)
    return t.detach()


def first_rows(x):
    return x[1:]


def flag_input(x):
    x.requires_grad_(True)
    return x * 2


def backward_on_input(x):
    (x * x).sum().backward()
    return x.grad.clone()


def hook_input(x):
    x.register_hook(lambda g: g)
    return x * 2


def nudge_module(m, x):
    with torch.no_grad():
        m.weight.add_(1.0)
    m.register_forward_hook(lambda *args: None)
    return m(x)
'''


@pytest.fixture(scope="module")
def root(launcher):
    """The submission above, loaded in one worker for this module."""
    session = WorkerSession(launcher, _SUBMISSION, "sample.py", [], [], 30.0)
    yield session.root
    session.close()


# -- comparisons ----------------------------------------------------------------------------
def test_assert_close_names_the_worst_element() -> None:
    """Does a mismatch name how many values differ, the worst index, both values and the tolerance?"""
    expected = torch.zeros(2, 3)
    got = expected.clone()
    got[1, 2] = 0.5
    got[0, 0] = 0.1
    with pytest.raises(CheckFailed) as failure:
        assert_close(got, expected, "layer output", family="zeros")
    assert str(failure.value) == ("layer output (zeros): 2 of 6 values differ; worst at index (1, 2): "
                                  "expected 0, got 0.5 (abs error 0.5, tolerance 1e-05 + 0.0001*|expected|)")


def test_assert_close_accepts_rounding_and_matching_non_finite_values() -> None:
    """Do float32 rounding, equal infinities and NaN where NaN is expected pass?"""
    expected = torch.tensor([1.0, math.inf, math.nan, -2.0])
    got = torch.tensor([1.0 + 1e-6, math.inf, math.nan, -2.0])
    assert_close(got, expected, "values")


@pytest.mark.parametrize(("got", "message"), [
    ([1.0, 2.0], "values: expected a torch.Tensor, got list"),
    (torch.zeros(3), "values: expected shape (2,), got (3,)"),
    (torch.zeros(2, dtype=torch.float64), "values: expected dtype torch.float32, got torch.float64"),
])
def test_assert_tensor_says_what_is_wrong(got: object, message: str) -> None:
    """Is a non-tensor, a wrong shape or a wrong dtype failed with what was expected and got?"""
    with pytest.raises(CheckFailed, match=f"^{message.replace('(', '[(]').replace(')', '[)]')}$"):
        assert_close(got, torch.zeros(2), "values")


def test_a_tensor_subclass_is_not_a_tensor() -> None:
    """Is a lazy tensor subclass refused where a plain tensor is required?"""
    class Lazy(torch.Tensor):
        pass

    with pytest.raises(CheckFailed, match="expected a torch.Tensor, got Lazy"):
        assert_tensor(torch.zeros(2).as_subclass(Lazy), "output")


def test_assert_equal_quotes_both_values() -> None:
    """Does a plain-value mismatch quote expected and got?"""
    with pytest.raises(CheckFailed, match=r"^p: expected 0\.5, got 0\.3$"):
        assert_equal(0.3, 0.5, "p")
    assert_equal((1, 2), (1, 2), "shape")


# -- the worker's objects ----------------------------------------------------------------------
def test_expect_raises_tells_the_three_cases_apart(root) -> None:
    """Does expect_raises pass on the exception (or a subclass), and fail clearly on another
    exception or on none?"""
    with expect_raises(ValueError, "positive(-1)"):
        root.positive(-1.0)
    with expect_raises(Exception, "positive(-1)"):
        root.positive(-1.0)
    with pytest.raises(CheckFailed, match=r"^lookup\('k'\): expected ValueError, but your code raised KeyError$"):
        with expect_raises(ValueError, "lookup('k')"):
            root.lookup("k")
    with pytest.raises(CheckFailed, match=r"^positive\(1\): expected ValueError, but the call succeeded$"):
        with expect_raises(ValueError, "positive(1)"):
            root.positive(1.0)


def test_worker_objects_pass_back_as_themselves(root) -> None:
    """Can a worker object be bound in an expression and passed to a call, arriving as itself?"""
    box = root.Box()
    assert evaluate(root, "isinstance(b, submission.Box)", "a box check", b=box) is True
    assert evaluate(root, "a is b", "identity", a=box, b=box) is True
    scaled = evaluate(root, "f(x, by=k)", "scale", f=root.scale, x=torch.ones(2), k=3.0)
    assert torch.equal(scaled, torch.full((2,), 3.0))


def test_an_expression_that_fails_names_its_label(root) -> None:
    """Is a failing expression reported as the step its label names?"""
    with pytest.raises(StudentCodeError, match="preparing the missing helper: NameError"):
        evaluate(root, "no_such_name + 1", "the missing helper")


def test_call_returning_args_shows_an_input_changed_in_place(root) -> None:
    """Does call_returning_args return the arguments as they are after the call?"""
    x = torch.ones(3)
    result, after = call_returning_args(root.scale_in_place, (x,))
    assert torch.equal(result, torch.full((3,), 2.0)) and torch.equal(after[0], torch.full((3,), 2.0))
    _, untouched = call_returning_args(root.scale, (x,), {"by": 5.0})
    assert torch.equal(untouched[0], x)


def test_tensor_metadata_helpers_tell_detached_views_and_the_input_itself(root) -> None:
    """Do assert_detached, assert_not_view_of_input and assert_same_tensor_returned pass and fail on
    what the worker's tensor really was?"""
    x = torch.ones(3)
    assert_detached(root.scale(x), "scale(x)")
    with pytest.raises(CheckFailed, match="still attached to the autograd graph"):
        assert_detached(root.attached_double(x), "attached_double(x)")
    assert_not_view_of_input(root.scale(x), "scale(x)")
    with pytest.raises(CheckFailed, match="shares memory with the input `argument 1`"):
        assert_not_view_of_input(root.first_rows(x), "first_rows(x)")
    assert_same_tensor_returned(root.fill_(x), "fill_(t)")
    with pytest.raises(CheckFailed, match="got a view of `argument 1`"):
        assert_same_tensor_returned(root.fill_alias_(x), "fill_alias_(t)")
    with pytest.raises(CheckFailed, match="got a new tensor"):
        assert_same_tensor_returned(root.scale(x), "scale(x)")
    with pytest.raises(TypeError, match="did not come from the worker"):
        meta_of(root.scale(x).clone(), "a copy")


def test_audited_call_names_each_change_to_what_the_caller_owns(root) -> None:
    """Does audited_call pass a call that leaves its inputs alone, and name a changed value, a
    requires_grad turned on, a .grad left behind, a hook, and a module's changed parameter?"""
    x = torch.ones(3)
    assert torch.equal(audited_call(root.scale, (x,), names=("x",)), torch.full((3,), 2.0))
    cases = [(root.scale_in_place, (x,), "`x`: its values were changed in place"),
             (root.flag_input, (x,), "`x`: requires_grad was turned on"),
             (root.backward_on_input, (RequiresGrad(x),), "`x`: a .grad was left on it"),
             (root.hook_input, (RequiresGrad(x),), "`x`: hooks were registered on it")]
    for target, args, change in cases:
        with pytest.raises(CheckFailed, match=re.escape(change)):
            audited_call(target, args, names=("x",))
    layer = evaluate(root, "torch.nn.Linear(3, 2)", "a layer")
    with pytest.raises(CheckFailed, match=r"`model.weight \(parameter\)`: its values were changed.*"
                                          r"`model \(module\)`: hooks registered"):
        audited_call(root.nudge_module, (layer, x), names=("model", "x"))


@pytest.mark.parametrize("fast_mode", [False, True])
def test_gradcheck_remote_passes_a_right_backward_and_fails_a_wrong_one(root, fast_mode: bool) -> None:
    """Does gradcheck_remote accept a correct hand-written backward and fail a wrong one with a
    check failure (never an internal error)?"""
    x = torch.randn(4, dtype=torch.float64)
    gradcheck_remote(root.square, [x], "square", fast_mode=fast_mode)
    with pytest.raises(CheckFailed, match="^wrong_square: gradcheck failed: "):
        gradcheck_remote(root.wrong_square, [x], "wrong_square", fast_mode=fast_mode)


# -- timing ---------------------------------------------------------------------------------
def test_timing_marks_a_check() -> None:
    """Is a check marked with @timing known as a timing check, and others not?"""
    @timing
    def test_speed(sub, grading):  # a check's own signature
        """Fast?"""

    def test_values(sub):
        """Right?"""

    assert is_timing_check(test_speed) and not is_timing_check(test_values)


def _grading(board: CheckBoard | None) -> GradingContext:
    exercise = load_exercise(EXERCISES_DIR / "my_linear")
    return GradingContext(exercise, 1, 2, "cpu", None, "", "my_linear.py", "test_speed", board)


def _never_built(device: str):  # a TimingRequest's make, never reached here
    raise AssertionError("the gate should have stopped the measurement")


def test_a_gate_on_an_unknown_check_is_an_authoring_error() -> None:
    """Does a gate that names a check the exercise does not have fail loudly, naming it?"""
    request = TimingRequest(_never_built, "MyLinear forward", "nn.Linear", gate=("test_forward_smal",))
    with pytest.raises(ValueError, match="gates on checks that do not exist: test_forward_smal"):
        assert_fast(_grading(CheckBoard()), None, request)  # type: ignore[arg-type]


def test_a_failed_gate_check_means_not_timed() -> None:
    """Is speed not measured (and the check failed, naming the culprit) when a gating check failed?"""
    board = CheckBoard(outcomes={"test_output_shape": Outcome.PASSED,
                                 "test_forward_small": Outcome.FAILED})
    request = TimingRequest(_never_built, "MyLinear forward", "nn.Linear",
                            gate=("test_output_shape", "test_forward_small"))
    with pytest.raises(CheckFailed, match=r"^not timed: .* 1 check it depends on did not pass: "
                                          r"'Does forward match nn.Linear on a small batch\?'$"):
        assert_fast(_grading(board), None, request)  # type: ignore[arg-type]


def test_a_failed_gate_names_as_many_checks_as_it_counts() -> None:
    """When more gating checks fail than are named, does the message say how many more?"""
    exercise = load_exercise(EXERCISES_DIR / "my_linear")
    gating = [c for c in exercise.checks if not c.is_timing]
    board = CheckBoard(outcomes={c.test_id: Outcome.FAILED for c in gating})
    request = TimingRequest(_never_built, "MyLinear forward", "nn.Linear")
    with pytest.raises(CheckFailed) as failed:
        assert_fast(_grading(board), None, request)  # type: ignore[arg-type]
    message = str(failed.value)
    assert f"{len(gating)} checks it depends on did not pass" in message
    *named, rest = message.split("did not pass: ")[1].split("; ")
    assert len(gating) > 4 and len(named) == 4 and rest == f"and {len(gating) - 4} more", message


# -- the rules of check files -----------------------------------------------------------------
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", CHECK_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_check_files_follow_the_authoring_rules(path: Path) -> None:
    """Does every check file follow the rules of docs/authoring.md: checks are top-level
    `def test_*` functions (no classes, no parametrize), expected exceptions use expect_raises
    (never pytest.raises), worker expressions are constants with their values as bindings,
    and shared helpers come only from the exercise's own test_public.py?"""
    tree = _tree(path)
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            problems.append(f"line {node.lineno}: class {node.name} (checks are top-level functions)")
        if isinstance(node, ast.Attribute) and node.attr in ("raises", "parametrize"):
            problems.append(f"line {node.lineno}: .{node.attr}")
        if isinstance(node, ast.ImportFrom) and node.level and node.module != "test_public":
            problems.append(f"line {node.lineno}: relative import of {node.module}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "evaluate":
            expression = node.args[1] if len(node.args) > 1 else None
            if not isinstance(expression, (ast.Constant, ast.Name)):
                problems.append(f"line {node.lineno}: evaluate() with a computed expression")
    nested = [n.name for top in tree.body if isinstance(top, (ast.FunctionDef, ast.ClassDef))
              for n in ast.walk(top) if n is not top and isinstance(n, ast.FunctionDef)
              and n.name.startswith("test_")]
    problems += [f"{name} is not at the top level" for name in nested]
    assert problems == []


def test_the_rule_scan_would_see_a_violation(tmp_path: Path) -> None:
    """Would the rule scan notice a computed expression and pytest.raises?"""
    sample = tmp_path / "test_public.py"
    sample.write_text("def test_x(sub):\n    evaluate(sub, f'lambda: {n}', 'x')\n"
                      "    with pytest.raises(ValueError):\n        pass\n")
    with pytest.raises(AssertionError, match="computed expression"):
        test_check_files_follow_the_authoring_rules(sample)


def test_the_check_api_exports_the_error_the_grader_scores() -> None:
    """Is the StudentCodeError a check raises through the check API the very class the grader
    scores as the student's error, and does every name in __all__ exist?"""
    import nnlab.grader.checks as checks
    assert checks.StudentCodeError is StudentCodeError
    assert "StudentCodeError" in checks.__all__
    assert [name for name in checks.__all__ if not hasattr(checks, name)] == []
