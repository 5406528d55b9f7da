"""Counts false failures of Unit 1's statistical checks on correct code, over fresh seeds.

The dropout and mlp checks judge random masks, so a correct submission could in principle
fail by bad luck. This script runs the very decision logic of those checks -- the check
functions themselves where they use only plain calls, the `judge_*` functions of
dropout's test_hidden.py otherwise -- on correct implementations, in this process (no
worker), with a fresh random seed per run, and prints how many runs failed.

    python benchmarks/statistical_false_failures_unit1.py [--runs 1000] [--seed S]

Correct implementations: the reference solutions, and the correct mutants
(`# nnlab-expect: full`) of dropout and mlp. Exit status 1 if any run failed.
"""
from __future__ import annotations

import argparse
import importlib.util
import re
import secrets
import sys
import time
import types
from pathlib import Path
from typing import Any, Callable

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nnlab.grader.checks import CheckFailed  # noqa: E402 - after the checkout is on sys.path

EXERCISES = ROOT / "nnlab" / "exercises"
SOLUTIONS = ROOT / "nnlab" / "solutions"
MUTANTS = ROOT / "tests" / "mutants"


def load(path: Path, name: str) -> types.ModuleType:
    """Imports a file as a fresh module (check files and submissions alike)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def correct_variants(exercise: str) -> list[tuple[str, types.ModuleType]]:
    found = [("solution", load(SOLUTIONS / f"{exercise}.py", f"{exercise}_solution"))]
    for path in sorted((MUTANTS / exercise).glob("*.py")):
        if re.search(r"^# nnlab-expect:\s*full\s*$", path.read_text(encoding="utf-8"), re.MULTILINE):
            found.append((path.stem, load(path, f"{exercise}_{path.stem}")))
    return found


def dropout_backward_locally(hidden: types.ModuleType) -> Callable[[Any], None]:
    """test_backward_same_mask's decisions, with autograd run here instead of through vjp()."""
    def check(sub: Any) -> None:
        for p, shape in [(0.4, (60, 40)), (0.7, (6, 5, 9)), (0.1, (200,))]:
            drop = sub.MyDropout(p)
            x = hidden.nonzero_inputs(*shape).requires_grad_(True)
            grad_out = hidden.randn(*shape)
            out = drop(x)
            out.backward(grad_out)
            what = f"MyDropout({p}) on a {shape} input"
            dropped = hidden.judge_zero_or_scaled(x.detach(), out.detach(), p, what, "forward during backward")
            hidden.judge_backward(dropped, x.grad, grad_out, p, f"gradient of {what}", "random grad_output")
    return check


def statistical_checks() -> dict[str, list[tuple[str, Callable[[Any], None]]]]:
    """Per exercise: (name, check taking `sub`) for every check whose verdict depends on chance."""
    d_public = load(EXERCISES / "dropout" / "test_public.py", "dropout_test_public")
    d_hidden = load(EXERCISES / "dropout" / "test_hidden.py", "dropout_test_hidden")
    m_hidden = load(EXERCISES / "mlp" / "test_hidden.py", "mlp_test_hidden")
    return {
        "dropout": [
            ("test_training_drops_and_scales", d_public.test_training_drops_and_scales),
            ("test_eval_mode", d_hidden.test_eval_mode),
            ("test_survivors_scaled", d_hidden.test_survivors_scaled),
            ("test_drop_fraction", d_hidden.test_drop_fraction),
            ("test_independent_masks", d_hidden.test_independent_masks),
            ("test_backward_same_mask (local autograd)", dropout_backward_locally(d_hidden)),
        ],
        "mlp": [("test_training_mode_dropout", m_hidden.test_training_mode_dropout)],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="runs per implementation (default 1000)")
    parser.add_argument("--seed", type=int, default=None,
                        help="first seed (default: a fresh random one); run i uses seed + i")
    args = parser.parse_args()
    base = args.seed if args.seed is not None else secrets.randbits(48)
    torch.set_num_threads(1)
    print(f"{args.runs} runs per implementation, seeds {base} .. {base + args.runs - 1}")
    total_failures = 0
    for exercise, checks in statistical_checks().items():
        for variant, sub in correct_variants(exercise):
            started = time.monotonic()
            failures: dict[str, list[int]] = {name: [] for name, _ in checks}
            failed_runs = 0
            for i in range(args.runs):
                seed = base + i
                run_failed = False
                for name, check in checks:
                    torch.manual_seed(seed)
                    try:
                        check(sub)
                    except CheckFailed as error:
                        failures[name].append(seed)
                        run_failed = True
                        print(f"  FALSE FAILURE {exercise}/{variant} {name} seed {seed}: {error}")
                failed_runs += run_failed
            total_failures += failed_runs
            elapsed = time.monotonic() - started
            print(f"{exercise}/{variant}: {failed_runs} of {args.runs} runs failed "
                  f"({elapsed:.1f} s)")
            for name, seeds in failures.items():
                print(f"    {name}: {len(seeds)} false failures")
    print(f"false failures in total: {total_failures}")
    return 1 if total_failures else 0


if __name__ == "__main__":
    sys.exit(main())
