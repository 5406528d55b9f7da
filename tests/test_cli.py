"""End-to-end CLI behaviour, as a student or instructor sees it."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "nnlab" / "solutions"


def nnlab(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nnlab.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


def test_help_and_list_do_not_import_torch() -> None:
    """Do `nnlab --help` and `nnlab list` answer without importing torch?"""
    code = ("import sys\nfrom click.testing import CliRunner\nfrom nnlab.cli import main\n"
            "r = CliRunner()\nassert r.invoke(main, ['--help']).exit_code == 0\n"
            "out = r.invoke(main, ['list'])\nassert out.exit_code == 0, out.output\n"
            "assert 'Unit 1' in out.output and 'my_linear' in out.output\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_a_misnamed_submission_is_refused_before_torch_is_imported(tmp_path: Path) -> None:
    """Do `check` and `submit` refuse a missing path or a file named after no exercise
    without paying for torch's import (one line, exit 2)?"""
    (tmp_path / "homework.py").write_text("x = 1\n")
    code = ("import sys\nfrom click.testing import CliRunner\nfrom nnlab.cli import main\n"
            "r = CliRunner()\n"
            f"for args in (['submit', {str(tmp_path / 'homework.py')!r}], ['check', {str(tmp_path / 'gone.py')!r}]):\n"
            "    out = r.invoke(main, args)\n"
            "    assert out.exit_code == 2, (args, out.exit_code, out.output)\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "NNLAB_SERVER": "", "XDG_CONFIG_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr


def test_list_groups_by_unit_in_curriculum_order() -> None:
    """Does `nnlab list` show units in order with points and the timing column?"""
    result = nnlab("list")
    assert result.returncode == 0
    units = [line for line in result.stdout.splitlines() if line.startswith("Unit ")]
    numbers = [int(line.split()[1]) for line in units]
    assert numbers == sorted(numbers) and numbers[0] == 1
    assert "pts" in result.stdout


def test_start_writes_stub_and_refuses_to_overwrite(tmp_path: Path) -> None:
    """Does `nnlab start` write ID.py and ID.md, and keep existing work unless --force?"""
    first = nnlab("start", "my_linear", "--dir", str(tmp_path))
    assert first.returncode == 0, first.stderr
    stub = tmp_path / "my_linear.py"
    assert "raise NotImplementedError" in stub.read_text()
    assert (tmp_path / "my_linear.md").exists()
    stub.write_text("# my work\n")
    again = nnlab("start", "my_linear", "--dir", str(tmp_path))
    assert again.returncode == 2 and "already exists" in again.stderr
    assert "Traceback" not in again.stderr
    assert stub.read_text() == "# my work\n"
    forced = nnlab("start", "my_linear", "--dir", str(tmp_path), "--force")
    assert forced.returncode == 0 and "NotImplementedError" in stub.read_text()


@pytest.mark.parametrize("args, fragment", [
    (("start", "no_such_exercise"), "unknown exercise"),
    (("submit", "/no/such/path.py"), "no such file"),
    (("check", "/no/such/folder"), "no such file"),
    (("grade", "/no/such/class", "--out", "/tmp/nnlab-out"), "not a folder"),
    (("verify", "no_such_exercise"), "unknown exercise"),
])
def test_user_mistakes_give_one_line_and_exit_2(args: tuple[str, ...], fragment: str) -> None:
    """Does a user mistake give one clear line on stderr, exit 2, and no traceback?"""
    result = nnlab(*args)
    assert result.returncode == 2, result
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_submit_json_prints_full_marks_for_the_solution(tmp_path: Path) -> None:
    """Does `nnlab submit --json` print only the documented result object, at full marks?"""
    shutil.copy(SOLUTIONS / "my_linear.py", tmp_path / "my_linear.py")
    report = tmp_path / "report.html"
    result = nnlab("submit", str(tmp_path / "my_linear.py"), "--json", "--report", str(report))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["student"] is None
    assert data["score"] == data["max_score"] == 10.0
    (exercise,) = data["exercises"]
    assert exercise["id"] == "my_linear"
    for check in exercise["checks"]:
        assert set(check) >= {"name", "score", "max_score", "outcome", "visibility", "message"}
        assert check["outcome"] == "passed"
    assert {c["visibility"] for c in exercise["checks"]} == {"visible", "hidden"}
    assert isinstance(data["seed"], int)
    assert "my_linear" in report.read_text()


def test_submit_shows_how_close_a_passed_speed_check_came(tmp_path: Path) -> None:
    """Does a student whose code passed the speed check see its ratio, limit and device?"""
    shutil.copy(SOLUTIONS / "my_linear.py", tmp_path / "my_linear.py")
    result = nnlab("submit", str(tmp_path / "my_linear.py"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    (speed,) = [k for k, line in enumerate(lines) if "as fast as nn.Linear" in line]
    assert "PASS" in lines[speed]
    detail = lines[speed + 1].strip()
    assert detail.startswith("ratio ") and "(limit 4x, spread" in detail, detail
    assert " on cpu: " in detail or " on cuda: " in detail, detail


def test_submit_ends_with_nothing_left_behind(tmp_path: Path) -> None:
    """`nnlab submit` ends without torch's slow teardown: is its output still whole, and are
    its scratch folders, fork server and workers all gone when it returns?"""
    shutil.copy(SOLUTIONS / "my_linear.py", tmp_path / "my_linear.py")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    report = tmp_path / "report.html"
    result = subprocess.run([sys.executable, "-m", "nnlab.cli", "submit", str(tmp_path / "my_linear.py"),
                             "--report", str(report)], capture_output=True, text=True, timeout=600,
                            env={**os.environ, "TMPDIR": str(scratch)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"Report: {report}" and report.stat().st_size > 0
    # The machine-wide timing lock files stay (other graders share them), and so does the
    # cache folder torch makes on its first optimizer step; nothing else may.
    kept = ("nnlab-timing.lock", "torchinductor_")
    assert [p.name for p in scratch.iterdir() if not p.name.startswith(kept)] == []
    # The fork server and multiprocessing's resource tracker leave once the grader has gone
    # (asynchronously); a worker left running would not.
    deadline = time.monotonic() + 10
    while (leftovers := _processes_with(str(scratch))) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert leftovers == []


def _processes_with(marker: str) -> list[Path]:
    """The processes whose environment mentions `marker`."""
    return [p for p in Path("/proc").iterdir() if p.name.isdigit() and marker.encode() in _environ_of(p)]


def _environ_of(proc: Path) -> bytes:
    try:
        return (proc / "environ").read_bytes()
    except OSError:
        return b""


def test_check_exits_1_on_the_stub_and_names_the_error(tmp_path: Path) -> None:
    """Does `nnlab check` on the untouched stub fail with a readable message and exit 1?"""
    nnlab("start", "my_linear", "--dir", str(tmp_path))
    result = nnlab("check", str(tmp_path / "my_linear.py"))
    assert result.returncode == 1
    assert "NotImplementedError" in result.stdout
    assert "(hidden)" not in result.stdout


def test_seed_reproduces_a_run(tmp_path: Path) -> None:
    """Does --seed give the same messages twice (same inputs), and record the seed?"""
    bad = ROOT / "tests" / "mutants" / "my_linear" / "weight_not_transposed.py"
    shutil.copy(bad, tmp_path / "my_linear.py")
    runs = [json.loads(nnlab("submit", str(tmp_path / "my_linear.py"), "--json", "--seed", "42").stdout)
            for _ in range(2)]
    assert runs[0]["seed"] == runs[1]["seed"] == 42
    messages = [[c["message"] for c in r["exercises"][0]["checks"]] for r in runs]
    assert messages[0] == messages[1]
    assert runs[0]["score"] < runs[0]["max_score"]
