"""Tests of the exports an instructor feeds to other systems: canvas.csv, results.json, Gradescope."""
from __future__ import annotations

import csv
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from nnlab.cli import main
from nnlab.reports import write_class_report
from nnlab.reports.canvas import canvas_rows
from nnlab.reports.gradescope import ROOT_VARIABLE, PYTHON_VARIABLE, gradescope_results
from nnlab.results import (
    CheckResult,
    Confinement,
    ExerciseResult,
    Outcome,
    SubmissionResult,
    TimingInfo,
    Visibility,
)

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "nnlab" / "solutions"


def check(name: str, outcome: Outcome, points: float, *, hidden: bool = False,
          message: str = "", timing: TimingInfo | None = None) -> CheckResult:
    return CheckResult(name, f"test_{name.replace(' ', '_')}", points if outcome is Outcome.PASSED else 0.0,
                       points, outcome, Visibility.HIDDEN if hidden else Visibility.VISIBLE, message,
                       timing=timing)


def whole_file(ex_id: str, note: str, outcome: Outcome, submitted: bool) -> ExerciseResult:
    """An exercise recorded the way the grader records a file that cannot run, or no file."""
    checks = (check("forward", outcome, 2.0, message=note), check("gradient", outcome, 3.0, hidden=True,
                                                                   message=note))
    return ExerciseResult(ex_id, ex_id, checks, 5.0, note, submitted)


def result(student: str | None, *exercises: ExerciseResult) -> SubmissionResult:
    return SubmissionResult(student, exercises, 42, Confinement("full", ("landlock",)), "cpu", "0.1.0",
                            "2025-01-02T03:04:05Z")


def graded(ex_id: str, forward: Outcome, gradient: Outcome) -> ExerciseResult:
    return ExerciseResult(ex_id, ex_id, (check("forward", forward, 2.0, message="max abs error 0.4"),
                                         check("gradient", gradient, 3.0, hidden=True)), 5.0)


def trio() -> list[SubmissionResult]:
    """ada did both; ben never handed `relu` in; cy handed in an empty relu.py."""
    return [
        result("ada", graded("linear", Outcome.PASSED, Outcome.PASSED), graded("relu", Outcome.PASSED, Outcome.FAILED)),
        result("ben", graded("linear", Outcome.FAILED, Outcome.PASSED),
               whole_file("relu", "relu.py was not submitted", Outcome.SKIPPED, submitted=False)),
        result("cy", graded("linear", Outcome.PASSED, Outcome.PASSED),
               whole_file("relu", "relu.py is empty", Outcome.ERROR, submitted=True)),
    ]


# ---------------------------------------------------------------- canvas.csv and not submitted


def test_canvas_csv_has_the_gradebook_import_layout(tmp_path: Path) -> None:
    """Does canvas.csv have Canvas's columns, a Points Possible row and one row per student?"""
    write_class_report(trio(), ["linear", "relu"], tmp_path)
    with (tmp_path / "canvas.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "linear", "relu"]
    assert rows[1] == ["Points Possible", "", "", "", "", "5", "5"]
    assert rows[2:] == [["ada", "", "ada", "ada", "", "5", "2"],
                        ["ben", "", "ben", "ben", "", "3", "0"],
                        ["cy", "", "cy", "cy", "", "5", "0"]]


def test_canvas_leaves_blank_what_was_never_graded() -> None:
    """Is an exercise outside a student's graded set blank (no grade), not a zero?"""
    rows = canvas_rows([result("dee", graded("linear", Outcome.PASSED, Outcome.FAILED))], ["linear", "relu"])
    assert rows[1][5:] == ["5", ""] and rows[2][5:] == ["2", ""]


def test_every_export_tells_not_submitted_from_an_empty_file(tmp_path: Path) -> None:
    """Do ben (no relu.py) and cy (an empty relu.py) both score 0 in the CSVs, while
    results.json says which one handed nothing in?"""
    write_class_report(trio(), ["linear", "relu"], tmp_path)
    scores = {row["student"]: row for row in csv.DictReader((tmp_path / "scores.csv").open(encoding="utf-8"))}
    assert float(scores["ben"]["relu"]) == 0.0 and float(scores["cy"]["relu"]) == 0.0
    data = {d["student"]: d for d in json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))}
    ben_relu = data["ben"]["exercises"][1]
    cy_relu = data["cy"]["exercises"][1]
    assert ben_relu["submitted"] is False and cy_relu["submitted"] is True
    assert cy_relu["note"] == "relu.py is empty"
    assert data["ada"]["exercises"][1]["submitted"] is True


def test_results_json_has_one_student_per_line(tmp_path: Path) -> None:
    """Can a script (or grep) find each student's object on its own line of results.json?"""
    write_class_report(trio(), ["linear", "relu"], tmp_path)
    lines = (tmp_path / "results.json").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "[" and lines[-1] == "]" and len(lines) == 5
    assert json.loads(lines[2].rstrip(","))["student"] == "ben"


# ---------------------------------------------------------------- Gradescope's results.json


def assert_gradescope_format(data: dict[str, Any]) -> None:
    """Gradescope's results.json: a numeric score, and tests with the fields it reads."""
    assert isinstance(data["score"], (int, float))
    assert isinstance(data["tests"], list)
    for test in data["tests"]:
        assert {"name", "score", "max_score", "status", "visibility", "output"} <= set(test), test
        assert isinstance(test["name"], str) and test["name"]
        assert isinstance(test["score"], (int, float)) and isinstance(test["max_score"], (int, float))
        assert 0 <= test["score"] <= test["max_score"]
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] in ("hidden", "after_due_date", "after_published", "visible")
        assert isinstance(test["output"], str)
    assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))


def test_gradescope_results_map_checks_to_tests() -> None:
    """Is each check a Gradescope test (hidden checks shown after the due date), and work not
    handed in or unable to run one line each?"""
    timing = TimingInfo("cpu", 1.5, 2.5, 0.1, 1e-3, 7e-4, 15)
    ada = result("ada",
                 ExerciseResult("linear", "Linear", (
                     check("forward", Outcome.PASSED, 2.0),
                     check("speed", Outcome.PASSED, 1.0, hidden=True, timing=timing),
                     check("gradient", Outcome.ERROR, 3.0, hidden=True, message="RuntimeError: boom")), 6.0),
                 whole_file("relu", "relu.py was not submitted", Outcome.SKIPPED, submitted=False),
                 whole_file("conv", "conv.py does not parse: invalid syntax at line 3", Outcome.ERROR, True))
    data = gradescope_results(ada)
    assert_gradescope_format(data)
    tests = {t["name"]: t for t in data["tests"]}
    assert list(tests) == ["linear: forward", "linear: speed", "linear: gradient",
                           "relu: not submitted", "conv: could not run"]
    assert tests["linear: forward"]["visibility"] == "visible" and tests["linear: forward"]["status"] == "passed"
    assert tests["linear: speed"]["visibility"] == "after_due_date" and "1.50x" in tests["linear: speed"]["output"]
    gradient = tests["linear: gradient"]
    assert gradient["status"] == "failed" and "RuntimeError: boom" in gradient["output"]
    assert tests["relu: not submitted"]["max_score"] == 5.0 and tests["relu: not submitted"]["score"] == 0
    assert "does not parse" in tests["conv: could not run"]["output"]
    assert data["score"] == 3.0 and "Not submitted: relu" in data["output"]


# ---------------------------------------------------------------- nnlab export gradescope


def export(tmp_path: Path, *args: str) -> tuple[int, str]:
    outcome = CliRunner().invoke(main, ["export", "gradescope", *args], catch_exceptions=False)
    return outcome.exit_code, outcome.output


def test_export_gradescope_writes_an_autograder_zip(tmp_path: Path) -> None:
    """Does the zip hold an executable setup.sh and run_autograder at its root, and nnlab with
    the exercises' hidden checks but no solution, ready for pip?"""
    code, output = export(tmp_path, "--exercises", "leaky_relu,my_linear", "--out", str(tmp_path / "ag.zip"))
    assert code == 0, output
    with zipfile.ZipFile(tmp_path / "ag.zip") as archive:
        names = set(archive.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
        setup = archive.read("setup.sh").decode()
        run = archive.read("run_autograder").decode()
        pyproject = archive.read("nnlab-src/pyproject.toml").decode()
    for script in ("setup.sh", "run_autograder"):
        assert modes[script] & stat.S_IXUSR, f"{script} must be executable"
    assert "nnlab-src/nnlab/exercises/leaky_relu/test_hidden.py" in names
    # Student code runs in this container: no solution goes with it, and the build says so.
    assert not any(n.startswith("nnlab-src/nnlab/solutions/") for n in names)
    assert "nnlab-src/nnlab/grading-build.txt" in names
    assert not any("__pycache__" in n for n in names)
    assert "pip install" in setup and "torch" in setup and "nnlab-src" in setup
    assert "--exercises leaky_relu,my_linear" in run and ROOT_VARIABLE in run
    assert '"torch' in pyproject and '"jinja2' in pyproject


def test_export_gradescope_refuses_unknown_exercises(tmp_path: Path) -> None:
    """Is an unknown exercise id one clear error line (exit 2), with no zip written?"""
    code, output = export(tmp_path, "--exercises", "my_linear,no_such", "--out", str(tmp_path / "ag.zip"))
    assert code == 2
    assert output.strip() == "nnlab: error: unknown exercise id(s): no_such (see `nnlab list`)"
    assert not (tmp_path / "ag.zip").exists()


@pytest.mark.slow
def test_run_autograder_grades_a_simulated_gradescope_tree(tmp_path: Path) -> None:
    """Run in a copy of Gradescope's /autograder tree, does run_autograder grade the submission
    (a correct file in a sub-folder, a broken file, a missing one) into a valid results.json?"""
    code, output = export(tmp_path, "--exercises", "leaky_relu,custom_sigmoid,my_linear",
                          "--out", str(tmp_path / "ag.zip"))
    assert code == 0, output
    root = tmp_path / "autograder"
    with zipfile.ZipFile(tmp_path / "ag.zip") as archive:
        archive.extractall(root / "source")
    (root / "submission" / "work").mkdir(parents=True)
    shutil.copy(SOLUTIONS / "leaky_relu.py", root / "submission" / "work" / "leaky_relu.py")
    (root / "submission" / "custom_sigmoid.py").write_text("def forward(:\n", encoding="utf-8")
    # The zip's own nnlab (the grading build, without solutions), as Gradescope installs it.
    env = {**os.environ, ROOT_VARIABLE: str(root), PYTHON_VARIABLE: sys.executable,
           "PYTHONPATH": str(root / "source" / "nnlab-src")}
    proc = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    assert_gradescope_format(data)
    tests = data["tests"]
    leaky = [t for t in tests if t["name"].startswith("leaky_relu: ")]
    assert len(leaky) > 3 and all(t["status"] == "passed" for t in leaky)
    assert {t["visibility"] for t in leaky} == {"visible", "after_due_date"}
    assert data["score"] == pytest.approx(10.0)
    names = [t["name"] for t in tests]
    assert "my_linear: not submitted" in names and "custom_sigmoid: could not run" in names
    where = subprocess.run([sys.executable, "-c", "import nnlab; print(nnlab.__file__)"], env=env,
                           cwd=tmp_path, capture_output=True, text=True).stdout
    assert where.startswith(str(root / "source")), where  # it was the zip's copy that graded
