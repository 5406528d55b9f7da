"""`nnlab grade` on a class with honest, hostile and unreadable submissions."""
from __future__ import annotations

import csv
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "nnlab" / "solutions" / "my_linear.py"
HOSTILE = ROOT / "tests" / "hostile"
SOLUTIONS = ROOT / "nnlab" / "solutions"


def _make_class(root: Path) -> dict[str, str]:
    """Student folders, each with one my_linear.py; returns what each should show."""
    students = {
        "honest": lambda p: shutil.copy(SOLUTION, p),
        "crasher": lambda p: shutil.copy(HOSTILE / "exit_at_import.py", p),
        "snooper": lambda p: shutil.copy(HOSTILE / "read_hidden_checks.py", p),
        "syntax": lambda p: p.write_text("class MyLinear(nn.Module:\n    pass\n"),
        "empty": lambda p: p.write_text(""),
        "binary": lambda p: p.write_bytes(b"\x7fELF\x00\x01\x02" * 100),
        "latin1": lambda p: p.write_bytes("# caf\xe9\nx = 1\n".encode("latin-1")),
        "folder": lambda p: p.mkdir(),
        "link": lambda p: p.symlink_to(SOLUTION),
    }
    for name, make in students.items():
        folder = root / name
        folder.mkdir(parents=True)
        make(folder / "my_linear.py")
    return {"syntax": "does not parse", "empty": "is empty", "binary": "binary file",
            "latin1": "not UTF-8", "folder": "is a folder", "link": "outside the submission"}


@pytest.mark.slow
def test_batch_grades_everyone_and_isolates_faults(tmp_path: Path) -> None:
    """Does a batch with hostile and unreadable files finish, grading the honest student fully?"""
    messages = _make_class(tmp_path / "class")
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "nnlab.cli", "grade", str(tmp_path / "class"),
                             "--out", str(out), "--workers", "2"],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    with open(out / "scores.csv", newline="") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert list(next(iter(rows.values()))) == ["student", "my_linear", "total"]
    assert float(rows["honest"]["total"]) == 10.0
    for student in rows:
        if student != "honest":
            assert float(rows[student]["total"]) == 0.0, student
    results = {r["student"]: r for r in json.loads((out / "results.json").read_text())}
    for student, fragment in messages.items():
        exercise = results[student]["exercises"][0]
        assert fragment in exercise["note"], (student, exercise["note"])
    assert (out / "index.html").exists()
    assert all((out / "students" / f"{s}.html").exists() for s in rows)
    snooped = json.dumps(results["snooper"])
    assert "def test_" not in snooped and "assert_close" not in snooped


def _nnlab(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnlab.cli", *args], capture_output=True,
                          text=True, timeout=900, **kwargs)


def test_unknown_exercise_ids_are_named(tmp_path: Path) -> None:
    """Does `--exercises` with ids the catalogue lacks stop with one line naming them?"""
    (tmp_path / "class" / "ann").mkdir(parents=True)
    result = _nnlab("grade", str(tmp_path / "class"), "--out", str(tmp_path / "out"),
                    "--exercises", "my_linear,nope,zzz")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "nnlab: error: --exercises: unknown exercise id(s) nope, zzz (`nnlab list` shows the catalogue)"]


def test_assignment_of_a_course_is_the_exercise_set(tmp_path: Path) -> None:
    """Does `--course course.toml --assignment ID` grade that assignment's exercises, and name
    the assignments it has when the id is wrong?"""
    from nnlab.engine.classroom import choose_exercises

    course = tmp_path / "course.toml"
    course.write_text('[course]\nname = "NN 101"\ntimezone = "UTC"\n\n[[assignment]]\nid = "hw1"\n'
                      'exercises = ["mlp", "my_linear"]\ndue = 2026-12-10T23:59:00\n\n'
                      '[[assignment]]\nid = "hw2"\nexercises = ["leaky_relu"]\n'
                      'due = 2026-12-17T23:59:00\n')
    (tmp_path / "class" / "ann").mkdir(parents=True)
    chosen = choose_exercises([tmp_path / "class" / "ann"], None, course, "hw1")
    assert chosen.ids == ("my_linear", "mlp")  # catalogue order
    result = _nnlab("grade", str(tmp_path / "class"), "--out", str(tmp_path / "out"),
                    "--course", str(course), "--assignment", "hw9")
    assert result.returncode == 2
    assert "no assignment 'hw9' (assignments: hw1, hw2)" in result.stderr
    assert "Traceback" not in result.stderr


def test_files_travel_to_a_worker_unchanged(tmp_path: Path) -> None:
    """Does a student's folder, shipped to a worker as data, read there exactly as it does
    here, including links outside, folders, oversized and binary files?"""
    from nnlab.engine.files import files_digest, read_student_files, write_student_files
    from nnlab.grader.submission import MAX_SOURCE_BYTES, read_file

    folder = tmp_path / "ann"
    folder.mkdir()
    shutil.copy(SOLUTION, folder / "my_linear.py")
    (folder / "mlp.py").symlink_to(SOLUTION)
    (folder / "leaky_relu.py").mkdir()
    (folder / "conv2d.py").write_bytes(b"#" * (MAX_SOURCE_BYTES + 10))
    (folder / "dropout.py").write_bytes(b"\x7fELF\x00" * 10)
    (folder / "batch_norm.ipynb").write_text('{"cells": [], "nbformat": 4')
    ids = ("my_linear", "mlp", "leaky_relu", "conv2d", "dropout", "batch_norm")
    files = read_student_files(folder, ids)
    copy = tmp_path / "copy"
    write_student_files(files, copy)
    for name in (f.name for f in files):
        here, there = read_file("x", folder / name, folder), read_file("x", copy / name, copy)
        assert (there.source, there.problem) == (here.source, here.problem), name
    before = files_digest(files)
    (folder / "my_linear.py").write_text("# changed\n")
    assert files_digest(read_student_files(folder, ids)) != before


def _comparable(results_json: Path) -> list:
    """results.json without what differs between two runs of the same grading (times)."""
    results = json.loads(results_json.read_text())
    for result in results:
        result.pop("graded_at")
        for exercise in result["exercises"]:
            for check in exercise["checks"]:
                check.pop("duration_s")
    return results


@pytest.mark.slow
def test_interrupted_run_resumes_with_only_the_missing_students(tmp_path: Path) -> None:
    """After Ctrl-C, does running the same command again grade only the students left, end
    with the outputs of an uninterrupted run, and a third run start no worker at all?"""
    solution = ROOT / "nnlab" / "solutions" / "leaky_relu.py"
    for index in range(5):
        (tmp_path / "class" / f"s{index}").mkdir(parents=True)
        shutil.copy(solution, tmp_path / "class" / f"s{index}" / "leaky_relu.py")
    (tmp_path / "class" / "s1" / "leaky_relu (1).py").write_text("x = 1\n")
    command = [sys.executable, "-m", "nnlab.cli", "grade", str(tmp_path / "class"),
               "--out", str(tmp_path / "out"), "--workers", "1"]
    # As from a terminal: Ctrl-C raises KeyboardInterrupt even where this suite was started
    # in the background (there, SIGINT arrives ignored, and Python keeps ignoring it).
    interruptible = [sys.executable, "-c", "import runpy, signal, sys; "
                     "signal.signal(signal.SIGINT, signal.default_int_handler); "
                     "sys.argv = ['nnlab', *sys.argv[1:]]; runpy.run_module('nnlab.cli', run_name='__main__')",
                     *command[3:]]
    first = subprocess.Popen(interruptible, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    while not list((tmp_path / "out" / "results").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.1)
    first.send_signal(signal.SIGINT)
    _, err = first.communicate(timeout=300)
    assert first.returncode == 130, err
    assert "run the same command again to grade the" in err
    kept = len(list((tmp_path / "out" / "results").glob("*.json")))
    assert 1 <= kept < 5, err
    resumed = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert resumed.returncode == 0, resumed.stderr
    assert f"Grading {5 - kept} of 5 students ({kept} unchanged, reused)" in resumed.stderr
    assert "s1: leaky_relu (1).py match(es) no exercise" in resumed.stderr
    seed = json.loads((tmp_path / "out" / "run.json").read_text())["seed"]
    whole = _nnlab("grade", str(tmp_path / "class"), "--out", str(tmp_path / "whole"),
                   "--workers", "2", "--seed", str(seed))
    assert whole.returncode == 0, whole.stderr
    assert _comparable(tmp_path / "out" / "results.json") == \
        _comparable(tmp_path / "whole" / "results.json")
    again = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert "Grading 0 of 5 students (5 unchanged, reused)" in again.stderr
    assert "Dask worker" not in again.stderr


SHARED_LEAKY_RELU = """import torch
from torch import nn


class LeakyReLU(nn.Module):
    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        if not isinstance(negative_slope, (int, float)):
            raise TypeError("negative_slope must be a number")
        self.negative_slope = negative_slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        keep = x > 0
        leaked = x * self.negative_slope
        chosen = torch.where(keep, x, leaked)
        return chosen

    def extra_repr(self) -> str:
        shown = self.negative_slope
        return "negative_slope=" + str(shown)
"""


@pytest.mark.slow
def test_adjustments_and_similarity_reach_the_class_outputs(tmp_path: Path) -> None:
    """Does `--adjustments` change the exported score while keeping the original and the
    reason, name a row that matches nobody, and does the class report carry the similarity
    section (and leave it out with --no-similarity)?"""
    # A correct file the two share, in code of their own: the reference's few lines are what the
    # statement spells out, which never counts as evidence of copying.
    for student in ("ada", "ben"):
        (tmp_path / "class" / student).mkdir(parents=True)
        (tmp_path / "class" / student / "leaky_relu.py").write_text(SHARED_LEAKY_RELU)
    adjustments = tmp_path / "adjustments.csv"
    adjustments.write_text("student,exercise,check,delta,override,reason,author,date\n"
                           "ada,leaky_relu,,-2,,copied from ben,prof,2026-12-01\n"
                           "zed,leaky_relu,,1,,regrade request,prof,2026-12-01\n")
    out = tmp_path / "out"
    run = _nnlab("grade", str(tmp_path / "class"), "--out", str(out), "--exercises", "leaky_relu",
                 "--workers", "1", "--seed", "7", "--adjustments", str(adjustments))
    assert run.returncode == 0, run.stderr
    assert "zed" in run.stderr and "not applied" in run.stderr
    results = {r["student"]: r for r in json.loads((out / "results.json").read_text())}
    ada = results["ada"]["exercises"][0]
    assert (ada["score"], ada["original_score"]) == (8.0, 10.0)
    assert ada["adjustments"][0]["reason"] == "copied from ben"
    assert results["ben"]["exercises"][0]["score"] == 10.0
    scores = (out / "scores.csv").read_text().splitlines()
    assert any(line.startswith("ada,8") for line in scores), scores
    similarity = (out / "similarity.csv").read_text().splitlines()
    assert similarity[0].startswith("exercise,student_a,student_b,similarity")
    assert any("ada" in line and "ben" in line for line in similarity[1:]), similarity
    assert "Code similarity" in (out / "index.html").read_text()

    again = tmp_path / "again"
    run = _nnlab("grade", str(tmp_path / "class"), "--out", str(again), "--exercises", "leaky_relu",
                 "--workers", "1", "--seed", "7", "--no-similarity")
    assert run.returncode == 0, run.stderr
    assert not (again / "similarity.csv").exists()
    assert "Code similarity" not in (again / "index.html").read_text()
