"""`nnlab verify --mutate`: torch-aware mutants of a solution, their stable ids, equivalents, the CLI."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nnlab.commands.new import new_course
from nnlab.course.repository import COURSE_ENV
from nnlab.errors import ExerciseFormatError
from nnlab.grader.launcher import WorkerLauncher
from nnlab.grader.exercise import get_exercise, load_catalogue, load_exercise
from nnlab.mutation.equivalents import read_equivalents
from nnlab.mutation.generate import Mutant, generate_mutants
from nnlab.mutation.run import plan_mutations


def _mutants(body: str, stub: str | None = None) -> list[Mutant]:
    return list(generate_mutants(textwrap.dedent(body), stub))


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _changes(body: str, operator: str) -> set[str]:
    """What each mutant of `operator` changed the mutated expression or statement into."""
    return {_flat(m.after) for m in _mutants(body) if m.operator == operator}


def test_arithmetic_and_comparison_swaps() -> None:
    """Are + - * / @ ** swapped, < <= == != is/is not flipped, and a sign or a `not` dropped?"""
    arithmetic = _changes("""
        def f(a, b):
            c = a @ b
            c -= a * b
            return -(a / c) ** 2
    """, "arithmetic")
    # `(a / c) ** 2`: the sign dropped.
    assert arithmetic == {"a * b", "c += a * b", "a / b", "a * c", "(a / c) ** 2", "(a / c) * 2"}
    comparison = _changes("""
        def f(a, b):
            if a < b and b is not None:
                return a == b
            return not a
    """, "comparison")
    assert {"a <= b", "a < b or b is not None", "b is None", "a != b", "a"} <= comparison


def test_constants() -> None:
    """0 -> 1, 1 -> 2 and 0, n -> n + 1, x.y -> x.y / 2, True <-> False; docstrings and f-strings alone."""
    found = _changes('''
        def f(x, flag=True):
            """Docstring 1."""
            y = x[0] + 1 + 7
            if y > 0.5:
                raise ValueError(f"bad {x[2]}")
            return y, True
    ''', "constant")
    assert found == {"x[1]", "x[0] + 2", "x[0] + 0", "x[0] + 1 + 8", "y > 0.25", "y, False"}


def test_dim_keepdim_and_reduction() -> None:
    """Is `dim` moved among -1, 0 and 1 (keyword or positional), keepdim flipped or added, and a
    reduction string swapped for the others, not also by the constant operator?"""
    body = """
        def f(x, reduction="mean"):
            s = x.sum(dim=-1, keepdim=True) + x.mean(1) + x.amax(dim=0)
            if reduction == "sum":
                return torch.cat([s, s], 0)
            return s
    """
    assert _changes(body, "dim") >= {"x.sum(dim=0, keepdim=True)", "x.sum(dim=1, keepdim=True)",
                                     "x.mean(0)", "x.mean(-1)", "torch.cat([s, s], 1)"}
    assert _changes(body, "keepdim") >= {"x.sum(dim=-1, keepdim=False)", "x.amax(dim=0, keepdim=True)"}
    assert _changes(body, "reduction") == {'reduction == "mean"', 'reduction == "none"'}
    assert not any("dim=-2" in c or "x.mean(2)" in c for c in _changes(body, "constant"))


def test_transpose_and_detach() -> None:
    """Are .t(), .transpose(a, b), .T and torch.transpose dropped; .detach() dropped and added?"""
    body = """
        def f(x, w):
            y = x @ w.t() + x.transpose(0, 1).sum() + torch.transpose(w, 0, 1).T.sum()
            z = y.detach() * 2
            return z
    """
    transposed = sorted(m.after for m in _mutants(body) if m.operator == "transpose")
    assert transposed == ["torch.transpose(w, 0, 1)", "w", "w", "x"]
    detached = _changes(body, "detach")
    assert {"y", "return z.detach()", "z = (y.detach() * 2).detach()"} <= detached


def test_in_place_versus_out_of_place() -> None:
    """add_ <-> add, mul <-> mul_, inplace= flipped, `x += y` <-> `x = x + y`, only where it
    changes what someone sees: the target a parameter or an attribute, or an in-place result
    discarded; never on a fresh temporary or local, where both give the same tensor."""
    found = _changes("""
        def f(self, x, y):
            x.add_(y)
            h = torch.relu(x).relu()
            t = (x - y).abs_()
            t.mul_(2)
            z = x.mul(2)
            x = x + y
            self.total += y
            local = x * 2
            local = local + y
            local += y
            return F.relu(h, inplace=True)
    """, "inplace")
    assert found == {"x.add(y)", "t.mul(2)", "x.mul_(2)", "x += y", "self.total = self.total + y",
                     "F.relu(h, inplace=False)"}


def test_statement_deletion() -> None:
    """Is each statement replaced by `pass` (not the docstring, nor the final return)?"""
    found = [m for m in _mutants('''
        def f(x):
            """Doc."""
            y = x + 1
            if y.sum() > 0:
                y = y * 2
            return y
    ''') if m.operator == "statement"]
    assert sorted(m.before.split("\n")[0] for m in found) == ["if y.sum() > 0:", "y = x + 1", "y = y * 2"]
    assert all("pass" in m.source and "return y" in m.source for m in found)


def test_only_what_a_student_writes_is_mutated() -> None:
    """Inside BEGIN/END SOLUTION regions when marked; else function bodies, minus the stub's
    given helpers; never imports or module constants."""
    marked = _mutants("""
        import torch
        SCALE = 2

        def f(x):
            y = x + 1
            # BEGIN SOLUTION
            z = y * SCALE
            # END SOLUTION
            return z - 1
    """)
    assert marked and all(m.line == 8 for m in marked)
    stub = "def given(x):\n    return x + 1\n\n\ndef mine(x):\n    raise NotImplementedError\n"
    unmarked = _mutants("""
        import torch
        SCALE = 2

        def given(x):
            return x + 1

        def mine(x):
            return given(x) * SCALE
    """, stub)
    assert unmarked and {m.where for m in unmarked} == {"mine"}


def test_mutants_compile_differ_and_have_readable_diffs() -> None:
    """Does every mutant differ from the solution in one place, once (a duplicate is dropped)?"""
    found = _mutants("""
        def f(x):
            return x.t().t() + 0
    """)
    sources = [m.source for m in found]
    assert len(sources) == len(set(sources))
    dropped = [m for m in found if m.operator == "transpose"]
    assert len(dropped) == 1  # dropping either .t() gives the same code
    diff = dropped[0].diff
    assert "-    return x.t().t() + 0\n" in diff and "+    return x.t() + 0\n" in diff


def test_ids_are_stable_across_unrelated_edits() -> None:
    """Does a mutant keep its id when code elsewhere changes (a new function, blank lines, a
    reformatted line, another statement), and get another when its own snippet changes?"""
    before = {(m.operator, _flat(m.after)): m.id for m in _mutants("""
        def f(x, y):
            a = x * y
            return a + 1
    """)}
    after = {(m.operator, _flat(m.after)): m.id for m in _mutants("""
        def helper(z):
            return z - 3


        def f(x, y):
            w = y.sum()

            a = x  *  y
            return a + 1
    """)}
    assert before[("arithmetic", "x / y")] == after[("arithmetic", "x / y")]
    assert before[("constant", "a + 2")] == after[("constant", "a + 2")]
    changed = {m.after: m.id for m in _mutants("def f(x, y):\n    a = x * y\n    return a + 2\n")}
    assert changed["a - 2"] != before[("arithmetic", "a - 1")]
    # Two same changes in one function are told apart by their order.
    twice = [m.id for m in _mutants("def f(x):\n    return x + 1, x + 1\n") if m.after == "x - 1"]
    assert len(twice) == 2 and len(set(twice)) == 2


def _exercise(root: Path, checks: str, equivalent: str | None = None) -> Path:
    """A course made by `nnlab new course` whose own exercise, `double`, checks only `checks`."""
    new_course(root)
    shutil.rmtree(root / "exercises" / "rms_norm")
    text = (root / "course.toml").read_text()
    (root / "course.toml").write_text(text.replace('exercises = ["rms_norm"]', 'exercises = ["double"]'))
    folder = root / "exercises" / "double"
    (folder / "mutants").mkdir(parents=True)
    files = {
        "__init__.py": '"""Checks of double."""\n',
        "exercise.toml": 'title = "Double"\nunit = 1\norder = 1\ntopics = ["tensors"]\n'
                         'requires = ["double"]\n\n[limits]\ncheck_seconds = 30\n\n'
                         '[points]\ntest_double = 1\n',
        "statement.md": "# Double\n\nReturn `2 * x`, a tensor.\n",
        "rules.toml": '[[rule]]\nkind = "contract"\nanchor = "Return `2 * x`, a tensor."\n'
                      'checks = ["test_double"]\n',
        "stub.py": "import torch\n\n\ndef double(x: torch.Tensor) -> torch.Tensor:\n"
                   "    raise NotImplementedError\n",
        "solution.py": "import torch\n\n\ndef double(x: torch.Tensor) -> torch.Tensor:\n"
                       "    # BEGIN SOLUTION\n    return x * 2\n    # END SOLUTION\n",
        "test_public.py": "import torch\n\nfrom nnlab.grader.checks import assert_close\n\n\n"
                          f"def test_double(sub):\n    \"\"\"Is double(x) 2 * x?\"\"\"\n{checks}",
    }
    for name, content in files.items():
        (folder / name).write_text(content)
    if equivalent is not None:
        (folder / "mutants" / "equivalent.toml").write_text(equivalent)
    return folder


_VALUES_ONLY = ("    x = torch.tensor([1.0, 2.0])\n"
                "    assert_close(sub.double(x), x * 2, 'double(x)')\n")
"""A hole: the gradient is never looked at, so a `.detach()` added to the result survives."""


def test_equivalent_toml_marks_reports_stale_and_needs_a_reason(tmp_path: Path) -> None:
    """Are marked ids left out of grading, unknown ones reported stale, a missing reason refused?"""
    folder = _exercise(tmp_path / "c", _VALUES_ONLY)
    plan = plan_mutations(load_exercise(folder))
    detach = next(m for m in plan.mutants if m.operator == "detach")
    (folder / "mutants" / "equivalent.toml").write_text(
        f'[[equivalent]]\nid = "{detach.id}"\nreason = "no gradient is asked for"\n\n'
        '[[equivalent]]\nid = "0000dead"\nreason = "a mutant of an older solution"\n')
    plan = plan_mutations(load_exercise(folder))
    assert plan.marked == {detach.id} and plan.stale == ("0000dead",)
    assert detach not in plan.to_grade and len(plan.to_grade) == len(plan.mutants) - 1
    (folder / "mutants" / "equivalent.toml").write_text(f'[[equivalent]]\nid = "{detach.id}"\n')
    with pytest.raises(ExerciseFormatError, match=f"id {detach.id}.* has no reason"):
        read_equivalents(folder)


def _verify(course: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != COURSE_ENV}
    return subprocess.run([sys.executable, "-m", "nnlab.cli", "--course", str(course), "verify", "double",
                           "--mutate", *args], capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.slow
def test_verify_mutate_lists_a_survivor_until_it_is_marked(tmp_path: Path) -> None:
    """Does `verify --mutate` on a course's exercise with a hole in its checks list the surviving
    mutant with its diff and exit 1, and exit 0 once it is marked equivalent?"""
    folder = _exercise(tmp_path / "c", _VALUES_ONLY)
    run = _verify(folder.parent.parent, "--workers", "1")
    assert run.returncode == 1, run.stdout + run.stderr
    survivors = re.findall(r"survivor (\w+) \((\w+),", run.stdout)
    assert [operator for _, operator in survivors] == ["detach"], run.stdout
    assert "+    return (x * 2).detach()" in run.stdout
    assert re.search(r"^double\s+generated\s+(\d+)\s+killed\s+(\d+)\s+equivalent\s+0\s+survivors\s+1",
                     run.stdout, re.MULTILINE)
    ident = survivors[0][0]
    (folder / "mutants" / "equivalent.toml").write_text(
        f'[[equivalent]]\nid = "{ident}"\nreason = "the statement asks for values only"\n')
    marked = _verify(folder.parent.parent, "--workers", "1")
    assert marked.returncode == 0, marked.stdout + marked.stderr
    assert re.search(r"^double\s+.*equivalent\s+1\s+survivors\s+0\s+score 100.0%", marked.stdout,
                     re.MULTILINE), marked.stdout


def test_every_built_in_solution_has_mutants_with_unique_ids() -> None:
    """Does each built-in solution give mutants, with ids unique within the exercise, each a
    compiling source that differs from the solution on the line its diff names?"""
    for exercise in load_catalogue():
        found = plan_mutations(exercise).mutants
        assert found, exercise.id
        assert len({m.id for m in found}) == len(found), exercise.id
        solution = exercise.solution_path.read_text(encoding="utf-8").splitlines()
        for mutant in found:
            compile(mutant.source, exercise.id, "exec")
            assert mutant.source.splitlines()[mutant.line - 1] != solution[mutant.line - 1] \
                or len(mutant.source.splitlines()) != len(solution), (exercise.id, mutant.id)


@pytest.mark.slow
def test_a_mutant_s_checks_stop_at_its_first_lost_point(launcher: WorkerLauncher) -> None:
    """With stopping_at_first_loss (verify --mutate only), do an exercise's checks stop after the
    first that loses points, where a normal grading runs them all?"""
    from nnlab.grader.pipeline import grade_file
    from nnlab.grader.runner import stopping_at_first_loss

    exercise = get_exercise("my_linear")
    wrong = next(m for m in plan_mutations(exercise).mutants
                 if m.operator == "arithmetic" and m.before == "x @ self.weight.T")
    whole = grade_file(exercise, wrong.source, "my_linear.py", launcher, 7, include_hidden=True).result
    with stopping_at_first_loss():
        cut = grade_file(exercise, wrong.source, "my_linear.py", launcher, 7, include_hidden=True).result
    not_run = [c.test_id for c in cut.checks if "could not be run" in c.message]
    assert not any("could not be run" in c.message for c in whole.checks)
    assert not_run and len(not_run) < len(cut.checks)
    first_loss = next(i for i, c in enumerate(cut.checks) if c.score < c.max_score)
    assert all("could not be run" not in c.message for c in cut.checks[:first_loss + 1])
    assert cut.score < cut.max_score and whole.score < whole.max_score


def test_workers_without_mutate_is_refused_in_one_line() -> None:
    """`--workers`/`--scheduler` only choose where mutants are graded: alone they are a mistake."""
    from click.testing import CliRunner

    from nnlab.cli import main

    result = CliRunner().invoke(main, ["verify", "my_linear", "--workers", "2"])
    assert result.exit_code == 2, result.output
    assert "--mutate" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
