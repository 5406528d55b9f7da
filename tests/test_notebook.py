"""Jupyter notebooks: `nnlab start --notebook`, and ID.ipynb graded wherever ID.py is."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from nnlab.grader.exercise import get_exercise, load_catalogue
from nnlab.grader.pipeline import GradeRequest, grade_student
from nnlab.grader.submission import collect
from nnlab.notebook import read_code
from nnlab.results import CheckResult, ExerciseResult, Outcome, Visibility

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = (ROOT / "nnlab" / "solutions" / "my_linear.py").read_text(encoding="utf-8")
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5E"
       "rkJggg==")


def nnlab(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nnlab.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


def _code(source: str, count: int | None, outputs: list[dict] | None = None,
          metadata: dict | None = None) -> dict:
    """A code cell as Jupyter saves it: source as a list of lines, outputs, execution count."""
    return {"cell_type": "code", "execution_count": count, "id": f"cell-{count}",
            "metadata": metadata or {}, "outputs": outputs or [],
            "source": source.splitlines(keepends=True)}


def _split_solution() -> list[str]:
    """The my_linear solution in four cells: imports, the class without extra_repr, the
    extra_repr attached afterwards, and a future import that opens the class cell."""
    head, _, rest = SOLUTION.partition("class MyLinear")
    body, _, repr_part = rest.partition("    def extra_repr")
    imports = head.replace("from __future__ import annotations\n", "")
    method = textwrap.dedent("    def extra_repr" + repr_part).strip()
    return [f"%matplotlib inline\n{imports.strip()}",
            "from __future__ import annotations\n\n\nclass MyLinear" + body.rstrip(),
            method + "\n\nMyLinear.extra_repr = extra_repr",
            "layer = MyLinear(3, 2)\n%time y = layer(torch.ones(4, 3))\nlayer"]


def jupyter_notebook(cells: list[str]) -> str:
    """A notebook as Jupyter 7 writes it: a markdown cell with an attachment, code cells with
    outputs, execution counts and metadata, a raw cell, kernel metadata, indent 1."""
    saved = [{"attachments": {"fig.png": {"image/png": PNG}}, "cell_type": "markdown",
              "id": "intro", "metadata": {}, "source": ["# MyLinear\n", "![fig](attachment:fig.png)"]}]
    for count, source in enumerate(cells, start=1):
        outputs = [
            {"name": "stdout", "output_type": "stream", "text": ["CPU times: user 1 ms\n"]},
            {"data": {"image/png": PNG, "text/plain": ["<Figure size 640x480 with 1 Axes>"]},
             "metadata": {}, "output_type": "display_data"},
            {"data": {"text/plain": ["MyLinear(in_features=3, out_features=2, bias=True)"]},
             "execution_count": count, "metadata": {}, "output_type": "execute_result"},
        ]
        saved.append(_code(source, count, outputs, {"scrolled": True, "tags": ["answer"]}))
    saved.append({"cell_type": "raw", "id": "raw", "metadata": {}, "source": "%%not code\n!nor this"})
    notebook = {"cells": saved, "metadata": {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"codemirror_mode": {"name": "ipython", "version": 3},
                          "file_extension": ".py", "name": "python", "version": "3.11.7"}},
        "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def test_code_cells_in_order_without_ipython_lines() -> None:
    """Are code cells taken in order, magics and shell lines left out with their cell and line,
    and '%' or '!' inside strings and brackets kept?"""
    cells = ["%matplotlib inline\nimport math",
             "%%bash\necho not python",
             'def f(x):\n    """Uses\n%d formatting\n"""\n    !ls\n    return (x\n            % 3)',
             "!pip install \\\n    torch\nprint(f(5))",
             "!nnlab check my_linear.ipynb --lang en"]
    code = read_code(jupyter_notebook(cells), "my_linear.ipynb")
    namespace: dict = {}
    exec(compile(code.source, "my_linear.py", "exec"), namespace)  # our own test code
    assert namespace["f"](5) == 2 and namespace["f"].__doc__ == "Uses\n%d formatting\n"
    assert [(item.cell, item.line) for item in code.left_out] == [(2, 1), (3, 0), (4, 5), (5, 1)]
    note = code.note("my_linear.ipynb")
    assert "cell 2, line 1: %matplotlib inline" in note and "%%bash" in note
    assert "nnlab check" not in note  # the notebook's own check line is not the student's
    line = code.source.splitlines().index("print(f(5))") + 1
    assert code.locate(line) == "cell 5, line 3"


def test_future_import_in_a_later_cell_still_compiles() -> None:
    """Does a `from __future__` import that opens a later cell (as Jupyter allows) still grade?"""
    cells = _split_solution()
    code = read_code(jupyter_notebook(cells), "my_linear.ipynb")
    compile(code.source, "my_linear.py", "exec")
    first = code.source.splitlines()[0]
    assert first.startswith("from __future__") and code.locate(1) == "cell 3, line 1"


@pytest.mark.parametrize("content, fragment", [
    ('{"cells": [{"cell_type": "code", "source": "x = 1"', "is not valid JSON"),
    ('{"nbformat": 9, "nbformat_minor": 0, "cells": [], "metadata": {}}',
     "not a Jupyter notebook nbformat can read"),
    ('[1, 2]', "not a Jupyter notebook nbformat can read"),
    (None, "has no Python in its code cells"),
])
def test_unreadable_notebook_is_one_clear_message(tmp_path: Path, content: str | None,
                                                  fragment: str) -> None:
    """Does a broken or empty notebook get one message for the student, not an exception?"""
    path = tmp_path / "my_linear.ipynb"
    path.write_text(content if content is not None else jupyter_notebook(["# only a comment"]))
    (file,) = collect(path, load_catalogue())
    assert file.source is None and fragment in file.problem
    assert "Traceback" not in file.problem and "\n" not in file.problem


def test_both_py_and_ipynb_is_a_clear_error(tmp_path: Path) -> None:
    """With my_linear.py and my_linear.ipynb both in the folder, is the student told to keep one?"""
    (tmp_path / "my_linear.py").write_text(SOLUTION)
    (tmp_path / "my_linear.ipynb").write_text(jupyter_notebook(_split_solution()))
    (file,) = collect(tmp_path, load_catalogue())
    assert file.source is None
    assert "both my_linear.py and my_linear.ipynb" in file.problem and "keep only" in file.problem


def test_places_in_messages_point_into_the_notebook(tmp_path: Path) -> None:
    """Do error places read 'my_linear.ipynb, cell 3, line 2' instead of a line of the joined code?"""
    path = tmp_path / "my_linear.ipynb"
    path.write_text(jupyter_notebook(["import torch", "x = 1\ny = undefined_name"]))
    (file,) = collect(path, load_catalogue())
    check = CheckResult("Does it run?", "test_x", 0, 1, Outcome.ERROR, Visibility.VISIBLE,
                        "NameError\n  my_linear.py, line 3, in <module>\n    y = undefined_name")
    result = file.annotate(ExerciseResult("my_linear", "MyLinear", (check,), 1,
                                          "my_linear.py does not parse: bad at line 2"))
    assert "my_linear.ipynb, cell 3, line 2, in <module>" in result.checks[0].message
    assert result.note == "my_linear.ipynb does not parse: bad at cell 3, line 1"
    assert file.annotate(result) == result  # applying it twice changes nothing more


def test_start_notebook_then_check_it(tmp_path: Path) -> None:
    """Does `nnlab start --notebook` write a valid notebook (statement, stub, check cell) that
    `nnlab check` grades as the untouched stub, without a note about its own check line?"""
    started = nnlab("start", "my_linear", "--notebook", "--dir", str(tmp_path), "--lang", "en")
    assert started.returncode == 0, started.stderr
    assert not (tmp_path / "my_linear.py").exists()
    notebook = nbformat.read(tmp_path / "my_linear.ipynb", as_version=4)
    nbformat.validate(notebook)
    exercise = get_exercise("my_linear")
    statement, stub, check = notebook.cells
    assert statement.cell_type == "markdown"
    assert statement.source == exercise.statement_path.read_text(encoding="utf-8")
    assert ast.dump(ast.parse(stub.source)) != "" and "my_linear.md" not in stub.source
    assert ast.dump(ast.parse(stub.source).body[1]) == ast.dump(
        ast.parse(exercise.stub_path.read_text(encoding="utf-8")).body[1])
    assert check.source.splitlines()[-1] == "!nnlab check my_linear.ipynb --lang en"
    result = nnlab("check", str(tmp_path / "my_linear.ipynb"), "--lang", "en")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "NotImplementedError" in result.stdout and "note:" not in result.stdout


def test_solution_split_over_cells_passes_check(tmp_path: Path) -> None:
    """Does the solution split over several cells, saved by Jupyter with outputs and magics,
    pass `nnlab check`, with a note naming the magics left out?"""
    path = tmp_path / "my_linear.ipynb"
    path.write_text(jupyter_notebook(_split_solution()))
    result = nnlab("check", str(path), "--lang", "en")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "public checks: 2 of 2 passed" in result.stdout
    assert "note: my_linear.ipynb: IPython magics" in result.stdout
    assert "cell 2, line 1: %matplotlib inline" in result.stdout


def test_solution_split_over_cells_scores_full_marks(tmp_path: Path, launcher) -> None:
    """Does the split notebook score full marks with every check, hidden ones included?"""
    (tmp_path / "my_linear.ipynb").write_text(jupyter_notebook(_split_solution()))
    result = grade_student(GradeRequest(tmp_path, include_hidden=True, seed=7), launcher)
    (exercise,) = result.exercises
    failing = [(c.name, c.outcome, c.message) for c in exercise.checks
               if c.outcome not in (Outcome.PASSED, Outcome.SKIPPED)]
    assert not failing
    assert exercise.score == exercise.max_score - sum(
        c.max_score for c in exercise.checks if c.outcome is Outcome.SKIPPED)
