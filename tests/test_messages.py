"""What checks and commands say when something fails: the real reason, counts that agree, plurals."""
from __future__ import annotations

from pathlib import Path

import pytest

from nnlab.grader.exercise import get_exercise
from nnlab.grader.pipeline import grade_file

MUTANTS = Path(__file__).parent / "mutants"


@pytest.mark.slow
def test_a_wrong_backward_without_autograd_is_not_blamed_on_autograd(launcher) -> None:
    """Does the 'written by hand, without autograd' check, failing a backward that calls no
    autograd but gets the gradient wrong, say so instead of only quoting the gradient's values?"""
    exercise = get_exercise("custom_sigmoid")
    source = (MUTANTS / "custom_sigmoid" / "tanh_derivative.py").read_text(encoding="utf-8")
    result = grade_file(exercise, source, "custom_sigmoid.py", launcher, seed=7,
                        include_hidden=True).result
    [check] = [c for c in result.checks if c.test_id == "test_backward_by_hand"]
    assert check.outcome.value == "failed"
    assert check.message.startswith("backward calls no autograd, but "), check.message
    assert "gradient" in check.message


def test_the_hidden_check_count_leaves_out_exercises_not_handed_in() -> None:
    """Before the due date, does a student's count of hidden checks waiting leave out the
    exercises they did not hand in (those have no check to wait for)?"""
    import datetime as dt

    from nnlab.course.config import Assignment
    from nnlab.course.policy import student_view
    from nnlab.grader.pipeline import unrunnable
    from nnlab.results import Confinement, Outcome, SubmissionResult

    handed_in, missing = get_exercise("my_linear"), get_exercise("custom_sigmoid")
    result = SubmissionResult("ana", (
        unrunnable(handed_in, True, Outcome.FAILED, "wrong"),
        unrunnable(missing, True, Outcome.SKIPPED, "custom_sigmoid.py was not submitted", submitted=False),
    ), 1, Confinement("none", ()), "", "0", "")
    due = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    assignment = Assignment("hw1", "hw1", ("my_linear", "custom_sigmoid"), due, due, 0.0, 0, "last",
                            "after_due")
    view = student_view(result, assignment, due - dt.timedelta(days=1), 0)
    hidden = sum(1 for c in handed_in.checks_for(True) if c.visibility.value == "hidden")
    assert view["hidden_checks"] == hidden
    assert view["hidden_note"].startswith(f"{hidden} hidden checks")


@pytest.mark.slow
def test_the_embedded_cluster_keeps_dask_warnings_from_the_user() -> None:
    """Does a warning of the embedded cluster's nannies (such as 'Worker process still alive
    after 4.0 seconds, killing' at shutdown) stay off the user's terminal, errors still shown?"""
    import subprocess
    import sys

    script = ("import logging\nfrom nnlab.engine.cluster import start_local\n"
              "if __name__ == '__main__':\n"
              "    cluster, client = start_local(1)\n"
              "    logging.getLogger('distributed.nanny').warning('probe warning')\n"
              "    logging.getLogger('distributed.nanny').error('probe error')\n"
              "    client.close()\n    cluster.close()\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "probe warning" not in done.stderr and "probe error" in done.stderr
