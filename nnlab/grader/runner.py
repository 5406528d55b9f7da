"""Runs an exercise's pytest check files in the grader process and turns reports into results."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch

from nnlab.errors import BannedApiUsed, LoadTimeout, WorkerFault, WorkerTimeout
from nnlab.grader.checks import GradingContext
from nnlab.grader.exercise import CheckSpec, Exercise
from nnlab.grader.launcher import WorkerLauncher
from nnlab.results import CheckResult, Outcome
from nnlab.grader.session import WorkerSession

_EMPTY_INI = Path(__file__).with_name("pytest-checks.ini")


def derive_seed(seed: int, *parts: str) -> int:
    digest = hashlib.sha256(":".join([str(seed), *parts]).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def timing_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass
class _Verdict:
    outcome: Outcome
    message: str
    duration_s: float
    timing: Any = None


def _verdict_from(excinfo: pytest.ExceptionInfo[BaseException] | None, duration: float) -> _Verdict:
    if excinfo is None:
        return _Verdict(Outcome.PASSED, "", duration)
    exc = excinfo.value
    if isinstance(exc, pytest.skip.Exception):
        return _Verdict(Outcome.SKIPPED, str(exc.msg) if hasattr(exc, "msg") else str(exc), duration)
    if isinstance(exc, WorkerTimeout):
        return _Verdict(Outcome.TIMEOUT, str(exc), duration)
    if isinstance(exc, BannedApiUsed):
        return _Verdict(Outcome.FAILED, str(exc), duration)
    if isinstance(exc, WorkerFault):
        return _Verdict(Outcome.ERROR, str(exc), duration)
    if isinstance(exc, AssertionError):
        # Only the message crafted by the check, never pytest's rendering of its source.
        return _Verdict(Outcome.FAILED, str(exc) or "the check's condition was not met", duration)
    return _Verdict(Outcome.ERROR, f"internal grader error ({type(exc).__name__}: "
                                   f"{str(exc)[:300]}); please tell your instructor", duration)


class _ChecksPlugin:
    """Provides the `sub` and `grading` fixtures and collects one verdict per check."""

    def __init__(self, context: GradingContext) -> None:
        self.context = context
        self.verdicts: dict[str, _Verdict] = {}
        self.confinement: dict[str, Any] | None = None
        self.collection_errors: list[str] = []
        self.load_timeout: str | None = None

    @pytest.fixture
    def grading(self, request: pytest.FixtureRequest) -> GradingContext:
        return self._context_for(request.node.originalname)

    def _context_for(self, test_id: str) -> GradingContext:
        ctx = self.context
        return GradingContext(ctx.exercise, ctx.seed, derive_seed(ctx.seed, ctx.exercise.id, test_id),
                              ctx.device, ctx.launcher, ctx.source, ctx.filename)

    @pytest.fixture
    def sub(self, request: pytest.FixtureRequest) -> Any:
        """The submission, loaded in a fresh confined worker for this check alone."""
        ctx = self.context
        if self.load_timeout is not None:
            # A file whose import-time code ran out of time once would again, on every
            # check: that would cost the full limit each time (minutes per exercise).
            raise LoadTimeout(f"{self.load_timeout} (in an earlier check; not loaded again)")
        try:
            session = WorkerSession(ctx.launcher, ctx.source, ctx.filename,
                                    list(ctx.exercise.banned), list(ctx.exercise.banned_ops),
                                    ctx.exercise.check_seconds,
                                    seed=derive_seed(self._context_for(request.node.originalname)
                                                     .check_seed, "worker"))
        except LoadTimeout as exc:
            self.load_timeout = str(exc)
            raise
        request.addfinalizer(session.close)
        if self.confinement is None:
            self.confinement = session.confinement
        return session.root

    @pytest.fixture(autouse=True)
    def _seeded(self, request: pytest.FixtureRequest) -> None:
        # Every check draws its inputs from its own seed: reproducible with --seed, and
        # unknown to the student without it.
        torch.manual_seed(self._context_for(request.node.originalname).check_seed)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        yield
        test_id = getattr(item, "originalname", item.name)
        if call.when == "setup" and call.excinfo is not None:
            self.verdicts[test_id] = _verdict_from(call.excinfo, call.duration)
        elif call.when == "call":
            verdict = _verdict_from(call.excinfo, call.duration)
            verdict.timing = getattr(item, "nnlab_timing_info", None)
            self.verdicts[test_id] = verdict
        elif call.when == "teardown" and call.excinfo is not None and test_id not in self.verdicts:
            self.verdicts[test_id] = _verdict_from(call.excinfo, call.duration)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        # A check file that fails to import is the exercise author's bug: name it for the
        # instructor (it is our code, so showing it leaks nothing).
        if report.failed:
            text = str(report.longrepr).strip().splitlines()
            self.collection_errors.append(f"{Path(report.nodeid).name}: {text[-1] if text else 'failed'}")

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        # Timing checks last, so a crash elsewhere is reported before a long measurement.
        items.sort(key=lambda it: bool(getattr(getattr(it, "function", None), "nnlab_timing", False)))


@dataclass(frozen=True)
class CheckRun:
    """The checks of one exercise, run against one submission file."""

    results: tuple[CheckResult, ...]
    confinement: dict[str, Any] | None = None


def run_checks(exercise: Exercise, source: str, filename: str, launcher: WorkerLauncher,
               seed: int, include_hidden: bool) -> CheckRun:
    """Runs the public (and hidden) check files; one CheckResult per declared check."""
    context = GradingContext(exercise, seed, seed, timing_device(), launcher, source, filename)
    plugin = _ChecksPlugin(context)
    files = [str(f) for f in exercise.check_files(include_hidden)]
    args = [*files, "-s", "--assert=plain", "--import-mode=importlib",
            "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:timeout",
            "-c", str(_EMPTY_INI), "--rootdir", str(exercise.folder.parent)]
    exit_code = pytest.main(args, plugins=[plugin])
    why = "; ".join(plugin.collection_errors) or f"pytest exit code {int(exit_code)}"
    results = []
    for spec in exercise.checks_for(include_hidden):
        verdict = plugin.verdicts.get(spec.test_id) or _Verdict(
            Outcome.ERROR, f"the check could not be run (internal grader error: {why}); "
                           "please tell your instructor", 0.0)
        results.append(_result(spec, verdict))
    return CheckRun(tuple(results), plugin.confinement)


def _result(spec: CheckSpec, verdict: _Verdict) -> CheckResult:
    score = spec.points if verdict.outcome is Outcome.PASSED else 0.0
    return CheckResult(name=spec.name, test_id=spec.test_id, score=score, max_score=spec.points,
                       outcome=verdict.outcome, visibility=spec.visibility,
                       message=verdict.message, duration_s=verdict.duration_s,
                       timing=verdict.timing)


def failed_everywhere(exercise: Exercise, include_hidden: bool, outcome: Outcome,
                      message: str) -> tuple[CheckResult, ...]:
    """Every check with the same verdict: a file that cannot run at all scores nothing."""
    return tuple(_result(spec, _Verdict(outcome, message, 0.0))
                 for spec in exercise.checks_for(include_hidden))
