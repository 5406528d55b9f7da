"""Fuzzing the course server's input edge: no 500, and only uploads the grader can read accepted."""
from __future__ import annotations

import base64
import json
import os
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from test_course_server import BEFORE_DUE, COURSE_TOML, STUDENTS, Served, add_accounts, call

from nnlab.grader.submission import MAX_SOURCE_BYTES, from_bytes

FUZZ = settings(max_examples=int(os.environ.get("NNLAB_FUZZ_EXAMPLES", "40")), deadline=None,
                derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
"""Bounded so the module runs in under a minute (NNLAB_FUZZ_EXAMPLES=1000 for a long hunt);
derandomized so a failure repeats."""
SURROGATE = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
TEXT = st.text(st.characters(codec=None) | SURROGATE, max_size=30)
NAMES = st.sampled_from(["leaky_relu.py", "leaky_relu.ipynb", "my_linear.py", "my_linear.ipynb",
                         "../leaky_relu.py", "leaky_relu.PY", ""]) | TEXT
ASSIGNMENTS = st.sampled_from(["hw1", "quiz", "hw9"]) | TEXT
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(TEXT, inner, max_size=4), max_leaves=10)
PYTHON = st.sampled_from(["x = 1\n", "def leaky_relu(x):\n    return x\n", "(" * 200, "return 1\n",
                          "x = 1" + " + 1" * 150, "x = " + "-" * 100_000 + "1", "a\x00b", "   \n",
                          "import torch\n", "x = '\ud800'\n"]) | TEXT
CELL = st.fixed_dictionaries({"cell_type": st.sampled_from(["code", "markdown"]) | JSON},
                             optional={"source": PYTHON | JSON | st.lists(PYTHON, max_size=3),
                                       "metadata": JSON, "outputs": JSON, "execution_count": JSON})
SAVED_CELL = st.builds(lambda kind, source: {"cell_type": kind, "metadata": {}, "source": source,
                                             **({"outputs": [], "execution_count": None}
                                                if kind == "code" else {})},
                       st.sampled_from(["code", "code", "markdown"]),
                       PYTHON | st.lists(PYTHON, max_size=3))
"""A cell as Jupyter saves it, so that some fuzzed notebooks are accepted and read back."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A server before hw1's due date, with accounts made straight in its database."""
    root = tmp_path_factory.mktemp("fuzz")
    (root / "course.toml").write_text(COURSE_TOML, encoding="utf-8")
    state = {"root": root, "tokens": add_accounts(root / "data")}
    state["served"] = Served(root / "course.toml", root / "data", BEFORE_DUE)
    yield state
    state["served"].stop()


def dumps(data: Any) -> bytes:
    """JSON as a client may send it: lone surrogates as escapes (ensure_ascii)."""
    return json.dumps(data).encode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def attempts(server: dict[str, Any], student: str) -> dict[str, int]:
    listed = call(server["served"].url, "GET", "/api/v1/assignments", server["tokens"][student])[2]
    return {a["id"]: a["attempts_left"] for a in listed}


def post(server: dict[str, Any], student: str, raw: bytes) -> tuple[int, Any]:
    """POSTs an upload and checks the edge's promises: no 5xx; a refusal is a 4xx with a message
    and costs nothing; an acceptance spends one attempt and is what the grader reads."""
    before = attempts(server, student)
    status, _, body = call(server["served"].url, "POST", "/api/v1/submissions",
                           server["tokens"][student], raw=raw)
    assert 0 < status < 500, (status, body)
    event(f"answered {status}")
    if status == 202:
        assignment = json.loads(raw)["assignment"]
        assert body["attempts_left"] == before[assignment] - 1
        assert_readable(server, student, body["id"])
    else:
        assert isinstance(body, dict) and isinstance(body.get("detail"), str) and body["detail"]
        assert attempts(server, student) == before, body
    return status, body


def assert_readable(server: dict[str, Any], student: str, submission_id: str) -> None:
    """Each stored file gives the grader's own reader a source to grade."""
    status, _, stored = call(server["served"].url, "GET",
                             f"/api/v1/submissions/{submission_id}/files", server["tokens"][student])
    assert status == 200
    for file in stored["files"]:
        read = from_bytes(file["name"].split(".")[0], Path(file["name"]),
                          base64.b64decode(file["content"]))
        assert read.source is not None, read.problem


@FUZZ
@given(body=st.binary(max_size=200) | JSON.map(dumps)
       | st.builds(lambda n, head: head.encode() + b"[" * n + b"]" * n + b"}", st.integers(1, 3000),
                   st.sampled_from(['{"assignment": "hw1", "files": ', '{"assignment": ']))
       | st.fixed_dictionaries({"assignment": ASSIGNMENTS | JSON, "files": JSON}).map(dumps),
       student=st.sampled_from(STUDENTS[:5]))
def test_any_body(server: dict[str, Any], body: bytes, student: str) -> None:
    """Whatever the request body holds (bytes, JSON, JSON nested thousands deep), is the answer
    a 4xx with a message, or an acceptance the grader can read?"""
    post(server, student, body)


@FUZZ
@given(assignment=ASSIGNMENTS, names=st.lists(NAMES, min_size=1, max_size=3),
       source=PYTHON, student=st.sampled_from(STUDENTS[5:10]))
def test_any_names(server: dict[str, Any], assignment: str, names: list[str], source: str,
                   student: str) -> None:
    """Whatever the assignment id and file names hold (lone surrogates, paths, case), and
    whatever Python the file holds, is the answer a 4xx with a message or a readable upload?"""
    data = source.encode("utf-8", "surrogatepass")
    post(server, student, dumps({"assignment": assignment,
                                 "files": [{"name": n, "content": b64(data)} for n in names]}))


@FUZZ
@given(cells=st.lists(SAVED_CELL, min_size=1, max_size=3) | st.lists(SAVED_CELL | CELL | JSON, max_size=4)
       | JSON, metadata=st.just({}) | JSON, version=st.just(4) | JSON, student=st.sampled_from(STUDENTS[10:15]))
def test_any_notebook(server: dict[str, Any], cells: Any, metadata: Any, version: Any,
                      student: str) -> None:
    """Whatever shape a notebook's JSON takes, is it refused with a message or accepted as a
    notebook the grader reads?"""
    notebook = dumps({"nbformat": version, "nbformat_minor": 5, "metadata": metadata, "cells": cells})
    post(server, student, dumps({"assignment": "hw1",
                                 "files": [{"name": "leaky_relu.ipynb", "content": b64(notebook)}]}))


@settings(FUZZ, max_examples=12)
@given(offset=st.integers(-3, 3), tail=st.sampled_from(["", "=", "\n", "A", "==="]),
       student=st.sampled_from(STUDENTS[15:20]))
def test_sizes_at_the_limit(server: dict[str, Any], offset: int, tail: str, student: str) -> None:
    """Around the size limit (and with base64 padded, cut or spaced), is a file over it a 413,
    one within it accepted or refused with a message, never both ways for the same bytes?"""
    data = b"x = 1\n" + b"#" * (MAX_SOURCE_BYTES - 6 + offset)
    status, body = post(server, student, dumps({"assignment": "hw1", "files": [
        {"name": "leaky_relu.py", "content": b64(data) + tail}]}))
    if offset > 0:
        assert status == 413, body
    elif not tail:
        assert status == 202, body


@FUZZ
@given(segment=TEXT, who=st.sampled_from(["ada", "instructor"]),
       route=st.sampled_from(["/api/v1/submissions/{}", "/api/v1/submissions/{}/files",
                              "/submissions/{}", "/api/v1/assignments/{}/results",
                              "/api/v1/assignments/{}/scores.csv", "/assignments/{}/report",
                              "/api/v1/submissions?assignment={}", "/api/v1/submissions?student={}"]))
def test_any_path_or_query(server: dict[str, Any], segment: str, who: str,
                           route: str) -> None:
    """Whatever an id in the path or the query holds, is every GET answered below 500?"""
    quoted = urllib.parse.quote(segment.encode("utf-8", "surrogatepass"), safe="")
    status, _, body = call(server["served"].url, "GET", route.format(quoted or "x"),
                           server["tokens"][who])
    assert 0 < status < 500, (status, body)
