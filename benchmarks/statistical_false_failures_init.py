"""Runs the statistical decision logic of init_weights many times: false failures and misses.

The init_weights checks judge random fills (std, mean, tails, range). This script runs the same
judging code (imported from the exercise's check files, not copied) in-process, without
workers:

- on the reference solution, RUNS times with fresh seeds: every failure is a false failure
  (a correct submission losing points by bad luck); the target is 0 of 1000;
- on the statistically-caught wrong variants of tests/mutants/init_weights, MUTANT_RUNS times
  each: every run where the declared checks all pass is a miss; the target is 0.

Usage: python benchmarks/statistical_false_failures_init.py [--runs 1000] [--mutant-runs 50] [--seed S]
"""
from __future__ import annotations

import argparse
import importlib.util
import re
import secrets
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Callable

import torch

from nnlab.grader.banned import find_banned
from nnlab.grader.checks import CheckFailed
from nnlab.grader.exercise import load_exercise

ROOT = Path(__file__).resolve().parent.parent
EXERCISE = ROOT / "nnlab" / "exercises" / "init_weights"
SOLUTION = ROOT / "nnlab" / "solutions" / "init_weights.py"
MUTANTS = ROOT / "tests" / "mutants" / "init_weights"


def load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


public = load(EXERCISE / "test_public.py", "init_weights_public")
hidden = load(EXERCISE / "test_hidden.py", "init_weights_hidden")


# The parts of the worker-based checks that judge statistics, run on a local submission.
def in_place_statistics(sub: ModuleType) -> None:
    for name, target, judge in (("kaiming_normal_", hidden.kaiming_std((120, 250)), hidden.judge_normal),
                                ("xavier_uniform_", hidden.xavier_bound((120, 250)), hidden.judge_uniform)):
        filled = torch.full((120, 250), 7.0)
        getattr(sub, name)(filled)
        judge(filled, target, f"the argument after {name}")
        leaf = torch.zeros(120, 250, requires_grad=True)
        judge(getattr(sub, name)(leaf).detach(), target, f"{name} on a tensor that requires grad")
        layer = torch.nn.Linear(250, 120)
        getattr(sub, name)(layer.weight)
        # What crosses the wire in the real check is a plain tensor, never a Parameter.
        judge(layer.weight.detach(), target, f"nn.Linear(250, 120).weight after {name}")


def initialize_weights_statistics(sub: ModuleType) -> None:
    model = hidden.build_model()
    sub.initialize_weights(model)
    params = dict(model.named_parameters())
    for name, std in hidden.MODEL_WEIGHTS:
        hidden.judge_normal(params[name].detach(), std, f"model parameter {name}")


# Check id -> the statistical logic behind it, callable with a local submission module.
STATISTICAL: dict[str, Callable[[ModuleType], None]] = {
    "test_kaiming_normal_default": public.test_kaiming_normal_default,
    "test_xavier_uniform_default": public.test_xavier_uniform_default,
    "test_kaiming_fan_modes": hidden.test_kaiming_fan_modes,
    "test_kaiming_gains": hidden.test_kaiming_gains,
    "test_xavier_fans_and_gain": hidden.test_xavier_fans_and_gain,
    "test_in_place_and_no_grad": in_place_statistics,
    "test_initialize_weights_conv_linear": initialize_weights_statistics,
}


def failures(sub: ModuleType, seed: int, checks: list[str]) -> list[str]:
    """The checks among `checks` whose statistics fail for this seed, with the first message."""
    torch.manual_seed(seed)
    failed = []
    for check in checks:
        try:
            STATISTICAL[check](sub)
        except CheckFailed as error:
            failed.append(f"{check}: {error}")
        except Exception as error:  # noqa: BLE001 - a wrong variant may crash: caught as well
            failed.append(f"{check}: {type(error).__name__}: {error}")
    return failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="runs on the reference solution")
    parser.add_argument("--mutant-runs", type=int, default=50, help="runs per wrong variant")
    parser.add_argument("--seed", type=int, default=None, help="first seed (default: a fresh random one)")
    args = parser.parse_args()
    base = secrets.randbits(40) if args.seed is None else args.seed
    # One thread: the statistics are the same, and a busy machine does not stall on the pool.
    torch.set_num_threads(1)
    print(f"seeds {base} .. {base + args.runs - 1}; judging code from {EXERCISE.relative_to(ROOT)}")

    solution = load(SOLUTION, "init_weights_solution")
    started = time.perf_counter()
    false_failures = 0
    for run in range(args.runs):
        failed = failures(solution, base + run, list(STATISTICAL))
        if failed:
            false_failures += 1
            print(f"  FALSE FAILURE seed {base + run}: {failed[0][:200]}")
    elapsed = time.perf_counter() - started
    print(f"reference solution: {false_failures} false failures in {args.runs} runs "
          f"({elapsed / max(args.runs, 1) * 1000:.0f} ms per run)")

    misses_total = 0
    banned = load_exercise(EXERCISE).banned
    for path in sorted(MUTANTS.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        expect = re.search(r"^# nnlab-expect:\s*(.+)$", source, re.M)
        declared = [c for c in (expect.group(1).split() if expect else []) if c in STATISTICAL]
        if not declared or "full" in declared:
            continue
        violations = find_banned(source, banned)
        if violations:
            # Statistically it may well be right (torch.nn.init itself): the source scan zeroes it.
            print(f"wrong variant {path.stem}: zeroed by the banned-API scan ({violations[0].describe()})")
            continue
        mutant = load(path, f"init_weights_mutant_{path.stem}")
        misses = 0
        for run in range(args.mutant_runs):
            caught = failures(mutant, base + 10**6 + run, declared)
            if len(caught) < len(declared):
                misses += 1
        misses_total += misses
        print(f"wrong variant {path.stem}: escaped {misses} of {args.mutant_runs} runs "
              f"(checks {', '.join(declared)})")
    return 1 if false_failures or misses_total else 0


if __name__ == "__main__":
    sys.exit(main())
