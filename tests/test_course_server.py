"""The course server as students and instructors meet it: `nnlab serve` in a subprocess, real HTTP."""
from __future__ import annotations

import base64
import concurrent.futures
import csv
import json
import re
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "nnlab" / "solutions"
BEFORE_DUE = "2026-12-09T10:00:00+08:00"
LATE = "2026-12-12T10:00:00+08:00"
"""1 day and 10 hours after hw1's due date: 2 started days late."""
CLOSED = "2026-12-14T10:00:00+08:00"
COURSE_TOML = """
[course]
name = "Test course"
timezone = "Asia/Shanghai"

[[assignment]]
id = "hw1"
title = "Layers"
exercises = ["leaky_relu", "my_linear"]
due = "2026-12-10T23:59:00"
late_until = "2026-12-13T23:59:00"
late_penalty_per_day = 0.10
attempts_per_hour = 50
hidden_feedback = "after_due"

[[assignment]]
id = "quiz"
title = "A quick one"
exercises = ["leaky_relu"]
due = "2026-12-10T23:59:00"
attempts_per_hour = 3
counts = "best"
hidden_feedback = "never"
"""
STUDENTS = ["ada", "ben", "cy", "dee", "gone"] + [f"s{i:02d}" for i in range(1, 21)]
HIDDEN_NAME = "Is the input left untouched"
"""The start of a hidden check's name in leaky_relu: never shown to students before the due date."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def nnlab(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
          timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nnlab.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd, timeout=timeout)


class Served:
    """`nnlab serve` in its own process group, on a free port, with a test clock."""

    def __init__(self, course: Path, data: Path, now: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data.parent / f"{data.name}-{self.port}.log"
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "nnlab.cli", "serve", str(course), "--data", str(data),
                 "--port", str(self.port), "--workers", "1"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, "NNLAB_FAKE_NOW": now})
        deadline = time.monotonic() + 60
        while call(self.url, "GET", "/api/v1/assignments", None)[0] != 401:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the server did not start:\n{self.log.read_text()}")
            time.sleep(0.2)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)


def call(url: str, method: str, path: str, token: str | None, body: Any = None,
         raw: bytes | None = None) -> tuple[int, dict[str, str], Any]:
    """(status, headers, JSON or text); connection refused is status 0."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url + path, data=data, method=method)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            status, headers, payload = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, headers, payload = error.code, dict(error.headers), error.read()
    except (urllib.error.URLError, ConnectionError):
        return 0, {}, None
    try:
        return status, headers, json.loads(payload)
    except ValueError:
        return status, headers, payload.decode("utf-8", "replace")


def upload(names: dict[str, bytes], assignment: str = "hw1") -> dict[str, Any]:
    return {"assignment": assignment, "files": [
        {"name": name, "content": base64.b64encode(data).decode()} for name, data in names.items()]}


SOLUTION = {"leaky_relu.py": (SOLUTIONS / "leaky_relu.py").read_bytes()}


def wait_graded(served: Served, token: str, ids: list[str], limit: float = 240) -> list[dict[str, Any]]:
    deadline = time.monotonic() + limit
    while True:
        subs = [call(served.url, "GET", f"/api/v1/submissions/{i}", token)[2] for i in ids]
        if all(s["status"] in ("done", "error") for s in subs):
            return subs
        assert time.monotonic() < deadline, f"not graded in time: {[s['status'] for s in subs]}"
        time.sleep(0.5)


def add_accounts(data: Path) -> dict[str, str]:
    """Accounts straight in the database of a second data folder (the CLI is tested on the first)."""
    from nnlab.course.accounts import RosterEntry, new_token
    from nnlab.course.db import Database

    created = Database(data).add_accounts([RosterEntry(s) for s in STUDENTS], new_token)
    return {student: token for student, _, token in created}


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A course folder, a roster imported with `nnlab roster`, and a server before the due date."""
    root = tmp_path_factory.mktemp("course")
    (root / "course.toml").write_text(COURSE_TOML, encoding="utf-8")
    (root / "roster.csv").write_text("student,name,email\n" + "".join(f"{s},,\n" for s in STUDENTS))
    made = nnlab("roster", str(root / "course.toml"), "--data", str(root / "data"),
                 "--import", str(root / "roster.csv"), "--tokens-out", str(root / "tokens.csv"))
    assert made.returncode == 0, made.stderr
    with open(root / "tokens.csv", newline="") as handle:
        tokens = {row["student"]: row["token"] for row in csv.DictReader(handle)}
    served = Served(root / "course.toml", root / "data", BEFORE_DUE)
    yield {"root": root, "tokens": tokens, "served": served}
    served.stop()


def test_roster_writes_tokens_once_and_keeps_only_hashes(course: dict[str, Any]) -> None:
    """Does `nnlab roster` write one private token per account, store only hashes, and add only new students?"""
    root, tokens = course["root"], course["tokens"]
    assert set(tokens) == set(STUDENTS) | {"instructor"}
    assert oct(os.stat(root / "tokens.csv").st_mode & 0o777) == "0o600"
    stored = sqlite3.connect(root / "data" / "course.sqlite3").execute(
        "SELECT token_hash FROM accounts").fetchall()
    assert not {row[0] for row in stored} & set(tokens.values())
    (root / "more.csv").write_text("student\nada\nzed\n")
    again = nnlab("roster", str(root / "course.toml"), "--data", str(root / "data"),
                  "--import", str(root / "more.csv"), "--tokens-out", str(root / "more-tokens.csv"))
    assert again.returncode == 0, again.stderr
    added = list(csv.DictReader(open(root / "more-tokens.csv")))
    assert [row["student"] for row in added] == ["zed"]
    again = nnlab("roster", str(root / "course.toml"), "--data", str(root / "data"),
                  "--import", str(root / "more.csv"), "--tokens-out", str(root / "more-tokens.csv"))
    assert again.returncode == 2 and "already exists" in again.stderr


def test_tokens_missing_wrong_and_revoked_answer_401(course: dict[str, Any]) -> None:
    """Are a missing, a wrong and a revoked token each refused with 401 on every endpoint?"""
    url, tokens, root = course["served"].url, course["tokens"], course["root"]
    for path in ("/api/v1/assignments", "/api/v1/submissions", "/api/v1/submissions/x",
                 "/api/v1/assignments/hw1/results", "/assignments/hw1/report"):
        assert call(url, "GET", path, None)[0] == 401
        assert call(url, "GET", path, "not-a-token")[0] == 401
    assert call(url, "POST", "/api/v1/submissions", None, upload(SOLUTION))[0] == 401
    assert call(url, "GET", "/api/v1/assignments", tokens["gone"])[0] == 200
    revoked = nnlab("roster", str(root / "course.toml"), "--data", str(root / "data"), "--revoke", "gone")
    assert revoked.returncode == 0, revoked.stderr
    assert call(url, "GET", "/api/v1/assignments", tokens["gone"])[0] == 401


def test_the_api_describes_itself_for_scripts(course: dict[str, Any]) -> None:
    """Do /openapi.json and /docs describe the JSON API an instructor scripts against (and leave
    out the LMS's and the browser's endpoints)?"""
    url = course["served"].url
    status, _, spec = call(url, "GET", "/openapi.json", None)
    assert status == 200 and spec["openapi"].startswith("3.")
    for path in ("/api/v1/assignments", "/api/v1/submissions", "/api/v1/submissions/{submission_id}",
                 "/api/v1/assignments/{assignment_id}/scores.csv",
                 "/api/v1/assignments/{assignment_id}/canvas.csv"):
        assert path in spec["paths"], path
    assert "/lti/launch" not in spec["paths"] and "/login" not in spec["paths"]
    status, _, page = call(url, "GET", "/docs", None)
    assert status == 200 and "/openapi.json" in page


def test_student_flow_through_the_cli(course: dict[str, Any], tmp_path: Path) -> None:
    """login, submit (waiting), status and collect: does each do what a student and instructor expect?"""
    url, tokens = course["served"].url, course["tokens"]
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    login = nnlab("login", url, "--token", tokens["ada"], env=env)
    assert login.returncode == 0, login.stderr
    assert oct(os.stat(tmp_path / "config" / "nnlab" / "config.toml").st_mode & 0o777) == "0o600"
    work = tmp_path / "work"
    work.mkdir()
    (work / "leaky_relu.py").write_bytes(SOLUTION["leaky_relu.py"])
    submitted = nnlab("submit", str(work), "--assignment", "hw1", env=env)
    assert submitted.returncode == 0, submitted.stderr
    out = submitted.stdout
    # my_linear was not handed in
    assert "leaky_relu: 2/2" in out
    assert "7 hidden checks count toward your grade; their results are shown after the deadline" in out
    assert HIDDEN_NAME not in out and "my_linear: not submitted" in out
    assert "Score on the checks shown: 2/4" in out
    status = nnlab("status", "--assignment", "hw1", env=env)
    assert status.returncode == 0 and "2/4 (7 hidden checks" in status.stdout
    assert "49 attempt(s) left" in status.stdout
    collected = nnlab("collect", "--assignment", "hw1", "--out", str(tmp_path / "class"),
                      env={**env, "NNLAB_TOKEN": tokens["instructor"]})
    assert collected.returncode == 0, collected.stderr
    assert (tmp_path / "class" / "ada" / "leaky_relu.py").read_bytes() == SOLUTION["leaky_relu.py"]
    assert list((tmp_path / "class" / "ben").iterdir()) == []  # on the roster, nothing handed in
    refused = nnlab("collect", "--assignment", "hw1", "--out", str(tmp_path / "c2"), env=env)
    assert refused.returncode == 2 and "instructor's token" in refused.stderr


def test_another_students_submission_is_indistinguishable_from_none(course: dict[str, Any]) -> None:
    """Does reading another student's submission id answer exactly like an unknown id?"""
    url, tokens = course["served"].url, course["tokens"]
    status, _, accepted = call(url, "POST", "/api/v1/submissions", tokens["cy"], upload(SOLUTION))
    assert status == 202 and len(accepted["id"]) >= 20
    mine = call(url, "GET", f"/api/v1/submissions/{accepted['id']}", tokens["cy"])
    assert mine[0] == 200 and mine[2]["student"] == "cy"
    other = call(url, "GET", f"/api/v1/submissions/{accepted['id']}", tokens["dee"])
    unknown = call(url, "GET", "/api/v1/submissions/no-such-id-at-all-123456", tokens["dee"])
    assert other[0] == unknown[0] == 404 and other[2] == unknown[2]
    assert call(url, "GET", f"/api/v1/submissions/{accepted['id']}/files", tokens["dee"])[0] == 404
    assert call(url, "GET", f"/submissions/{accepted['id']}", tokens["dee"])[0] == 404
    listed = call(url, "GET", "/api/v1/submissions", tokens["dee"])[2]
    assert all(s["student"] == "dee" for s in listed)


@pytest.mark.parametrize("raw, fragment", [
    (b"{not json", "not JSON"),
    (json.dumps({"assignment": "quiz", "files": [{"name": "leaky_relu.py", "content": "%%%"}]}).encode(),
     "leaky_relu.py: content is not valid base64"),
    (json.dumps(upload({"leaky_relu.py": b"\xff\xfe bad"}, "quiz")).encode(), "is not UTF-8 text"),
    (json.dumps(upload({"leaky_relu.py": b"def f(:\n"}, "quiz")).encode(), "does not parse as Python"),
    (json.dumps(upload({"my_linear.py": b"x = 1\n", "notes.txt": b"hi"}, "quiz")).encode(),
     "my_linear.py: is not a file of quiz"),
    (json.dumps({"assignment": "quiz", "files": "leaky_relu.py"}).encode(), "expected {"),
])
def test_an_upload_that_cannot_be_graded_costs_no_attempt(course: dict[str, Any], raw: bytes,
                                                          fragment: str) -> None:
    """Is a malformed upload a 422 naming what is wrong, with the attempts left unchanged?"""
    url, token = course["served"].url, course["tokens"]["s20"]

    def left() -> int:
        return next(a for a in call(url, "GET", "/api/v1/assignments", token)[2]
                    if a["id"] == "quiz")["attempts_left"]

    before = left()
    status, _, body = call(url, "POST", "/api/v1/submissions", token, raw=raw)
    assert status == 422 and fragment in body["detail"]
    assert left() == before == 3


def test_oversize_and_unknown_uploads(course: dict[str, Any]) -> None:
    """Are an oversize body and too many files 413, and an unknown assignment 404?"""
    url, token = course["served"].url, course["tokens"]["s19"]
    from nnlab.course.uploads import MAX_BODY_BYTES

    huge = upload({"leaky_relu.py": b"#" * (MAX_BODY_BYTES * 3 // 4 + 10)})
    assert call(url, "POST", "/api/v1/submissions", token, huge)[0] == 413
    many = {"assignment": "hw1", "files": [{"name": f"f{i}.py", "content": ""} for i in range(40)]}
    assert call(url, "POST", "/api/v1/submissions", token, many)[0] == 413
    assert call(url, "POST", "/api/v1/submissions", token, upload(SOLUTION, "hw9"))[0] == 404
    assert call(url, "POST", "/api/v1/submissions", course["tokens"]["instructor"], upload(SOLUTION))[0] == 403


def test_the_rate_limit_holds_under_concurrent_uploads(course: dict[str, Any], tmp_path: Path) -> None:
    """With 3 uploads an hour, do 10 simultaneous uploads give exactly 3 accepted and 7 x 429 with Retry-After?"""
    url, token = course["served"].url, course["tokens"]["ben"]
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: call(url, "POST", "/api/v1/submissions", token,
                                                upload(SOLUTION, "quiz")), range(10)))
    statuses = sorted(a[0] for a in answers)
    assert statuses == [202] * 3 + [429] * 7
    waits = [int(a[1]["retry-after"] if "retry-after" in a[1] else a[1]["Retry-After"])
             for a in answers if a[0] == 429]
    assert all(3500 <= w <= 3600 for w in waits), waits
    assert sorted(a[2]["attempts_left"] for a in answers if a[0] == 202) == [0, 1, 2]
    env = {"NNLAB_SERVER": url, "NNLAB_TOKEN": token, "XDG_CONFIG_HOME": str(tmp_path)}
    (tmp_path / "leaky_relu.py").write_bytes(SOLUTION["leaky_relu.py"])
    cli = nnlab("submit", str(tmp_path / "leaky_relu.py"), "--assignment", "quiz", env=env)
    assert cli.returncode == 2 and "Traceback" not in cli.stderr
    assert re.search(r"try again in (59|60) min", cli.stderr), cli.stderr


def test_client_errors_are_one_line(course: dict[str, Any], tmp_path: Path) -> None:
    """Do a wrong token, an unreachable server and a missing login each give one line and exit 2?"""
    (tmp_path / "leaky_relu.py").write_bytes(SOLUTION["leaky_relu.py"])
    env = {"XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    wrong = nnlab("login", course["served"].url, "--token", "nope", env=env)
    assert wrong.returncode == 2 and "refused your token" in wrong.stderr
    assert not (tmp_path / "cfg" / "nnlab" / "config.toml").exists()
    away = nnlab("submit", str(tmp_path / "leaky_relu.py"), "--assignment", "hw1",
                 env={**env, "NNLAB_SERVER": f"http://127.0.0.1:{free_port()}", "NNLAB_TOKEN": "x"})
    assert away.returncode == 2 and "cannot reach the course server" in away.stderr
    nobody = nnlab("status", env=env)
    assert nobody.returncode == 2 and "nnlab login" in nobody.stderr
    for result in (wrong, away, nobody):
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


@pytest.mark.slow
def test_twenty_students_at_once_no_row_lost(course: dict[str, Any]) -> None:
    """Are 20 simultaneous uploads from 20 students all accepted, stored once and graded once?"""
    url, tokens = course["served"].url, course["tokens"]
    students = [f"s{i:02d}" for i in range(1, 21)]
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda s: call(url, "POST", "/api/v1/submissions", tokens[s],
                                                upload(SOLUTION)), students))
    assert [a[0] for a in answers] == [202] * 20
    ids = [a[2]["id"] for a in answers]
    assert len(set(ids)) == 20
    graded = wait_graded(course["served"], tokens["instructor"], ids)
    assert [g["student"] for g in graded] == students
    assert all(g["status"] == "done" and g["score"] == 10 for g in graded)
    rows = sqlite3.connect(course["root"] / "data" / "course.sqlite3").execute(
        f"SELECT graded FROM submissions WHERE id IN ({','.join('?' * 20)})", ids).fetchall()
    assert sorted(r[0] for r in rows) == [1] * 20
    results = call(url, "GET", "/api/v1/assignments/hw1/results", tokens["instructor"])[2]
    assert {r["student"] for r in results if r["submission_id"]} >= set(students)


@pytest.mark.slow
def test_late_then_closed_by_the_servers_clock(course: dict[str, Any], tmp_path: Path) -> None:
    """Two started days late: is 20% taken off what is shown and exported; after late_until, 403?"""
    toml = course["root"] / "course.toml"
    tokens = add_accounts(tmp_path / "data")
    served = Served(toml, tmp_path / "data", LATE)
    try:
        status, _, accepted = call(served.url, "POST", "/api/v1/submissions", tokens["ada"],
                                   upload(SOLUTION))
        assert status == 202 and accepted["late_days"] == 2
        sub = wait_graded(served, tokens["ada"], [accepted["id"]])[0]
        assert sub["result"]["raw_score"] == 10 and sub["score"] == pytest.approx(8.0)
        assert HIDDEN_NAME in json.dumps(sub)  # past the due date, hidden checks are shown
        page = call(served.url, "GET", f"/submissions/{accepted['id']}", tokens["ada"])[2]
        assert HIDDEN_NAME in page and "late penalty 20%" in page
        results = call(served.url, "GET", "/api/v1/assignments/hw1/results", tokens["instructor"])[2]
        ada = next(r for r in results if r["student"] == "ada")
        assert ada["score"] == pytest.approx(8.0) and ada["raw_score"] == 10 and ada["late_days"] == 2
        csv_text = call(served.url, "GET", "/api/v1/assignments/hw1/scores.csv", tokens["instructor"])[2]
        assert "ada,8.0,0.0,8.0" in csv_text
        report = call(served.url, "GET", "/assignments/hw1/report", tokens["instructor"])[2]
        assert "<html" in report.lower() and "ada" in report
    finally:
        served.stop()
    served = Served(toml, tmp_path / "data", CLOSED)
    try:
        status, _, body = call(served.url, "POST", "/api/v1/submissions", tokens["ben"], upload(SOLUTION))
        assert status == 403 and "closed" in body["detail"]
        (tmp_path / "leaky_relu.py").write_bytes(SOLUTION["leaky_relu.py"])
        cli = nnlab("submit", str(tmp_path / "leaky_relu.py"), "--assignment", "hw1",
                    env={"NNLAB_SERVER": served.url, "NNLAB_TOKEN": tokens["ben"],
                         "XDG_CONFIG_HOME": str(tmp_path)})
        assert cli.returncode == 2 and "closed" in cli.stderr
    finally:
        served.stop()


@pytest.mark.slow
def test_a_killed_server_grades_every_accepted_upload_exactly_once(course: dict[str, Any],
                                                                    tmp_path: Path) -> None:
    """SIGKILL with uploads queued and one running, then restart: is each graded exactly once?"""
    toml, data = course["root"] / "course.toml", tmp_path / "data"
    tokens = add_accounts(data)
    served = Served(toml, data, BEFORE_DUE)
    db = data / "course.sqlite3"
    try:
        students = ["ada", "ben", "cy", "dee", "s01", "s02"]
        ids = [call(served.url, "POST", "/api/v1/submissions", tokens[s], upload(SOLUTION))[2]["id"]
               for s in students]
        deadline = time.monotonic() + 120
        while not sqlite3.connect(db).execute("SELECT 1 FROM submissions WHERE status = 'running'").fetchall():
            assert time.monotonic() < deadline, "grading never started"
            time.sleep(0.05)
    finally:
        served.stop(signal.SIGKILL)
    states = dict(sqlite3.connect(db).execute("SELECT id, status FROM submissions").fetchall())
    assert set(states) == set(ids) and "queued" in states.values()
    served = Served(toml, data, BEFORE_DUE)
    try:
        graded = wait_graded(served, tokens["instructor"], ids)
    finally:
        served.stop()
    assert all(g["status"] == "done" and g["score"] == 10 for g in graded)
    counts = sqlite3.connect(db).execute("SELECT graded FROM submissions").fetchall()
    assert sorted(c[0] for c in counts) == [1] * len(ids)


@pytest.mark.slow
def test_collected_class_feeds_nnlab_grade(course: dict[str, Any], tmp_path: Path) -> None:
    """Does `nnlab grade` take the folder `nnlab collect` wrote, unchanged?"""
    tokens = course["tokens"]
    call(course["served"].url, "POST", "/api/v1/submissions", tokens["dee"], upload(SOLUTION))
    env = {"NNLAB_SERVER": course["served"].url, "NNLAB_TOKEN": tokens["instructor"],
           "XDG_CONFIG_HOME": str(tmp_path)}
    deadline = time.monotonic() + 120
    while not any(r["student"] == "dee" and r["submission_id"] for r in call(
            course["served"].url, "GET", "/api/v1/assignments/hw1/results", tokens["instructor"])[2]):
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert nnlab("collect", "--assignment", "hw1", "--out", str(tmp_path / "class"), env=env).returncode == 0
    graded = nnlab("grade", str(tmp_path / "class"), "--out", str(tmp_path / "out"), "--workers", "1",
                   "--exercises", "leaky_relu,my_linear", env=env)
    assert graded.returncode == 0, graded.stderr
    scores = {row["student"]: row for row in csv.DictReader(open(tmp_path / "out" / "scores.csv"))}
    assert float(scores["dee"]["leaky_relu"]) == 10


def test_a_notebook_named_after_the_exercise_is_graded(course: dict[str, Any]) -> None:
    """Is leaky_relu.ipynb accepted and graded like leaky_relu.py, and a broken notebook refused?"""
    url, token = course["served"].url, course["tokens"]["s18"]
    source = SOLUTION["leaky_relu.py"].decode()
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "# LeakyReLU"},
        {"cell_type": "code", "metadata": {}, "execution_count": 1, "outputs": [], "source": source}]}
    broken = call(url, "POST", "/api/v1/submissions", token, upload({"leaky_relu.ipynb": b"{cells"}))
    assert broken[0] == 422 and "leaky_relu.ipynb: is not a Jupyter notebook" in broken[2]["detail"]
    status, _, accepted = call(url, "POST", "/api/v1/submissions", token,
                               upload({"leaky_relu.ipynb": json.dumps(notebook).encode()}))
    assert status == 202
    graded = wait_graded(course["served"], token, [accepted["id"]])[0]
    scores = {e["id"]: e["score"] for e in graded["result"]["exercises"]}
    assert graded["status"] == "done" and scores == {"leaky_relu": 2, "my_linear": 0}
