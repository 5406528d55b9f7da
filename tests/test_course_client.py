"""The student's side of a course: login without the token in argv, submit that uploads only when
told, the question before an upload drops exercises, which upload counts, doctor, course.toml."""
from __future__ import annotations

import fcntl
import os
import re
import select
import subprocess
import sys
import termios
from pathlib import Path
from typing import Any

import pytest

from test_course_server import ROOT, SOLUTION, call, course, nnlab, wait_graded  # noqa: F401 - a fixture

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons only
    import tomli as tomllib

EXERCISES = ROOT / "nnlab" / "exercises"
STUBS = {name: (EXERCISES / name.removesuffix(".py") / "stub.py").read_bytes()
         for name in ("leaky_relu.py", "my_linear.py")}
"""What the question before an upload is about is which files, not what they score: stubs grade fast."""


def on_a_terminal(args: list[str], env: dict[str, str], prompt: bytes, answer: str,
                  stdin_answer: bool = True) -> tuple[int, str]:
    """Runs `nnlab ARGS` with a pseudo-terminal as its controlling terminal (what getpass and
    click.confirm ask on); types ANSWER after PROMPT appears. (exit code, everything shown)."""
    master, slave = os.openpty()

    def take_terminal() -> None:  # after setsid: the pty becomes this session's terminal
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    process = subprocess.Popen([sys.executable, "-m", "nnlab.cli", *args], stdin=slave, stdout=slave,
                               stderr=slave, env={**os.environ, **env}, start_new_session=True,
                               preexec_fn=take_terminal)
    os.close(slave)
    shown, sent = b"", False
    try:
        while select.select([master], [], [], 180)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the program ended and closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            if not sent and prompt in shown:
                os.write(master, answer.encode() + b"\n")
                sent = True
        return process.wait(60), shown.decode("utf-8", "replace")
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
            process.wait()


def my_submissions(url: str, token: str, assignment: str = "hw1") -> list[dict[str, Any]]:
    status, _, listed = call(url, "GET", f"/api/v1/submissions?assignment={assignment}", token)
    assert status == 200, listed
    return listed


def test_login_takes_the_token_from_a_prompt_stdin_or_a_file(course: dict[str, Any], tmp_path: Path) -> None:
    """Does `nnlab login URL` ask without echo on a terminal, read stdin otherwise, or --token-file,
    save the file for the user only, and keep --token out of --help?"""
    url, token = course["served"].url, course["tokens"]["dee"]
    config = tmp_path / "config" / "nnlab" / "config.toml"
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    piped = subprocess.run([sys.executable, "-m", "nnlab.cli", "login", url], input=token + "\n",
                           capture_output=True, text=True, env={**os.environ, **env}, timeout=120)
    assert piped.returncode == 0, piped.stderr
    assert f'token = "{token}"' in config.read_text() and oct(config.stat().st_mode & 0o777) == "0o600"
    assert token not in piped.stdout + piped.stderr
    config.unlink()
    (tmp_path / "token.txt").write_text(token + "\n")
    from_file = nnlab("login", url, "--token-file", str(tmp_path / "token.txt"), env=env)
    assert from_file.returncode == 0, from_file.stderr
    assert f'token = "{token}"' in config.read_text() and oct(config.stat().st_mode & 0o777) == "0o600"
    config.unlink()
    code, shown = on_a_terminal(["login", url], env, b"Token for", token)
    assert code == 0, shown
    assert "Logged in to" in shown and token not in shown  # typed, never echoed
    assert f'token = "{token}"' in config.read_text() and oct(config.stat().st_mode & 0o777) == "0o600"
    empty = subprocess.run([sys.executable, "-m", "nnlab.cli", "login", url], input="",
                           capture_output=True, text=True, env={**os.environ, **env}, timeout=120)
    assert empty.returncode == 2 and "no token" in empty.stderr and "Traceback" not in empty.stderr
    helped = nnlab("login", "--help")
    assert "--token-file" in helped.stdout and "--token " not in helped.stdout
    assert "--token" not in nnlab("--help").stdout


@pytest.mark.slow
def test_submit_without_assignment_uploads_nothing(course: dict[str, Any], tmp_path: Path) -> None:
    """Logged in, does `nnlab submit FILE` (no --assignment) grade here and leave the server untouched?"""
    url, token = course["served"].url, course["tokens"]["s01"]
    env = {"XDG_CONFIG_HOME": str(tmp_path), "NNLAB_SERVER": url, "NNLAB_TOKEN": token}
    # Only hw1 holds my_linear: before, submit picked hw1 by itself and uploaded.
    (tmp_path / "my_linear.py").write_bytes(STUBS["my_linear.py"])
    before = next(a for a in call(url, "GET", "/api/v1/assignments", token)[2] if a["id"] == "hw1")
    local = nnlab("submit", str(tmp_path / "my_linear.py"), env=env)
    assert local.returncode == 0, local.stderr
    assert "my_linear: 0/10" in local.stdout and "Uploaded" not in local.stdout + local.stderr
    after = next(a for a in call(url, "GET", "/api/v1/assignments", token)[2] if a["id"] == "hw1")
    assert my_submissions(url, token) == [] and after["attempts_left"] == before["attempts_left"]


def test_an_upload_that_drops_an_exercise_asks_first(course: dict[str, Any], tmp_path: Path) -> None:
    """With counts = "last", is an upload lacking an exercise of the counted one named and refused
    without a terminal, declined at the prompt, and sent only with --yes (or a yes)?"""
    url, token = course["served"].url, course["tokens"]["s02"]
    env = {"XDG_CONFIG_HOME": str(tmp_path), "NNLAB_SERVER": url, "NNLAB_TOKEN": token}
    whole, part = tmp_path / "whole", tmp_path / "part"
    for folder, names in ((whole, STUBS), (part, {"leaky_relu.py": STUBS["leaky_relu.py"]})):
        folder.mkdir()
        for name, data in names.items():
            (folder / name).write_bytes(data)
    first = nnlab("submit", str(whole), "--assignment", "hw1", "--no-wait", env=env)
    assert first.returncode == 0, first.stderr
    assert len(my_submissions(url, token)) == 1
    no_tty = subprocess.run([sys.executable, "-m", "nnlab.cli", "submit", str(part), "--assignment", "hw1",
                             "--no-wait"], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            env={**os.environ, **env}, timeout=120)
    assert no_tty.returncode == 2 and "my_linear" in no_tty.stderr and "--yes" in no_tty.stderr
    assert len(no_tty.stderr.strip().splitlines()) == 1 and "Traceback" not in no_tty.stderr
    assert len(my_submissions(url, token)) == 1
    code, shown = on_a_terminal(["submit", str(part), "--assignment", "hw1", "--no-wait"], env,
                                b"Upload anyway?", "n")
    assert code == 1 and "lacks my_linear" in shown and "Nothing uploaded" in shown, shown
    assert len(my_submissions(url, token)) == 1
    code, shown = on_a_terminal(["submit", str(part), "--assignment", "hw1", "--no-wait"], env,
                                b"Upload anyway?", "y")
    assert code == 0 and "Uploaded leaky_relu.py to hw1" in shown, shown
    assert len(my_submissions(url, token)) == 2
    # The newest upload now holds leaky_relu only: the same again asks nothing.
    again = nnlab("submit", str(part), "--assignment", "hw1", "--no-wait", env=env)
    assert again.returncode == 0, again.stderr
    forced = nnlab("submit", str(whole), "--assignment", "hw1", "--no-wait", env=env)
    assert forced.returncode == 0, forced.stderr
    scripted = subprocess.run([sys.executable, "-m", "nnlab.cli", "submit", str(part), "--assignment",
                               "hw1", "--no-wait", "--yes"], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, env={**os.environ, **env}, timeout=120)
    assert scripted.returncode == 0 and "Uploaded leaky_relu.py to hw1" in scripted.stdout, scripted.stderr
    assert len(my_submissions(url, token)) == 5


@pytest.mark.slow
def test_status_marks_the_upload_that_counts(course: dict[str, Any], tmp_path: Path) -> None:
    """Does `nnlab status` mark the last graded upload for counts = "last", and say for counts = "best"
    with hidden checks withheld that which one counts is not shown (it would tell the hidden scores)?"""
    url, token = course["served"].url, course["tokens"]["s03"]
    env = {"XDG_CONFIG_HOME": str(tmp_path), "NNLAB_SERVER": url, "NNLAB_TOKEN": token}
    (tmp_path / "leaky_relu.py").write_bytes(SOLUTION["leaky_relu.py"])
    ids = []
    for assignment in ("hw1", "hw1", "quiz"):
        sent = nnlab("submit", str(tmp_path / "leaky_relu.py"), "--assignment", assignment, "--no-wait",
                     "--yes", env=env)
        assert sent.returncode == 0, sent.stderr
        ids.append(re.search(r"submission (\S+?)[,.]", sent.stdout).group(1))
    wait_graded(course["served"], token, ids)
    status = nnlab("status", env=env)
    assert status.returncode == 0, status.stderr
    lines = {i: next(line for line in status.stdout.splitlines() if i in line) for i in ids}
    assert lines[ids[1]].endswith("<- counts") and "counts" not in lines[ids[0]], status.stdout
    assert "your last graded upload counts" in status.stdout
    assert "counts" not in lines[ids[2]] and "so neither is which upload" in status.stdout


def test_which_upload_counts_follows_the_server_rule() -> None:
    """With every check shown, is the best upload the best score after the penalty, the later on a tie,
    and for counts = "last" does a queued upload stand for what an upload would replace?"""
    from nnlab.course.client import counted_submission
    from nnlab.course.schemas import AssignmentInfo, Submission

    view = {"student": "s", "score": 0, "max_score": 0, "raw_score": 0, "late_days": 0, "late_penalty": 0,
            "hidden_checks": 0, "hidden_note": "", "exercises": [], "confinement": "", "device": "",
            "nnlab_version": "", "graded_at": ""}

    def sub(ident: str, score: float | None, files: list[str], status: str = "done") -> Submission:
        return Submission.model_validate({
            "id": ident, "student": "s", "assignment": "a", "status": status, "submitted_at": "", "late_days": 0,
            "files": files, "result": view if status == "done" else None, "score": score, "max_score": None})

    def assignment(counts: str, hidden_feedback: str = "after_due") -> AssignmentInfo:
        return AssignmentInfo(id="a", title="", exercises=[], due="", late_until="", late_penalty_per_day=0,
                              attempts_per_hour=0, counts=counts, hidden_feedback=hidden_feedback, closed=False,
                              late_days_now=0)

    subs = [sub("1", 5.0, ["x.py", "y.py"]), sub("2", 7.0, ["x.py"]), sub("3", 7.0, ["y.py"]),
            sub("4", None, ["z.py"], "queued")]
    best = counted_submission(assignment("best", "immediate"), subs)
    assert (best.submission_id, best.known, best.holds) == ("3", True, frozenset({"y"}))
    last = counted_submission(assignment("last"), subs + [sub("5", None, ["w.py"], "error")])
    assert (last.submission_id, last.holds) == ("3", frozenset({"z"}))
    withheld = counted_submission(assignment("best", "never"), subs)
    assert (withheld.submission_id, withheld.known, withheld.holds) == (None, False, frozenset({"x", "y"}))


def test_doctor_says_which_torch_build_and_how_to_get_the_right_one(monkeypatch) -> None:
    """Does doctor name the torch build, and give the CPU-index command for a CUDA build on a machine
    without an NVIDIA GPU (and the CUDA index for a CPU build beside one)?"""
    import torch

    from nnlab.commands import doctor

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", "12.8")
    monkeypatch.setattr(doctor, "nvidia_present", lambda: False)
    advice = dict(doctor.torch_rows("en"))["doctor.torch"].splitlines()
    release = torch.__version__.split("+")[0]
    assert advice[0] == torch.__version__ and "CUDA 12.8 build" in advice[1]
    assert f"pip install torch=={release} --index-url https://download.pytorch.org/whl/cpu" in advice[1]
    monkeypatch.setattr(torch.version, "cuda", None)
    assert "CPU build: the right one" in dict(doctor.torch_rows("en"))["doctor.torch"]
    monkeypatch.setattr(doctor, "nvidia_present", lambda: True)
    assert "whl/cuXXX" in dict(doctor.torch_rows("en"))["doctor.torch"]


def test_the_example_course_toml_loads_and_names_every_key() -> None:
    """Does docs/course.toml load with the real loader, set every key the loader knows, give each
    a default (or say it is required), and do the stated defaults match the loader's?"""
    from nnlab.course import config

    path = ROOT / "docs" / "course.toml"
    course_ = config.load_course(path)
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert set(data["course"]) == config._COURSE_KEYS
    assert set(data["assignment"][0]) == config._ASSIGNMENT_KEYS
    documented: dict[str, str | None] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        found = re.match(r"(\w+)\s*=[^#]*#(.*)$", line)
        if found and found.group(1) not in documented:
            default = re.search(r"\(default: (.+)\)\s*$", found.group(2))
            assert default or "required" in found.group(2), f"no default stated: {line}"
            documented[found.group(1)] = default.group(1) if default else None
    assert set(documented) == config._COURSE_KEYS | config._ASSIGNMENT_KEYS
    minimal = course_.assignments[-1]  # the required keys only
    assert minimal.title == minimal.id and minimal.late_until == minimal.due
    for key, default in documented.items():
        if default is None or key not in config._ASSIGNMENT_KEYS:
            continue
        try:
            value = tomllib.loads(f"v = {default}")["v"]
        except tomllib.TOMLDecodeError:  # said in words ("the id"), checked above
            continue
        assert getattr(minimal, key) == value, key
    assert course_.assignments[0].late_penalty_per_day == 0.10
