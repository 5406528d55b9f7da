"""Timing checks: calibrated on this machine, and the measurement's own rules.

Calibration: for every timed exercise the solution passes even against a threshold
MARGIN times stricter, and a Python-loop variant with correct values (tests/timing_variants/
<id>_loop.py) fails even against a threshold LOOP_MARGIN times more lenient. Only verdicts
are asserted, never seconds.
"""
from __future__ import annotations

import dataclasses
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from nnlab.grader import runner, timing
from nnlab.grader.timing import api, decide, freezer, machine, pools, recheck, tuning
from nnlab.grader.exercise import EXERCISES_DIR, Exercise, load_exercise
from nnlab.results import CheckResult, Outcome

VARIANTS = Path(__file__).parent / "timing_variants"
TIMED = sorted(f.name for f in EXERCISES_DIR.iterdir() if (f / "test_timing.py").is_file())
MARGIN = 1.5
LOOP_MARGIN = 3.0
ROW_LOOP_MARGIN = 2.0
"""conv2d looping over output rows, each row vectorized, is 50-85x F.conv2d on the CPUs seen
(limit 16): x3 would put the test's limit within the noise of one CPU model."""
SEED = 20261123


class _TimingOnly(Exercise):
    """The exercise with its timing check alone (its correctness is other tests' business)."""

    def check_files(self, include_hidden: bool) -> list[Path]:
        return [self.folder / "test_timing.py"]


def _timing_only(exercise_id: str, factor: float = 1.0) -> _TimingOnly:
    exercise = load_exercise(EXERCISES_DIR / exercise_id)
    fields = {f.name: getattr(exercise, f.name) for f in dataclasses.fields(exercise)}
    fields["timing_thresholds"] = {k: v * factor for k, v in exercise.timing_thresholds.items()}
    return _TimingOnly(**fields)


def _speed(exercise: Exercise, source: str, launcher, seed: int = SEED) -> CheckResult:
    run = runner.run_checks(exercise, source, f"{exercise.id}.py", launcher, seed,
                            include_hidden=True)
    (result,) = [c for c in run.results if c.test_id == "test_speed"]
    return result


def _describe(result: CheckResult) -> str:
    t = result.timing
    ratio = f"ratio {t.ratio:.2f} (threshold {t.threshold:g}, spread {t.spread:.0%})" if t else "no timing"
    return f"{result.outcome.value}: {ratio}: {result.message}"


def test_every_timed_exercise_declares_its_check() -> None:
    """Does each timed exercise have a 1-point test_speed, both thresholds and a loop variant?"""
    assert TIMED, "no exercise has a timing check"
    for exercise_id in TIMED:
        exercise = load_exercise(EXERCISES_DIR / exercise_id)
        (spec,) = [c for c in exercise.checks if c.is_timing]
        assert (spec.test_id, spec.points) == ("test_speed", 1.0), exercise_id
        assert {"cpu", "cuda"} <= exercise.timing_thresholds.keys(), exercise_id
        assert (VARIANTS / f"{exercise_id}_loop.py").is_file(), exercise_id


@pytest.mark.slow
@pytest.mark.parametrize("exercise_id", TIMED)
def test_solution_is_fast_with_margin(exercise_id: str, launcher) -> None:
    """Does the solution pass its timing check even with the threshold MARGIN times stricter?"""
    exercise = _timing_only(exercise_id, 1 / MARGIN)
    result = _speed(exercise, exercise.solution_path.read_text(encoding="utf-8"), launcher)
    assert result.outcome is Outcome.PASSED, _describe(result)
    info = result.timing
    assert info is not None and info.ratio < info.threshold
    assert f"torch {torch.__version__}" in info.device and info.rounds >= tuning.EARLY_ROUNDS
    if sys.platform.startswith("linux") and info.device.startswith("cpu"):
        # Where it can, the grader moves inputs and outputs itself (nnlab.grader.timing.freezer).
        assert "moved while the worker was stopped" in info.device, info.device


LOOPS = sorted(VARIANTS.glob("*_loop*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("path", LOOPS, ids=lambda p: p.stem)
def test_python_loop_is_too_slow(path: Path, launcher) -> None:
    """Does a Python loop with correct values fail even with the threshold LOOP_MARGIN times
    looser (ROW_LOOP_MARGIN for a loop over rows, each row vectorized)?"""
    margin = ROW_LOOP_MARGIN if path.stem.endswith("_loop_rows") else LOOP_MARGIN
    exercise = _timing_only(path.stem.split("_loop")[0], margin)
    source = path.read_text(encoding="utf-8")
    result = _speed(exercise, source, launcher)
    # "too slow" (not a wrong value on the timed inputs): the loop's values are right.
    assert result.outcome is Outcome.FAILED and result.message.startswith("too slow"), \
        _describe(result)
    assert result.timing is not None and result.timing.ratio > result.timing.threshold


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted(VARIANTS.glob("*_cache.py")), ids=lambda p: p.stem)
def test_caching_by_input_gains_nothing(path: Path, launcher) -> None:
    """Does a slow submission that memoizes results by input identity or content still fail?"""
    exercise = _timing_only(path.stem.removesuffix("_cache"))
    result = _speed(exercise, path.read_text(encoding="utf-8"), launcher)
    assert result.outcome is Outcome.FAILED, _describe(result)


# -- the measurement's rules, on my_linear ---------------------------------------------------
LINEAR = (EXERCISES_DIR.parent / "solutions" / "my_linear.py").read_text(encoding="utf-8")


@pytest.mark.slow
def test_undecided_is_skipped_with_the_reason(launcher, monkeypatch) -> None:
    """When the rounds never decide, is the check skipped (not passed or failed) with the numbers?"""
    monkeypatch.setattr(api, "decide", lambda samples, threshold: None)
    monkeypatch.setattr(tuning, "MAX_ROUNDS", 3)
    monkeypatch.setattr(tuning, "MAX_BATCHES", 2)
    result = _speed(_timing_only("my_linear"), LINEAR, launcher)
    assert result.outcome is Outcome.SKIPPED and result.score == 0, _describe(result)
    assert "undecided" in result.message and "the limit is 4x" in result.message
    assert result.timing is not None and result.timing.rounds == 3


@pytest.mark.slow
def test_wrong_values_while_timed_fail(launcher) -> None:
    """Does a submission that is right at first but returns garbage once timed fail the re-check?"""
    source = LINEAR + textwrap.dedent('''
        _calls = [0]
        _forward = MyLinear.forward
        def forward(self, x):
            _calls[0] += 1
            return _forward(self, x) if _calls[0] <= 2 else torch.zeros(*x.shape[:-1], self.out_features)
        MyLinear.forward = forward
    ''')
    result = _speed(_timing_only("my_linear"), source, launcher)
    assert result.outcome is Outcome.FAILED, _describe(result)
    assert "on the timed inputs" in result.message


@pytest.mark.slow
def test_thread_count_is_the_graders(launcher) -> None:
    """Does a submission that raises torch's thread count while timed fail?"""
    source = LINEAR.replace("        y = x @ self.weight.T", "        torch.set_num_threads(4)\n"
                                                               "        y = x @ self.weight.T")
    result = _speed(_timing_only("my_linear"), source, launcher)
    assert result.outcome is Outcome.FAILED and "thread count" in result.message, _describe(result)


@pytest.mark.slow
def test_correctness_gates_timing(launcher) -> None:
    """Is a fast submission that fails a gating correctness check failed without being timed?"""

    class _PublicAndTiming(_TimingOnly):
        def check_files(self, include_hidden: bool) -> list[Path]:
            return [self.folder / "test_public.py", self.folder / "test_timing.py"]

    base = _timing_only("my_linear")
    exercise = _PublicAndTiming(**{f.name: getattr(base, f.name) for f in dataclasses.fields(base)})
    wrong = LINEAR.replace("y = x @ self.weight.T", "y = x @ self.weight.T * 1.01")
    result = _speed(exercise, wrong, launcher)
    assert result.outcome is Outcome.FAILED and result.message.startswith("not timed"), \
        _describe(result)
    assert result.timing is None


@pytest.mark.slow
def test_cuda_without_a_usable_gpu_falls_back_to_the_cpu(launcher, monkeypatch) -> None:
    """Where CUDA is reported but the worker cannot use it, is the CPU measured and said so?"""
    if torch.cuda.is_available():
        pytest.skip("a real GPU is present: the CUDA path itself runs in the calibration tests")
    monkeypatch.setattr(runner, "timing_device", lambda: "cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    result = _speed(_timing_only("my_linear"), LINEAR, launcher)
    assert result.outcome is Outcome.PASSED, _describe(result)
    assert result.timing.device.startswith("cpu") and "CUDA" in result.timing.device
    assert result.timing.threshold == load_exercise(EXERCISES_DIR / "my_linear").timing_thresholds["cpu"]


def test_decision_rules() -> None:
    """Clear rounds decide early, a median near the threshold waits, a wide spread widens the band."""
    def samples(*ratios: float) -> list[decide.Sample]:
        return [decide.Sample(r, 1.0, r, 1.0) for r in ratios]

    assert decide.decide(samples(1.0), 3.0) is None  # one round never decides
    # First look: two rounds beyond 2x either way decide; nearer, a third round is needed.
    assert decide.decide(samples(1.0, 1.1), 3.0) is True
    assert decide.decide(samples(7.0, 6.5), 3.0) is False
    assert decide.decide(samples(1.2, 1.6), 3.0) is None
    assert decide.decide(samples(5.0, 6.5), 3.0) is None
    assert decide.decide(samples(1.2, 1.6, 1.5), 3.0) is True
    assert decide.decide(samples(1.0, 1.1, 0.9), 3.0) is True
    assert decide.decide(samples(30, 31, 29), 3.0) is False
    assert decide.decide(samples(2.9, 3.0, 3.1, 3.0, 2.95), 3.0) is None
    assert decide.decide(samples(2.0, 2.1, 1.9, 2.05, 2.0), 3.0) is True
    assert decide.decide(samples(1.0, 4.0, 2.0, 2.5, 3.5), 3.0) is None  # spread too wide
    stats = decide.summarize(samples(1.0, 2.0, 3.0, 4.0, 5.0))
    assert stats.ratio == 3.0 and math.isclose(stats.spread, 2.0 / 3.0)


def _hold(path: str) -> subprocess.Popen:
    """Another grader process holding the lock file `path` (a bare flock: no torch to import)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys\n"
                               f"fd = os.open({path!r}, os.O_RDWR | os.O_CREAT)\n"
                               "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('held', flush=True)\n"
                               "sys.stdin.readline()\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_measurements_never_overlap(monkeypatch) -> None:
    """With NNLAB_TIMING_LOCK=machine, does the lock keep a second measurement waiting while
    one runs?"""
    monkeypatch.setenv(timing.LOCK_SETTING, "machine")
    holder = _hold(timing.lock_path())
    try:
        with pytest.raises(timing.LockBusy):
            with timing.machine_lock(timeout_s=0.3):
                pass
    finally:
        holder.communicate("\n", timeout=30)
    with timing.machine_lock(timeout_s=5):  # free again once the holder is done
        pass


def test_the_lock_setting_says_how_many_measure_at_once(monkeypatch) -> None:
    """With NNLAB_TIMING_LOCK=2 and one measurement running elsewhere, does a second start
    while a third waits; with 'off', does none wait; is a wrong value one clear error?"""
    from nnlab.errors import UsageError

    holder = _hold(timing.lock_path())
    try:
        monkeypatch.setenv(timing.LOCK_SETTING, "2")
        with timing.machine_lock(timeout_s=0.3):
            with pytest.raises(timing.LockBusy):
                with timing.machine_lock(timeout_s=0.3):
                    pass
            monkeypatch.setenv(timing.LOCK_SETTING, "off")
            with timing.machine_lock(timeout_s=0.3):
                pass
        monkeypatch.delenv(timing.LOCK_SETTING)  # the default: one measurement per core
        assert timing.lock_slots() == len(os.sched_getaffinity(0))
        monkeypatch.setenv(timing.LOCK_SETTING, "half")
        with pytest.raises(UsageError, match="NNLAB_TIMING_LOCK='half'"):
            with timing.machine_lock(timeout_s=0.3):
                pass
    finally:
        holder.communicate("\n", timeout=30)


def test_the_quick_recheck_never_passes_what_the_full_one_fails() -> None:
    """The re-check of timed calls first tries a quick comparison in the tensors' own
    precision: does it pass plainly close outputs, and leave every output off by its
    tolerance or more, NaN or infinite, to the full comparison (which fails it)?"""
    from nnlab.grader.checks import CheckFailed
    from nnlab.grader.checks.asserts import TOLERANCES, assert_close

    generator = torch.Generator().manual_seed(5)
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        rtol, atol = TOLERANCES[dtype]
        expected = (torch.randn(512, generator=generator, dtype=torch.float64) * 10).to(dtype)
        slack = (atol + rtol * expected.double().abs())
        assert recheck._plainly_close((expected.double() + 0.5 * slack).to(dtype), expected, None, None)
        for k in (0.995, 1.0, 1.01, 2.0):
            got = expected.double().clone()
            got[7] += k * slack[7]
            got = got.to(dtype)
            if recheck._plainly_close(got, expected, None, None):
                assert_close(got, expected, "x")  # the quick check passed it: so must this
        for bad in (math.nan, math.inf):
            got = expected.clone()
            got[3] = bad
            assert not recheck._plainly_close(got, expected, None, None)
            with pytest.raises(CheckFailed):
                assert_close(got, expected, "x")


HIDING = sorted(VARIANTS.glob("*_hides_*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("path", HIDING, ids=lambda p: p.stem)
def test_work_hidden_from_the_clock_is_caught(path: Path, launcher) -> None:
    """Does a slow submission that hides its work from the clock (a lazy tensor, computing only
    the calls it guesses are checked, or computing before, after or beside the timed calls by
    rewriting the worker) still fail?"""
    exercise = _timing_only(path.stem.split("_hides_")[0])
    result = _speed(exercise, path.read_text(encoding="utf-8"), launcher)
    # FAILED (too slow, or wrong values in the re-checked calls) or ERROR (a lazy result
    # is refused): either way no speed point.
    assert result.outcome in (Outcome.FAILED, Outcome.ERROR) and result.score == 0, \
        _describe(result)


@pytest.mark.slow
def test_without_memory_access_outputs_come_by_request(launcher, monkeypatch) -> None:
    """Where the grader cannot reach the worker's memory (no process_vm_readv, as on macOS,
    and always on CUDA), do inputs and picked outputs go by request, and do the verdicts
    hold: the solution passes, the loop fails, a wrong timed output fails, and an output
    computed only when fetched fails?"""
    monkeypatch.setattr(freezer, "memory_reachable", lambda pid: False)
    solution = _speed(_timing_only("my_linear"), LINEAR, launcher)
    assert solution.outcome is Outcome.PASSED, _describe(solution)
    assert "fetched by request" in solution.timing.device
    loop = _speed(_timing_only("my_linear", LOOP_MARGIN),
                  (VARIANTS / "my_linear_loop.py").read_text(encoding="utf-8"), launcher)
    assert loop.outcome is Outcome.FAILED and loop.message.startswith("too slow"), _describe(loop)
    # Fast and right on the first call of every request, zeros on the others: only a
    # re-check of outputs fetched after the request can tell (three distinct calls are
    # picked per round, so at least two of them are wrong).
    wrong_after_first = LINEAR + _WRONG_AFTER_FIRST_CALL
    wrong = _speed(_timing_only("my_linear"), wrong_after_first, launcher)
    assert wrong.outcome is Outcome.FAILED and "on the timed inputs" in wrong.message, \
        _describe(wrong)
    # Zeros while timed, the true values computed only when the grader asks for them: the
    # digests the timed request committed to give it away.
    deferred = _speed(_timing_only("my_linear"),
                      (VARIANTS / "my_linear_hides_deferred.py").read_text(encoding="utf-8"),
                      launcher)
    assert deferred.outcome is Outcome.FAILED and "computed after the timed call" in \
        deferred.message, _describe(deferred)


_WRONG_AFTER_FIRST_CALL = """

import sys as _sys

_Right = MyLinear


class MyLinear(_Right):
    def forward(self, x):
        out = super().forward(x)
        frame = _sys._getframe(1)
        while frame is not None:
            # The timed loop's frame: it holds every call's output in `kept`, call `i`.
            if "kept" in frame.f_locals and frame.f_locals.get("i", 0) > 0:
                return torch.zeros_like(out)
            frame = frame.f_back
        return out
"""


def test_a_gradient_across_a_relu_kink_passes_but_a_wrong_one_fails() -> None:
    """Float32 code and the float64 reference can take different sides of a ReLU where its
    input is within rounding of 0: does such a gradient pass the re-check of timed calls,
    while a gradient of zeros, or of another input, still fails?"""
    import random

    from nnlab.grader.checks import CheckFailed

    weight = torch.randn(64, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(1))

    def reference(x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x @ weight.to(x.dtype))

    plan = pools.Plan([timing.normal(64, 64, requires_grad=True)], {}, True, "cpu", 1)
    drawn = pools.Pools(plan, 2, random.Random(3))
    grad_output = torch.randn(64, 64)
    checker = recheck.Checker(reference, None, plan, "f", None, None)

    def gradient(index: int) -> tuple[torch.Tensor, torch.Tensor]:
        (x,) = drawn.window(plan, index)
        x = x.double().requires_grad_(True)
        out = reference(x)
        (g,) = torch.autograd.grad([out], [x], [grad_output.double()])
        return out.detach().float(), g.float()

    out, true_grad = gradient(0)
    # One unit on the other side of its kink: one row of grad_output dropped from one
    # input row, as float32 rounding can do; a few % of the gradient's norm at most.
    pre = (drawn.window(plan, 0)[0].double() @ weight)
    row, col = divmod(int(pre.abs().argmin()), 64)
    flipped = true_grad.clone()
    sign = 1.0 if pre[row, col] <= 0 else -1.0
    flipped[row] += sign * grad_output[row, col] * weight[:, col].float()
    assert not torch.allclose(flipped, true_grad, rtol=1e-4, atol=1e-5)
    checker.check([{"index": 0, "output": out, "grads": [flipped]}], drawn, grad_output)
    for wrong in (torch.zeros_like(true_grad), gradient(1)[1]):
        with pytest.raises(CheckFailed, match="gradient of input 0"):
            checker.check([{"index": 0, "output": out, "grads": [wrong]}], drawn, grad_output)


@pytest.mark.slow
def test_a_timed_output_of_another_shape_fails_before_it_is_read(launcher) -> None:
    """Does an output whose shape differs from the reference's, only while timed, fail with
    the shapes named (and is it refused before the grader reads it from the worker)?"""
    flat_when_timed = LINEAR + _WRONG_AFTER_FIRST_CALL.replace(
        'frame.f_locals.get("i", 0) > 0', '"i" in frame.f_locals').replace(
        "torch.zeros_like(out)", "out.reshape(-1).clone()")
    result = _speed(_timing_only("my_linear"), flat_when_timed, launcher)
    assert result.outcome is Outcome.FAILED and "expected shape (4096, 64), got (262144,)" \
        in result.message, _describe(result)


@pytest.mark.slow
def test_inputs_drawn_differently_skip_rather_than_fail(launcher, monkeypatch) -> None:
    """Without memory access the worker draws its inputs from seeds: if its values ever
    differed from the grader's, would a correct submission be skipped with the reason,
    never failed?"""
    monkeypatch.setattr(freezer, "memory_reachable", lambda pid: False)
    real_draw = pools.draw_pool
    monkeypatch.setattr(pools, "draw_pool", lambda *spec: real_draw(*spec) + 1e-3)
    result = _speed(_timing_only("my_linear"), LINEAR, launcher)
    assert result.outcome is Outcome.SKIPPED, _describe(result)
    assert "random inputs differ" in result.message


def test_a_stopped_worker_runs_nothing(launcher) -> None:
    """While the grader has the worker stopped, does a spinning background thread of it get
    no CPU at all, and run again once the worker is let go?"""
    import time

    from nnlab.grader.session import WorkerSession

    spinner = "import threading\nthreading.Thread(target=lambda: [None for _ in iter(int, 1)], daemon=True).start()\n"
    session = WorkerSession(launcher, spinner, "spin.py", [], [], 30)
    try:
        pid = session.process.pid
        clock = machine.ProcessClock(pid)
        stopper = freezer.Freezer(pid)
        stopper.freeze()
        before = clock()
        time.sleep(0.3)
        frozen_cpu = clock() - before
        stopper.thaw()
        # Let go, it must run again: waited for up to 10 s, since on a loaded machine a fixed
        # 0.3 s of wall time may hold only a few hundredths of a second of CPU for it.
        before, deadline = clock(), time.monotonic() + 10
        while clock() - before < 0.05 and time.monotonic() < deadline:
            time.sleep(0.05)
        running_cpu = clock() - before
    finally:
        session.close()
    assert frozen_cpu < 0.005 and running_cpu >= 0.05, (frozen_cpu, running_cpu)


def test_memory_round_trip_with_a_stopped_worker(launcher) -> None:
    """Can the grader write a tensor into the stopped worker and read it back bit for bit,
    and is a read at a bogus address refused (not a crash)?"""
    from nnlab.grader.session import WorkerSession

    session = WorkerSession(launcher, "import torch\nBUF = torch.zeros(1000)\n", "buf.py", [], [], 30)
    try:
        pid = session.process.pid
        if not freezer.memory_reachable(pid):
            pytest.skip("this system does not let the grader reach a worker's memory")
        address = session.eval("submission.BUF.data_ptr()", label="address")
        stopper = freezer.Freezer(pid)
        stopper.freeze()
        values = torch.randn(1000)
        freezer.write_tensor(pid, address, values)
        back = freezer.read_tensor(pid, [address, [10, 100], [100, 1], "float32"])
        strided = freezer.read_tensor(pid, [address, [100, 10], [1, 100], "float32"])
        with pytest.raises(freezer.UnreachableMemory):
            freezer.read_tensor(pid, [8, [4], [1], "float32"])
        stopper.thaw()
        assert torch.equal(back.flatten(), values)
        assert torch.equal(strided, values.view(10, 100).T)
        assert torch.equal(session.root.BUF, values)  # the worker sees what was written
    finally:
        session.close()
