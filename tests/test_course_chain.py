"""The course chain as CI runs it: nnlab from a wheel, a course nobody on the team wrote, end to end."""
from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_course_kit import kit_venv, run
from test_course_server import ROOT, Served, call, free_port

pytestmark = pytest.mark.slow

EXERCISE = "gelu_tanh"
SOLUTION = '''"""Reference solution for gelu_tanh."""
from __future__ import annotations

import math

import torch


def gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    """GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))."""
    # BEGIN SOLUTION
    inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))
    return 0.5 * x * (1.0 + torch.tanh(inner))
    # END SOLUTION
'''
WRONG_CUBIC = SOLUTION.replace("0.044715 * x.pow(3)", "0.044715 * x.pow(2)")
"""A wrong variant for mutants/: the cubic term squared, every check fails."""
NO_GRADIENT_INSIDE = SOLUTION.replace("torch.tanh(inner)", "torch.tanh(inner.detach())")
"""A student's slip: right values, but the gradient misses the tanh's inside (7 of 10)."""
STATEMENT = """# gelu_tanh — GELU, tanh approximation

Write `gelu_tanh(x)`: `0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3)))`
elementwise. `F.gelu` and `nn.GELU` are not allowed.

## Contract

```python
def gelu_tanh(x: torch.Tensor) -> torch.Tensor: ...
```

- It returns the **tanh approximation of GELU**, elementwise.
- The result is a new tensor of the **same shape and dtype** as `x` (float32 or float64, any layout).
- `x` is **left untouched**.
- **Gradients reach `x`** (autograd, no hand-written backward needed).
"""
CHECKS_PUBLIC = '''"""Public checks for gelu_tanh."""
from __future__ import annotations

import math

import torch

from nnlab.grader.checks import assert_close, randn


def reference(x: torch.Tensor) -> torch.Tensor:
    """The contract in float64, in the grader."""
    x = x.double()
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def test_values(sub):
    """Does gelu_tanh match the tanh approximation on values around 0?"""
    x = randn(4, 5, scale=2.0)
    assert_close(sub.gelu_tanh(x), reference(x).float(), "gelu_tanh(x)", family="normal, scale 2")
'''
CHECKS_HIDDEN = '''"""Hidden checks for gelu_tanh."""
from __future__ import annotations

import torch

from nnlab.grader.checks import CheckFailed, assert_close, audited_call, noncontig, randn, vjp

from .test_public import reference


def test_dtypes_and_layout(sub):
    """Does gelu_tanh keep float64, shape and values on a non-contiguous 3-D input?"""
    x = randn(3, 4, 5, scale=3.0, dtype=torch.float64)
    assert_close(sub.gelu_tanh(noncontig(x)), reference(x), "gelu_tanh(x)", family="float64, non-contiguous")


def test_input_unchanged(sub):
    """Does gelu_tanh leave x as it was?"""
    x = randn(6, 3)
    assert_close(audited_call(sub.gelu_tanh, (x,), names=("x",)), reference(x).float(), "gelu_tanh(x)")


def test_gradients(sub):
    """Is the gradient of gelu_tanh the derivative of the approximation (float64)?"""
    x = randn(30, dtype=torch.float64, scale=2.0)
    grad_out = randn(30, dtype=torch.float64)
    _, (grad,), _ = vjp(sub.gelu_tanh, [x], [grad_out])
    if grad is None:
        raise CheckFailed("gelu_tanh(x): no gradient reached x")
    leaf = x.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(reference(leaf), leaf, grad_out)
    assert_close(grad, expected, "gradient of gelu_tanh(x)", family="float64")
'''
POINTS = {"test_values": 3, "test_dtypes_and_layout": 2, "test_input_unchanged": 2, "test_gradients": 3}
RULES = """[[rule]]
kind = "contract"
anchor = "It returns the **tanh approximation of GELU**, elementwise."
checks = ["test_values", "test_dtypes_and_layout"]

[[rule]]
kind = "contract"
anchor = "**same shape and dtype** as `x`"
checks = ["test_dtypes_and_layout"]

[[rule]]
kind = "contract"
anchor = "`x` is **left untouched**."
checks = ["test_input_unchanged"]

[[rule]]
kind = "contract"
anchor = "**Gradients reach `x`**"
checks = ["test_gradients"]
"""


def _ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _wheel_venv(tmp: Path) -> Path:
    """A fresh venv with nnlab installed from a wheel of this checkout (torch and the other
    dependencies through test_course_kit's .pth); its bin folder. The checkout is not on its path."""
    # Built from a copy: setuptools leaves build/ in the tree it builds, and a file since deleted
    # there would still go into the next wheel (nor may a test write into the checkout).
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", ".venv", "demo-out"))
    _ok(run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(source),
             "-w", str(tmp / "wheel")], tmp))
    wheel = next((tmp / "wheel").glob("nnlab-*.whl"))
    python = kit_venv(tmp / "venv", tmp)
    _ok(run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed",
             str(wheel)], tmp))
    where = Path(_ok(run([str(python), "-c", "import nnlab; print(nnlab.__file__)"], tmp)).stdout.strip())
    assert where.is_relative_to(tmp / "venv") and not where.is_relative_to(ROOT), where
    return python.parent


def _author(nnlab: Path, tmp: Path) -> Path:
    """`nnlab new course`, then the exercise from its solution, written out until it verifies."""
    _ok(run([str(nnlab), "new", "course", "course"], tmp))
    course = tmp / "course"
    assert (course / "AUTHORING.md").is_file()
    (tmp / "gelu_tanh.py").write_text(SOLUTION)
    _ok(run([str(nnlab), "new", "exercise", EXERCISE, "--from", str(tmp / "gelu_tanh.py")], course))
    folder = course / "exercises" / EXERCISE
    assert "raise NotImplementedError" in (folder / "stub.py").read_text()
    toml = (folder / "exercise.toml").read_text().split("[points]")[0]
    toml = toml.replace(f"{EXERCISE} (TODO: a title)", "GELU, tanh approximation").replace(
        "banned = []", 'banned = ["torch.nn.functional.gelu", "torch.nn.GELU"]')
    (folder / "exercise.toml").write_text(toml + "[points]\n" + "".join(f"{k} = {v}\n" for k, v in POINTS.items()))
    (folder / "statement.md").write_text(STATEMENT)
    (folder / "test_public.py").write_text(CHECKS_PUBLIC)
    (folder / "test_hidden.py").write_text(CHECKS_HIDDEN)
    (folder / "rules.toml").write_text(RULES)
    (folder / "mutants").mkdir()
    (folder / "mutants" / "cubic_squared.py").write_text(
        "# nnlab-expect: test_values test_dtypes_and_layout test_input_unchanged test_gradients\n" + WRONG_CUBIC)
    text = (course / "course.toml").read_text()
    text = text.replace('exercises = ["rms_norm"]', f'exercises = ["{EXERCISE}"]').replace(
        'hidden_feedback = "after_due"', 'hidden_feedback = "immediate"').replace("library = true", "library = false")
    (course / "course.toml").write_text(text)
    # `verify --mutate` verifies first (solution, stub, the mutant above, what is left to
    # write), then grades the generated mutants: none may survive unmarked.
    done = _ok(run([str(nnlab), "verify", "--mutate", "--workers", "1", EXERCISE], course))
    said = done.stdout + done.stderr
    assert f"{EXERCISE:<22} solution 10/10  stub 0  ok" in said and "survivors   0" in said, said
    return course


def test_a_course_from_a_wheel_goes_through_every_command(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """new course -> new exercise --from -> verify (--mutate) -> release -> serve -> kit submit ->
    collect -> grade, with nnlab installed from a wheel and the course outside the checkout: do the
    student's, the server's and `nnlab grade`'s scores agree?"""
    monkeypatch.delenv("NNLAB_COURSE", raising=False)  # each command finds the course from its folder
    bin_dir = _wheel_venv(tmp_path)
    nnlab = bin_dir / "nnlab"
    course = _author(nnlab, tmp_path)
    (course / "roster.csv").write_text("student,name,email\nada,,\nbob,,\n")
    _ok(run([str(nnlab), "roster", "course.toml", "--data", "data", "--import", "roster.csv",
             "--tokens-out", "tokens.csv"], course))
    with open(course / "tokens.csv", newline="") as handle:
        tokens = {row["student"]: row["token"] for row in csv.DictReader(handle)}
    served = _Served(nnlab, course)
    try:
        _ok(run([str(nnlab), "release", "course.toml", "--out", "kit", "--server", served.url], course))
        kit_bin = _kit(course, tmp_path)
        scores = {student: _submit(kit_bin, tmp_path / student, tokens[student], source)
                  for student, source in (("ada", SOLUTION), ("bob", NO_GRADIENT_INSIDE))}
        assert scores == {"ada": 10, "bob": 7}, scores
        env = {"NNLAB_SERVER": served.url, "NNLAB_TOKEN": tokens["instructor"]}
        _ok(run([str(nnlab), "collect", "--assignment", "hw1", "--out", str(tmp_path / "class")], course, env))
        status, _, server_csv = call(served.url, "GET", "/api/v1/assignments/hw1/scores.csv", tokens["instructor"])
        assert status == 200, server_csv
    finally:
        served.stop()
    _ok(run([str(nnlab), "grade", str(tmp_path / "class"), "--out", str(tmp_path / "report"), "--workers", "1",
             "--no-similarity"], course))
    graded = {r["student"]: float(r[EXERCISE]) for r in csv.DictReader((tmp_path / "report" / "scores.csv").open())}
    on_server = {r["student"]: float(r[EXERCISE]) for r in csv.DictReader(server_csv.splitlines())}
    assert graded == on_server == scores, (graded, on_server, scores)


class _Served(Served):
    """`nnlab serve` as test_course_server's Served, but the wheel's nnlab, run from the course."""

    def __init__(self, nnlab: Path, course: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = course / f"serve-{self.port}.log"
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [str(nnlab), "serve", "course.toml", "--data", "data", "--port", str(self.port), "--workers", "1"],
                cwd=course, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                env={**env, "NNLAB_FAKE_NOW": dt.datetime.now(dt.timezone.utc).isoformat()})
        deadline = time.monotonic() + 60
        while call(self.url, "GET", "/api/v1/assignments", None)[0] != 401:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the server did not start:\n{self.log.read_text()}")
            time.sleep(0.2)


def _kit(course: Path, tmp: Path) -> Path:
    """The released kit installed in a student's venv of its own; its bin folder. `nnlab new`
    there (no templates in a kit) is one line, no traceback."""
    wheel = next((course / "kit").glob("nnlab-*.whl"))
    python = kit_venv(tmp / "student-venv", tmp)
    _ok(run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed",
             str(wheel)], tmp))
    where = Path(_ok(run([str(python), "-c", "import nnlab; print(nnlab.__file__)"], tmp)).stdout.strip())
    assert where.is_relative_to(tmp / "student-venv"), where
    kit_nnlab = python.parent / "nnlab"
    for args in (["new", "course", str(tmp / "mine")], ["new", "exercise", "mine"]):
        refused = run([str(kit_nnlab), *args], tmp)
        assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert "Traceback" not in refused.stderr and not (tmp / "mine").exists(), refused.stderr
    return python.parent


def _submit(kit_bin: Path, work: Path, token: str, source: str) -> float:
    """A student's `nnlab submit work --assignment hw1` from the kit; the score the server gave."""
    work.mkdir()
    env = {"XDG_CONFIG_HOME": str(work / "config"), "NNLAB_TOKEN": token}
    _ok(run([str(kit_bin / "nnlab"), "start", EXERCISE, "--dir", "work"], work, env))
    (work / "work" / f"{EXERCISE}.py").write_text(source)
    sent = _ok(run([str(kit_bin / "nnlab"), "submit", "work", "--assignment", "hw1", "--json", "--yes"], work, env))
    return float(json.loads(sent.stdout)["score"])
