"""The my_linear exercise as an otter-grader assignment, to time `otter run` beside `nnlab grade`.

Used by grade_scale.py --otter PATH. Otter is not a dependency of nnlab; install it apart,
e.g. `python -m venv --system-site-packages /tmp/otter && /tmp/otter/bin/pip install
otter-grader ipykernel && /tmp/otter/bin/python -m ipykernel install --sys-prefix`.
"""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

# The same questions as nnlab's my_linear checks (public, hidden and timing), written as
# otter test cases: a fair comparison runs the same work, only the harness differs.
TESTS = '''
from otter.test_files import test_case

OK_FORMAT = False
name = "my_linear"
points = 10


def _twin(MyLinear, n_in, n_out, bias=True):
    import torch
    layer = MyLinear(n_in, n_out, bias=bias)
    ref = torch.nn.Linear(n_in, n_out, bias=bias)
    with torch.no_grad():
        ref.weight.copy_(layer.weight)
        if bias:
            ref.bias.copy_(layer.bias)
    return layer, ref


@test_case(points=1)
def test_output_shape(MyLinear):
    import torch
    assert MyLinear(4, 3)(torch.randn(5, 4)).shape == (5, 3)


@test_case(points=1)
def test_forward_small(MyLinear):
    import torch
    layer, ref = _twin(MyLinear, 4, 3)
    x = torch.randn(5, 4)
    assert torch.allclose(layer(x), ref(x), atol=1e-5)


@test_case(points=1, hidden=True)
def test_parameters(MyLinear):
    import torch
    layer = MyLinear(6, 4)
    params = dict(layer.named_parameters())
    assert set(params) == {"weight", "bias"}
    assert params["weight"].shape == (4, 6) and params["bias"].shape == (4,)


@test_case(points=1, hidden=True)
def test_no_bias(MyLinear):
    import torch
    layer, ref = _twin(MyLinear, 5, 4, bias=False)
    assert layer.bias is None
    x = torch.randn(6, 5)
    assert torch.allclose(layer(x), ref(x), atol=1e-5)


@test_case(points=1, hidden=True)
def test_initialization(MyLinear):
    import math
    layer = MyLinear(400, 300)
    bound = 1 / math.sqrt(400)
    assert layer.weight.abs().max() <= bound and layer.weight.std() > bound / 3
    assert layer.bias.abs().max() <= bound


@test_case(points=1, hidden=True)
def test_forward_parity(MyLinear):
    import torch
    for n_in, n_out in ((6, 6), (7, 3), (1, 9)):
        layer, ref = _twin(MyLinear, n_in, n_out)
        x = torch.randn(4, n_in)
        assert torch.allclose(layer(x), ref(x), atol=1e-5)


@test_case(points=1, hidden=True)
def test_leading_dims(MyLinear):
    import torch
    layer, ref = _twin(MyLinear, 5, 3)
    for shape in ((5,), (2, 3, 5)):
        x = torch.randn(*shape)
        assert torch.allclose(layer(x), ref(x), atol=1e-5)


@test_case(points=1, hidden=True)
def test_noncontiguous_and_dtypes(MyLinear):
    import torch
    layer, ref = _twin(MyLinear, 6, 4)
    x = torch.randn(6, 8).T
    assert torch.allclose(layer(x), ref(x), atol=1e-5)
    assert layer.double()(x.double()).dtype == torch.float64


@test_case(points=1, hidden=True)
def test_gradients(MyLinear):
    import torch
    layer = MyLinear(5, 3).double()
    x = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w, b: torch.func.functional_call(
        layer, {"weight": w, "bias": b}, (x,)), (x, layer.weight, layer.bias))


@test_case(points=0.5, hidden=True)
def test_repr(MyLinear):
    assert "in_features=3, out_features=2, bias=True" in repr(MyLinear(3, 2))


@test_case(points=0.5, hidden=True)
def test_speed(MyLinear):
    import time
    import torch
    layer, ref = _twin(MyLinear, 64, 64)
    x = torch.randn(4096, 64)

    def best(fn):
        times = []
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(20):
                fn(x)
            times.append(time.perf_counter() - started)
        return min(times)
    with torch.no_grad():
        assert best(layer) < 4 * best(ref)
'''


def build(root: Path, solution: Path, otter: str) -> tuple[Path, Path]:
    """An autograder zip and a submission notebook holding `solution`, under `root`."""
    import nbformat

    root.mkdir(parents=True, exist_ok=True)
    (root / "tests").mkdir(exist_ok=True)
    (root / "tests" / "my_linear.py").write_text(TESTS)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(solution.read_text())]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    submission = root / "submission.ipynb"
    nbformat.write(notebook, submission)
    subprocess.run([otter, "generate", "-t", "tests", "-o", "autograder.zip", "--no-requirements",
                    "--no-environment"], cwd=root, check=True, capture_output=True)
    return root / "autograder.zip", submission


def run_once(otter: str, autograder: Path, submission: Path, out: Path) -> tuple[float, float, float]:
    """One `otter run` of one submission: (seconds, score, max score)."""
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    done = subprocess.run([otter, "run", "-a", str(autograder), "-o", str(out), "--no-logo",
                           str(submission)], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"otter run failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    tests = json.loads((out / "results.json").read_text())["tests"]
    scored = [t for t in tests if "max_score" in t]
    return seconds, sum(t["score"] for t in scored), sum(t["max_score"] for t in scored)
