"""The result records' JSON form (results.json, `nnlab submit --json`): exact keys, order and values."""
from __future__ import annotations

import dataclasses
import json

import pytest

from nnlab.results import (Adjustment, CheckResult, Confinement, ExerciseResult, Outcome,
                           SubmissionResult, TimingInfo, Visibility, result_from_json)

# The JSON these records gave before it was derived from their fields: a stable interface.
FULL = json.dumps({'student': 'alice',
                   'score': 2.0,
                   'max_score': 5.0,
                   'original_score': 1.0,
                   'exercises': [{'id': 'my_linear',
                                  'title': 'A linear layer',
                                  'score': 2.0,
                                  'max_score': 3.0,
                                  'original_score': 1.0,
                                  'adjustments': [{'check': 'test_fast',
                                                   'kind': 'delta',
                                                   'points': -1.5,
                                                   'change': -1.0,
                                                   'reason': 'late',
                                                   'author': 'prof',
                                                   'date': '2026-01-01'},
                                                  {'check': None,
                                                   'kind': 'override',
                                                   'points': 3.0,
                                                   'change': 2.0,
                                                   'reason': '',
                                                   'author': 'ta',
                                                   'date': ''}],
                                  'note': '',
                                  'submitted': True,
                                  'checks': [{'name': 'Shape ok',
                                              'score': 1.0,
                                              'max_score': 1.0,
                                              'outcome': 'passed',
                                              'visibility': 'visible',
                                              'message': '',
                                              'test_id': 'test_shape',
                                              'duration_s': 0.1235},
                                             {'name': 'Fast',
                                              'score': 0.0,
                                              'max_score': 2.0,
                                              'outcome': 'skipped',
                                              'visibility': 'hidden',
                                              'message': 'noisy',
                                              'test_id': 'test_fast',
                                              'duration_s': 3.0,
                                              'timing': {'device': 'cpu (torch)',
                                                         'ratio': 1.25,
                                                         'threshold': 2.0,
                                                         'spread': 0.05,
                                                         'student_s': 1e-05,
                                                         'reference_s': 8e-06,
                                                         'rounds': 7}}]},
                                 {'id': 'focal',
                                  'title': 'Focal',
                                  'score': 0,
                                  'max_score': 2.0,
                                  'original_score': 0,
                                  'adjustments': [],
                                  'note': 'focal.py was not submitted',
                                  'submitted': False,
                                  'checks': []}],
                   'seed': 42,
                   'confinement': {'level': 'partial', 'applied': ['rlimits', 'netns'], 'missing': ['landlock']},
                   'device': 'cpu',
                   'nnlab_version': '0.1.0',
                   'graded_at': '2026-12-06T10:00:00+00:00'})
EMPTY = json.dumps({'student': None,
                    'score': 0,
                    'max_score': 0,
                    'original_score': 0,
                    'exercises': [],
                    'seed': 0,
                    'confinement': {'level': 'none', 'applied': [], 'missing': []},
                    'device': '',
                    'nnlab_version': '',
                    'graded_at': ''})


def _full() -> SubmissionResult:
    timing = TimingInfo("cpu (torch)", 1.25, 2.0, 0.05, 1e-5, 8e-6, 7)
    shape = CheckResult("Shape ok", "test_shape", 1.0, 1.0, Outcome.PASSED, Visibility.VISIBLE, "",
                        0.123456789)
    fast = CheckResult("Fast", "test_fast", 0.0, 2.0, Outcome.SKIPPED, Visibility.HIDDEN, "noisy",
                       3.0, timing)
    late = Adjustment(kind="delta", points=-1.5, change=-1.0, reason="late", author="prof",
                      date="2026-01-01", check="test_fast")
    whole = Adjustment(kind="override", points=3.0, change=2.0, reason="", author="ta", date="")
    linear = ExerciseResult("my_linear", "A linear layer", (shape, fast), 3.0, "", True, (late, whole))
    focal = ExerciseResult("focal", "Focal", (), 2.0, "focal.py was not submitted", False)
    return SubmissionResult("alice", (linear, focal), 42,
                            Confinement("partial", ("rlimits", "netns"), ("landlock",)), "cpu",
                            "0.1.0", "2026-12-06T10:00:00+00:00")


def test_json_keeps_its_exact_keys_order_and_values() -> None:
    """Is the JSON of a result (every kind of field: derived scores, rounding, omitted timing,
    null check, confinement) byte for byte what it has always been, and read back the same?"""
    empty = SubmissionResult(None, (), 0, Confinement("none", ()), "", "", "")
    for record, expected in ((_full(), FULL), (empty, EMPTY)):
        assert json.dumps(record.to_json()) == expected
        assert json.dumps(result_from_json(json.loads(expected)).to_json()) == expected
    assert result_from_json(json.loads(FULL)) == dataclasses.replace(_full(), exercises=(
        dataclasses.replace(_full().exercises[0], checks=(dataclasses.replace(
            _full().exercises[0].checks[0], duration_s=0.1235), _full().exercises[0].checks[1])),
        _full().exercises[1]))


def test_a_reader_takes_the_old_fallbacks_for_missing_keys() -> None:
    """Does a JSON object with only the required keys (a student's view of a result) read with
    the same fallbacks as before: test id from the name, title from the id, no confinement?"""
    data = {"exercises": [{"id": "x", "max_score": 1, "checks": [
        {"name": "n", "score": 1, "max_score": 1, "outcome": "passed", "visibility": "hidden"}],
        "adjustments": [{"kind": "delta", "points": 1, "change": 1, "check": None}]}]}
    result = result_from_json(data)
    check = result.exercises[0].checks[0]
    assert (check.test_id, check.message, check.duration_s, check.timing) == ("n", "", 0.0, None)
    assert result.exercises[0].title == "x" and result.exercises[0].adjustments[0].check == ""
    assert result.confinement == Confinement("none", ()) and result.student is None
    with pytest.raises(KeyError):
        result_from_json({"exercises": [{"id": "x", "checks": []}]})


@pytest.mark.parametrize("cls", [TimingInfo, CheckResult, Adjustment, ExerciseResult, SubmissionResult])
def test_every_field_is_written(cls: type) -> None:
    """Does each result record's JSON name every one of its fields (a new field cannot be
    forgotten in the JSON)?"""
    keys = cls.JSON_KEYS or tuple(f.name for f in dataclasses.fields(cls))
    assert {f.name for f in dataclasses.fields(cls)} <= set(keys)
