"""`nnlab grade` on a class with honest, hostile and unreadable submissions."""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "nnlab" / "solutions" / "my_linear.py"
HOSTILE = ROOT / "tests" / "hostile"


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
