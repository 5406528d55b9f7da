"""Runs an exercise's pytest check files in the grader process and turns reports into results."""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import hashlib
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
import torch

from nnlab.errors import BannedApiUsed, LoadTimeout, LoopedAgain, WorkerFault, WorkerTimeout
from nnlab.grader.checks import AUDIT_SETTING, CheckBoard, GradingContext, audited, is_timing_check
from nnlab.grader.exercise import CheckSpec, Exercise
from nnlab.grader.launcher import WorkerLauncher
from nnlab.results import CheckResult, Outcome
from nnlab.grader.session import WorkerSession
from nnlab.wire.confinement import Confinement
from nnlab.wire.seeding import seed_torch
from nnlab.wire.looping import LoopSite

_EMPTY_INI = Path(__file__).with_name("pytest-checks.ini")
PYTEST_TESTED = "7.4 to 9.0"
"""The pytest releases whose internals the fast check runner is tested with (pyproject.toml
bounds the dependency to them)."""
AFTER_TIMEOUT_S = 2.0
"""The wall-time limit of each check that follows a timed-out check of the same exercise."""


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
    internal: bool = False
    """The grader (or the check's author) failed, not the student's code."""
    loop_site: LoopSite | None = None
    """Where the submission was when this check ran out of time, if known."""
    looped_again: bool = False
    """Code that had run out of time before ran past its short grace again in this check."""


def _verdict_from(excinfo: pytest.ExceptionInfo[BaseException] | None, duration: float) -> _Verdict:
    if excinfo is None:
        return _Verdict(Outcome.PASSED, "", duration)
    exc = excinfo.value
    if isinstance(exc, pytest.skip.Exception):
        return _Verdict(Outcome.SKIPPED, str(exc.msg) if hasattr(exc, "msg") else str(exc), duration)
    if isinstance(exc, WorkerTimeout):
        site = exc.loop_site if isinstance(exc.loop_site, LoopSite) else None
        return _Verdict(Outcome.TIMEOUT, str(exc), duration, loop_site=site,
                        looped_again=isinstance(exc, LoopedAgain))
    if isinstance(exc, BannedApiUsed):
        return _Verdict(Outcome.FAILED, str(exc), duration)
    if isinstance(exc, WorkerFault):
        return _Verdict(Outcome.ERROR, str(exc), duration)
    if isinstance(exc, AssertionError):
        # Only the message crafted by the check, never pytest's rendering of its source.
        return _Verdict(Outcome.FAILED, str(exc) or "the check's condition was not met", duration)
    return _Verdict(Outcome.ERROR, f"internal grader error ({type(exc).__name__}: "
                                   f"{str(exc)[:300]}); please tell your instructor", duration,
                    internal=True)


class _ChecksPlugin:
    """Provides the `sub` and `grading` fixtures and collects one verdict per check."""

    def __init__(self, context: GradingContext) -> None:
        self.context = context
        self.collection_errors: list[str] = []
        self.reset(context)

    def reset(self, context: GradingContext) -> None:
        """Ready for another submission (the checks stay collected)."""
        self.context = context
        self.verdicts: dict[str, _Verdict] = {}
        self.board = CheckBoard()
        """What this submission's checks share: outcomes so far (a timing check's gate), timing figures."""
        self.confinement: Confinement | None = None
        self.load_timeout: str | None = None
        self.timed_out: str | None = None
        """The first check that timed out, in its own words; the rest are not waited for."""
        self.loop_sites: tuple[LoopSite, ...] = ()
        """Where this submission's code ran out of time: later checks give it a short grace."""

    @pytest.fixture
    def grading(self, request: pytest.FixtureRequest) -> GradingContext:
        return self._context_for(request.node.originalname)

    def _context_for(self, test_id: str) -> GradingContext:
        ctx = self.context
        return dataclasses.replace(ctx, check_seed=derive_seed(ctx.seed, ctx.exercise.id, test_id),
                                   test_id=test_id, board=self.board)

    @pytest.fixture
    def sub(self, request: pytest.FixtureRequest) -> Any:
        """The submission, loaded in a fresh confined worker for this check alone."""
        ctx = self.context
        if self.load_timeout is not None:
            # A file whose import-time code ran out of time once would again, on every
            # check: that would cost the full limit each time (minutes per exercise).
            raise LoadTimeout(f"{self.load_timeout} (in an earlier check; not loaded again)")
        limit = ctx.exercise.check_seconds
        if self.timed_out is not None:
            # Code that looped once (an endless loop, or far too slow) may again wherever a
            # check reaches it. Where the worker said which function it was in, later workers
            # give that function half a second (LoopGuard: it may return at once on other
            # inputs); anything else gets a short leash. A looping student costs about one
            # check limit per exercise, not one per check, and the checks the looping code
            # does not stop still earn their points.
            limit = min(limit, AFTER_TIMEOUT_S)
        try:
            seed = derive_seed(self._context_for(request.node.originalname).check_seed, "worker")
            session = WorkerSession.for_exercise(ctx.launcher, ctx.exercise, ctx.source,
                                                 ctx.filename, seed, time_limit_s=limit,
                                                 looped=self.loop_sites)
        except LoadTimeout as exc:
            self.load_timeout = str(exc)
            raise
        request.addfinalizer(session.close)
        if self.confinement is None:
            self.confinement = session.confinement
        if getattr(request.module, AUDIT_SETTING, False) is True:
            # The check file's statement says inputs are left alone: every call is audited.
            return audited(session.root)
        return session.root

    @pytest.fixture(autouse=True)
    def _seeded(self, request: pytest.FixtureRequest) -> None:
        # Every check draws its inputs from its own seed: reproducible with --seed, and
        # unknown to the student without it.
        seed_torch(self._context_for(request.node.originalname).check_seed)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        yield
        test_id = getattr(item, "originalname", item.name)
        if call.when == "setup" and call.excinfo is not None:
            self._record(test_id, _verdict_from(call.excinfo, call.duration))
        elif call.when == "call":
            verdict = _verdict_from(call.excinfo, call.duration)
            verdict.timing = self.board.timings.get(test_id)
            self._record(test_id, verdict)
        elif call.when == "teardown" and call.excinfo is not None and test_id not in self.verdicts:
            self._record(test_id, _verdict_from(call.excinfo, call.duration))

    def _record(self, test_id: str, verdict: _Verdict) -> None:
        self.verdicts[test_id] = verdict
        self.board.outcomes[test_id] = verdict.outcome
        if verdict.outcome is not Outcome.TIMEOUT:
            return
        if verdict.loop_site is not None and verdict.loop_site not in self.loop_sites:
            self.loop_sites += (verdict.loop_site,)
        if self.timed_out is None:
            self.timed_out = verdict.message
        elif self.load_timeout is None and not verdict.looped_again:
            verdict.message += (f" (not waited for longer: an earlier check of this exercise "
                                f"timed out, so the checks after it get {AFTER_TIMEOUT_S:g} s)")

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        # A check file that fails to import is the exercise author's bug: name it for the
        # instructor (it is our code, so showing it leaks nothing).
        if report.failed:
            text = str(report.longrepr).strip().splitlines()
            self.collection_errors.append(f"{Path(report.nodeid).name}: {text[-1] if text else 'failed'}")

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        # Timing checks last, so a crash elsewhere is reported before a long measurement.
        items.sort(key=lambda it: is_timing_check(getattr(it, "function", None)))


@dataclass(frozen=True)
class CheckRun:
    """The checks of one exercise, run against one submission file."""

    results: tuple[CheckResult, ...]
    confinement: Confinement | None = None
    """What the first worker said it was confined by (None: no worker started)."""
    internal_errors: tuple[str, ...] = ()
    """Test ids of the checks that failed because of the grader or the check itself."""


def _pytest_args(exercise: Exercise, include_hidden: bool) -> list[str]:
    files = [str(f) for f in exercise.check_files(include_hidden)]
    blocked = [arg for name in _installed_plugins() for arg in ("-p", f"no:{name}")]
    return [*files, "-s", "--assert=plain", "--import-mode=importlib",
            "-p", "no:cacheprovider", "-p", "no:terminal", *blocked,
            "-c", str(_EMPTY_INI), "--rootdir", str(exercise.folder.parent)]


@functools.cache
def _installed_plugins() -> tuple[str, ...]:
    """The pytest plugins installed beside pytest (entry points), all kept out of grading.

    An instructor's pytest-randomly would reorder and reseed the checks, pytest-timeout,
    xdist or a coverage plugin would change how they run; none belongs in a grade.
    Loading them also cost 70 ms per process here.
    """
    from importlib.metadata import entry_points

    return tuple(sorted({e.name for e in entry_points(group="pytest11")} | {"timeout"}))


class _CollectedChecks:
    """An exercise's check files collected once in this process, run again for each submission.

    A fresh pytest session per submission costs collection, configuration and its teardown
    (a forced garbage collection) every time: about a third of a second per exercise.
    """

    def __init__(self, exercise: Exercise, include_hidden: bool) -> None:
        from _pytest.config import _prepareconfig
        from _pytest.main import Session

        self.busy = threading.Lock()
        # A placeholder context until `run` hands over each submission's own.
        placeholder = GradingContext(exercise, 0, 0, "cpu", None, "", "")
        self.plugin = _ChecksPlugin(placeholder)
        config = _prepareconfig(_pytest_args(exercise, include_hidden), plugins=[self.plugin])
        config._do_configure()
        session = Session.from_config(config)
        config.hook.pytest_sessionstart(session=session)
        config.hook.pytest_collection(session=session)
        self.config, self.session = config, session
        self.items: list[pytest.Item] = list(session.items)

    def run(self, context: GradingContext) -> dict[str, _Verdict]:
        """Every collected check against the submission in `context`; verdicts by test id."""
        from _pytest.runner import runtestprotocol

        self.plugin.reset(context)
        for index, item in enumerate(self.items):
            # Nothing of the previous submission may show in this one's report.
            item._report_sections = []
            following = self.items[index + 1] if index + 1 < len(self.items) else None
            context.launcher.more_expected = following is not None
            try:
                runtestprotocol(item, log=False, nextitem=following)
            finally:
                context.launcher.more_expected = True  # another exercise may follow
            if following is not None and _stop_at_first_loss.get() and _lost_points(context, self.plugin):
                self.session._setupstate.teardown_exact(None)  # as after the last item
                break
        return self.plugin.verdicts


_stop_at_first_loss: contextvars.ContextVar[bool] = contextvars.ContextVar("stop_at_first_loss",
                                                                          default=False)


def _lost_points(context: GradingContext, plugin: _ChecksPlugin) -> bool:
    points = {c.test_id: c.points for c in context.exercise.checks}
    return any(v.outcome is not Outcome.PASSED and points.get(t, 0) > 0 for t, v in plugin.verdicts.items())


@contextlib.contextmanager
def stopping_at_first_loss(stop: bool = True) -> Iterator[None]:
    """Meanwhile (in this thread) an exercise's checks stop after the first that loses points;
    the rest are reported as not run. Only `verify --mutate` asks: its mutant is killed by then."""
    token = _stop_at_first_loss.set(stop)
    try:
        yield
    finally:
        _stop_at_first_loss.reset(token)


_collected: dict[tuple[Path, bool, tuple[Path, ...]], _CollectedChecks | None] = {}
_collected_lock = threading.Lock()


def _collection_key(exercise: Exercise, include_hidden: bool) -> tuple[Path, bool, tuple[Path, ...]]:
    # The check files too: two Exercise objects of one folder may run different files.
    return exercise.folder, include_hidden, tuple(exercise.check_files(include_hidden))


def _collected_for(exercise: Exercise, include_hidden: bool) -> _CollectedChecks | None:
    """This process's collected checks of the exercise, free for use; None: run pytest afresh."""
    with _collected_lock:
        key = _collection_key(exercise, include_hidden)
        if key not in _collected:
            try:
                _collected[key] = _CollectedChecks(exercise, include_hidden)
            except Exception as exc:  # noqa: BLE001 - a pytest without these internals
                _slow_path_taken(exc)
                _collected[key] = None
        found = _collected[key]
        if found is None or not found.busy.acquire(blocking=False):
            return None  # another thread of this process is running these checks right now
        return found


class SlowCheckPath(UserWarning):
    """This pytest lacks the internals the fast check runner drives: checks are collected afresh."""


_slow_path_said: list[str] = []


def _slow_path_taken(exc: Exception) -> None:
    """Says once per process that checks are collected afresh for every file (same grades,
    about a third of a second more per exercise), and why: this pytest lacks what the fast
    path drives (its private configuration, run and report internals)."""
    if _slow_path_said:
        return
    _slow_path_said.append(f"{type(exc).__name__}: {exc}")
    warnings.warn(f"nnlab: pytest {pytest.__version__} does not offer the internals nnlab's fast "
                  f"check runner uses ({type(exc).__name__}: {str(exc)[:200]}); checks are "
                  f"collected afresh for every file instead (same grades, slower). nnlab is "
                  f"tested with pytest {PYTEST_TESTED}.", SlowCheckPath, stacklevel=2)


def _verdicts_afresh(exercise: Exercise, include_hidden: bool,
                     context: GradingContext) -> tuple[dict[str, _Verdict], _ChecksPlugin, int]:
    plugin = _ChecksPlugin(context)
    exit_code = pytest.main(_pytest_args(exercise, include_hidden), plugins=[plugin])
    return plugin.verdicts, plugin, int(exit_code)


@functools.cache
def _warm_up_grader() -> None:
    """Pays, once per process, the imports of the grader's first gradcheck.

    torch.autograd.gradcheck's first call imports torch.fx's symbolic shapes and sympy
    (0.2 s here). Done before the first check, it overlaps the fork server's boot in a
    fresh `nnlab submit` instead of adding to it.
    """
    x = torch.ones(2, dtype=torch.float64, requires_grad=True)
    torch.autograd.gradcheck(torch.sin, (x,))


def run_checks(exercise: Exercise, source: str, filename: str, launcher: WorkerLauncher,
               seed: int, include_hidden: bool) -> CheckRun:
    """Runs the public (and hidden) check files; one CheckResult per declared check."""
    _warm_up_grader()
    context = GradingContext(exercise, seed, seed, timing_device(), launcher, source, filename)
    collected = _collected_for(exercise, include_hidden)
    if collected is not None:
        try:
            verdicts, plugin = dict(collected.run(context)), collected.plugin
            why = "; ".join(plugin.collection_errors) or "the check was not collected"
        except BaseException:
            # Interrupted halfway, its fixtures may not be torn down: collect afresh next time.
            with _collected_lock:
                _collected.pop(_collection_key(exercise, include_hidden), None)
            raise
        finally:
            collected.busy.release()
    else:
        verdicts, plugin, exit_code = _verdicts_afresh(exercise, include_hidden, context)
        why = "; ".join(plugin.collection_errors) or f"pytest exit code {exit_code}"
    results, internal = [], []
    for spec in exercise.checks_for(include_hidden):
        verdict = verdicts.get(spec.test_id) or _Verdict(
            Outcome.ERROR, f"the check could not be run (internal grader error: {why}); "
                           "please tell your instructor", 0.0, internal=True)
        results.append(_result(spec, verdict))
        if verdict.internal:
            internal.append(spec.test_id)
    return CheckRun(tuple(results), plugin.confinement, tuple(internal))


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
