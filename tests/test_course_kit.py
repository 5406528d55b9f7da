"""The student kit installed in a fresh virtual environment: no answers inside, and it still works."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from test_course_server import SOLUTION, course, nnlab  # noqa: F401 - `course` is a fixture

pytestmark = pytest.mark.slow


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # Run outside the repository, so the working copy of nnlab cannot be imported by accident.
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd, timeout=600,
                          env={**os.environ, **(env or {})})


def test_the_kit_holds_no_answers_and_works(course: dict[str, Any], tmp_path: Path) -> None:
    """Does the released kit lack solutions and hidden checks, yet list, start, check and submit?"""
    url = course["served"].url
    released = nnlab("release", str(course["root"] / "course.toml"), "--out", str(tmp_path / "kit"),
                     "--server", url)
    assert released.returncode == 0, released.stderr
    assert "2 of 2 exercises verified" in released.stdout
    wheel = next((tmp_path / "kit").glob("nnlab-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "nnlab/kit.toml" in names and "nnlab/exercises/leaky_relu/test_public.py" in names
    assert not [n for n in names if "solutions/" in n or "test_hidden" in n or "test_timing" in n
                or "/demo/" in n or n.endswith(".pyc")]

    venv = tmp_path / "venv"
    assert run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], tmp_path).returncode == 0
    python, kit_nnlab = venv / "bin" / "python", venv / "bin" / "nnlab"
    installed = run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                     "--ignore-installed", str(wheel)], tmp_path)
    assert installed.returncode == 0, installed.stderr
    where = run([str(python), "-c", "import nnlab, pathlib; print(pathlib.Path(nnlab.__file__).parent)"],
                tmp_path).stdout.strip()
    package = Path(where)
    assert package.is_relative_to(venv), f"the kit's nnlab is not the one imported: {where}"
    assert not (package / "solutions").exists() and not list(package.rglob("test_hidden.py"))
    assert not list(package.rglob("test_timing.py")) and (package / "kit.toml").is_file()

    env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "NNLAB_TOKEN": course["tokens"]["ada"]}
    listed = run([str(kit_nnlab), "list"], tmp_path, env)
    assert listed.returncode == 0 and "leaky_relu" in listed.stdout
    # The timing check files stay out of the kit, but students still see which are timed.
    lines = {line.split()[0]: line for line in listed.stdout.splitlines() if line.strip()}
    assert "timing" in lines["my_linear"] and "timing" not in lines["leaky_relu"], listed.stdout
    assert run([str(kit_nnlab), "start", "leaky_relu", "--dir", "work"], tmp_path, env).returncode == 0
    (tmp_path / "work" / "leaky_relu.py").write_bytes(SOLUTION["leaky_relu.py"])
    checked = run([str(kit_nnlab), "check", "work/leaky_relu.py"], tmp_path, env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    verify = run([str(kit_nnlab), "verify"], tmp_path, env)
    assert verify.returncode == 2 and "student kit" in verify.stderr and "Traceback" not in verify.stderr

    submitted = run([str(kit_nnlab), "submit", "work/leaky_relu.py", "--assignment", "hw1", "--no-wait"],
                    tmp_path, env)
    assert submitted.returncode == 0 and "Uploaded leaky_relu.py to hw1" in submitted.stdout, \
        submitted.stderr
    # A kit released without --server, and no login: a local submit cannot run hidden checks.
    kit_file = package / "kit.toml"
    kit_file.write_text(kit_file.read_text().replace(f'server = "{url}"', 'server = ""'))
    local = run([str(kit_nnlab), "submit", "work/leaky_relu.py"], tmp_path,
                {"XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert local.returncode == 2 and "student kit" in local.stderr and "Traceback" not in local.stderr
