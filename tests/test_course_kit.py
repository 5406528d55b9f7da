"""The student kit installed in a virtual environment of its own: no answers inside, and it still works."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons only
    import tomli as tomllib

import pytest

from test_course_server import ROOT, SOLUTION, call, course, nnlab  # noqa: F401 - `course` is a fixture

pytestmark = pytest.mark.slow


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None,
        stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    # Run outside the repository, and without a PYTHONPATH the suite may run under, so the
    # working copy of nnlab cannot be imported by accident: a student's machine has only the kit.
    inherited = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd, timeout=600, input=stdin,
                          env={**inherited, **(env or {})})


def kit_venv(venv: Path, cwd: Path) -> Path:
    """A virtual environment of its own whose Python also sees, after its own packages, the ones
    this suite's Python sees (torch, click, ...): however that Python was installed (system,
    pyenv, a venv with or without system packages), the kit's dependencies are there without a
    download. Directories named in a .pth file are added as they are: their own .pth files (an
    editable nnlab) are not run, so the only nnlab is the kit's. The venv's python."""
    made = run([sys.executable, "-m", "venv", str(venv)], cwd)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    own = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                   cwd).stdout.strip())
    seen = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages") and Path(p).is_dir()]
    (own / "zz-nnlab-test-suite-packages.pth").write_text("\n".join(seen) + "\n", encoding="utf-8")
    return python


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
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    # The kit's `nnlab` is the same program as an install's: `nnlab.cli:main` was once there,
    # which never counted as the program, so students' kits never had a warm grader.
    assert zipfile.ZipFile(wheel).read(entry_points).decode() == f"[console_scripts]\nnnlab = {scripts['nnlab']}\n"
    assert not [n for n in names if "solutions/" in n or "test_hidden" in n or "test_timing" in n
                or "/demo/" in n or n.endswith(".pyc") or "solution" in n or "course_templates/" in n]

    venv = tmp_path / "venv"
    python, kit_nnlab = kit_venv(venv, tmp_path), venv / "bin" / "nnlab"
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
    # A kit's `nnlab submit PATH` runs no hidden check: the student is sent to the upload.
    assert "graded by the course server" in checked.stdout and "`nnlab submit`" not in checked.stdout
    assert "nnlab submit PATH --assignment ID" in checked.stdout
    verify = run([str(kit_nnlab), "verify"], tmp_path, env)
    assert verify.returncode == 2 and "student kit" in verify.stderr and "Traceback" not in verify.stderr

    submitted = run([str(kit_nnlab), "submit", "work/leaky_relu.py", "--assignment", "hw1", "--no-wait"],
                    tmp_path, env)
    assert submitted.returncode == 0 and "Uploaded leaky_relu.py to hw1" in submitted.stdout, \
        submitted.stderr
    # A kit released without --server, and no login: a local submit runs the public checks only.
    kit_file = package / "kit.toml"
    kit_file.write_text(kit_file.read_text().replace(f'server = "{url}"', 'server = ""'))
    local = run([str(kit_nnlab), "submit", "work/leaky_relu.py"], tmp_path,
                {"XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert local.returncode == 0 and "only the public checks ran" in local.stdout, local.stderr
    kit_file.write_text(kit_file.read_text().replace('server = ""', f'server = "{url}"'))
    _the_kit_as_a_course_sees_it(course, tmp_path, kit_nnlab)


def _the_kit_as_a_course_sees_it(course: dict[str, Any], tmp_path: Path, kit_nnlab: Path) -> None:
    """The same installed kit: how to install it, what list, login, submit and status show."""
    url, token = course["served"].url, course["tokens"]["ben"]
    kit = tmp_path / "kit"
    pin = re.search(r"^torch==(\S+)$", (ROOT / "constraints.txt").read_text(), re.M).group(1)
    assert re.search(rf"^torch=={re.escape(pin)}$", (kit / "constraints.txt").read_text(), re.M)
    readme = (kit / "README.txt").read_text()
    wheel = next(kit.glob("nnlab-*.whl")).name
    assert f"python -m pip install torch=={pin} --index-url https://download.pytorch.org/whl/cpu" in readme
    assert f"python -m pip install -c constraints.txt {wheel}" in readme and "--token" not in readme

    doctor = run([str(kit_nnlab), "doctor"], tmp_path)
    assert doctor.returncode == 0 and re.search(r"torch \S+, (CPU|CUDA \S+) build", doctor.stdout)

    listed = run([str(kit_nnlab), "list"], tmp_path).stdout
    assert "hw1: Layers" in listed and "quiz: A quick one" in listed, listed
    assert "due 2026-12-10 23:59 (+08:00), accepted late until 2026-12-13 23:59 (+08:00)" in listed
    assert "batch_norm" not in listed and "more exercises for practice" in listed
    assert "batch_norm" in run([str(kit_nnlab), "list", "--all"], tmp_path).stdout

    env = {"XDG_CONFIG_HOME": str(tmp_path / "ben")}
    login = run([str(kit_nnlab), "login", url], tmp_path, env, stdin=token + "\n")
    assert login.returncode == 0 and token not in login.stdout + login.stderr, login.stderr
    before = call(url, "GET", "/api/v1/submissions", token)[2]
    local = run([str(kit_nnlab), "submit", "work/leaky_relu.py"], tmp_path, env)
    assert local.returncode == 0, local.stderr
    assert "only the public checks ran" in local.stdout and "Nothing was uploaded" in local.stdout
    assert call(url, "GET", "/api/v1/submissions", token)[2] == before == []
    sent = run([str(kit_nnlab), "submit", "work", "--assignment", "quiz", "--no-wait"], tmp_path, env)
    assert sent.returncode == 0, sent.stderr
    status = run([str(kit_nnlab), "status", "--assignment", "quiz"], tmp_path, env)
    assert status.returncode == 0 and "your best upload on all checks counts" in status.stdout, status.stdout
