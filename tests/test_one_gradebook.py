"""One gradebook: `nnlab collect` then `nnlab grade` give the course server's scores.csv and canvas.csv."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from test_course_server import BEFORE_DUE, LATE, SOLUTIONS, Served, call, nnlab, upload, wait_graded

from nnlab.course.collected import (FORMAT, CollectedAdjustment, CollectedStudent, Gradebook,
                                    gradebook_from_json, read_gradebook, write_gradebook)
from nnlab.errors import UsageError

COURSE = """
[course]
name = "One gradebook"
timezone = "Asia/Shanghai"

[[assignment]]
id = "hw1"
title = "Two exercises without a timing check"
exercises = ["leaky_relu", "regression_losses"]
due = "2026-12-10T23:59:00"
late_until = "2026-12-13T23:59:00"
late_penalty_per_day = 0.10
attempts_per_hour = 50
"""
ROSTER = ["ada", "ben", "cy", "dee", "eve"]
LEAKY = (SOLUTIONS / "leaky_relu.py").read_bytes()
LOSSES = (SOLUTIONS / "regression_losses.py").read_bytes()
LOSSES_STUB = (SOLUTIONS.parent / "exercises" / "regression_losses" / "stub.py").read_bytes()


def _csv(text: str) -> dict[str, list[str]]:
    """Rows by their first cell (the student, or Canvas's header and Points Possible rows)."""
    return {row[0]: row for row in csv.reader(io.StringIO(text)) if row}


def _upload_all(served: Served, tokens: dict[str, str], files: dict[str, dict[str, bytes]]) -> None:
    for student, names in files.items():
        status, _, accepted = call(served.url, "POST", "/api/v1/submissions", tokens[student], upload(names))
        assert status == 202, accepted
        assert wait_graded(served, tokens[student], [accepted["id"]])[0]["status"] == "done"


def _adjust(served: Served, token: str, **body: Any) -> None:
    status, _, added = call(served.url, "POST", "/api/v1/assignments/hw1/adjustments", token,
                            {"reason": "regrade request", **body})
    assert status == 201 and added["applied"], added


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A roster of five: ada and cy on time, ben and dee two days late (20% off), eve nothing;
    cy (on time) and dee (late) adjusted; the server's CSVs, then collect and grade."""
    root = tmp_path_factory.mktemp("gradebook")
    (root / "course.toml").write_text(COURSE, encoding="utf-8")
    (root / "roster.csv").write_text("student\n" + "".join(f"{s}\n" for s in ROSTER), encoding="utf-8")
    made = nnlab("roster", str(root / "course.toml"), "--data", str(root / "data"),
                 "--import", str(root / "roster.csv"), "--tokens-out", str(root / "tokens.csv"))
    assert made.returncode == 0, made.stderr
    with open(root / "tokens.csv", newline="") as handle:
        tokens = {row["student"]: row["token"] for row in csv.DictReader(handle)}
    served = Served(root / "course.toml", root / "data", BEFORE_DUE)
    try:
        _upload_all(served, tokens, {"ada": {"leaky_relu.py": LEAKY, "regression_losses.py": LOSSES},
                                     "cy": {"leaky_relu.py": LEAKY}})
    finally:
        served.stop()
    served = Served(root / "course.toml", root / "data", LATE)  # the server's clock, two days late
    try:
        _upload_all(served, tokens, {"ben": {"leaky_relu.py": LEAKY, "regression_losses.py": LOSSES},
                                     "dee": {"leaky_relu.py": LEAKY, "regression_losses.py": LOSSES_STUB}})
        _adjust(served, tokens["instructor"], student="cy", exercise="leaky_relu", delta=-1.5)
        _adjust(served, tokens["instructor"], student="dee", exercise="regression_losses", override=4)
        server = {name: call(served.url, "GET", f"/api/v1/assignments/hw1/{name}", tokens["instructor"])
                  for name in ("scores.csv", "canvas.csv")}
        refused = call(served.url, "GET", "/api/v1/assignments/hw1/canvas.csv", tokens["ada"])[0]
        env = {"NNLAB_SERVER": served.url, "NNLAB_TOKEN": tokens["instructor"],
               "XDG_CONFIG_HOME": str(root / "config")}
        collected = nnlab("collect", "--assignment", "hw1", "--out", str(root / "class"), env=env)
    finally:
        served.stop()
    graded = nnlab("grade", str(root / "class"), "--out", str(root / "out"), "--workers", "1",
                   "--no-similarity", env=env)
    return {"root": root, "server": server, "refused": refused, "collected": collected, "graded": graded}


@pytest.mark.slow
def test_the_server_applies_penalty_and_adjustments_in_both_csvs(course: dict[str, Any]) -> None:
    """Do the server's scores.csv and its new canvas.csv carry the late penalty, the adjustments
    and a zero row for the student who handed in nothing, and is canvas.csv the instructor's alone?"""
    for status, _, _ in course["server"].values():
        assert status == 200
    scores = _csv(course["server"]["scores.csv"][2])
    assert scores["student"] == ["student", "leaky_relu", "regression_losses", "total"]
    assert {s: [float(v) for v in scores[s][1:]] for s in ROSTER} == {
        "ada": [10, 10, 20], "ben": [8, 8, 16], "cy": [8.5, 0, 8.5], "dee": [8, 3.2, 11.2], "eve": [0, 0, 0]}
    canvas = _csv(course["server"]["canvas.csv"][2])
    assert [canvas[s][-2:] for s in ROSTER] == [["10", "10"], ["8", "8"], ["8.5", "0"], ["8", "3.2"],
                                                 ["0", "0"]]
    assert course["refused"] == 403


@pytest.mark.slow
def test_collect_then_grade_equals_the_server_student_by_student(course: dict[str, Any]) -> None:
    """Does `nnlab collect` carry every roster student (an empty folder for eve), their late days and
    the adjustments, so that `nnlab grade` writes the server's scores.csv and canvas.csv?"""
    root, collected, graded = course["root"], course["collected"], course["graded"]
    assert collected.returncode == 0, collected.stderr
    assert graded.returncode == 0, graded.stderr
    assert sorted(p.name for p in (root / "class").iterdir() if p.is_dir()) == ROSTER
    assert list((root / "class" / "eve").iterdir()) == []
    book = read_gradebook(root / "class")
    assert book is not None and book.late_days() == {"ada": 0, "ben": 2, "cy": 0, "dee": 2, "eve": 0}
    for name in ("scores.csv", "canvas.csv"):
        server = _csv(course["server"][name][2])
        local = _csv((root / "out" / name).read_text(encoding="utf-8"))
        assert list(local) == list(server)
        for key in server:
            assert local[key] == server[key], (name, key)


def _book() -> Gradebook:
    adjustment = CollectedAdjustment(id=3, exercise="leaky_relu", kind="delta", points=-1.5, reason="why",
                                     author="instructor", date="2026-12-12")
    return Gradebook("http://127.0.0.1:1", "hw1", ("leaky_relu",), 0.1, "2026-12-12T00:00:00+00:00",
                     (CollectedStudent("ada", "x1", "2026-12-12T10:00:00+08:00", 2, (adjustment,)),
                      CollectedStudent("eve", None, None, 0)))


def test_the_gradebook_file_round_trips_and_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    """Does gradebook.json read back as written, and is a newer format or a broken file one clear line?"""
    write_gradebook(_book(), tmp_path)
    assert read_gradebook(tmp_path) == _book()
    assert read_gradebook(tmp_path / "nowhere") is None
    rows = _book().adjustment_rows()
    assert [(r.student, r.kind, r.points, r.line) for r in rows] == [("ada", "delta", -1.5, 3)]
    newer = {**_book().to_json(), "format": FORMAT + 1}
    with pytest.raises(ValueError, match="this nnlab reads format"):
        gradebook_from_json(newer)
    (tmp_path / "gradebook.json").write_text(json.dumps({**_book().to_json(), "students": [{}]}))
    with pytest.raises(UsageError, match="gradebook.json"):
        read_gradebook(tmp_path)


def test_a_collected_adjustment_checks_its_kind_as_every_adjustment_does(tmp_path: Path) -> None:
    """Is an adjustment of an unknown kind in gradebook.json refused with the one message every
    reader of adjustments gives, and is the kind written as its plain value?"""
    written = _book().to_json()
    assert written["students"][0]["adjustments"][0]["kind"] == "delta"
    written["students"][0]["adjustments"][0]["kind"] = "bonus"
    (tmp_path / "gradebook.json").write_text(json.dumps(written))
    with pytest.raises(UsageError, match=r"ada: adjustment 3: unknown adjustment kind 'bonus' "
                                         r"\(expected 'delta' or 'override'\)"):
        read_gradebook(tmp_path)
    with pytest.raises(UsageError, match="unknown adjustment kind 'bonus'"):
        CollectedAdjustment(id=1, exercise="leaky_relu", kind="bonus", points=1.0, reason="", author="")
