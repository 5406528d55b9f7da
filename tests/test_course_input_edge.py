"""The course server's input edge: each hostile body, name or file found so far gets a 4xx, costs nothing."""
from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from test_course_server import BEFORE_DUE, COURSE_TOML, Served, add_accounts, call, upload

from nnlab.grader.submission import MAX_SOURCE_BYTES, from_bytes

DEEP = 1000
"""Levels of nesting that exhausted Python's recursion limit in the server's handlers."""


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A server before hw1's due date, with accounts made straight in its database."""
    root = tmp_path_factory.mktemp("edge")
    (root / "course.toml").write_text(COURSE_TOML, encoding="utf-8")
    state = {"root": root, "tokens": add_accounts(root / "data")}
    state["served"] = Served(root / "course.toml", root / "data", BEFORE_DUE)
    yield state
    state["served"].stop()


def notebook(*cells: dict[str, Any]) -> bytes:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                       "cells": list(cells)}).encode()


def code_cell(source: Any) -> dict[str, Any]:
    return {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
            "source": source}


def attempts_left(edge: dict[str, Any], student: str, assignment: str = "hw1") -> int:
    listed = call(edge["served"].url, "GET", "/api/v1/assignments", edge["tokens"][student])[2]
    return next(a for a in listed if a["id"] == assignment)["attempts_left"]


def refused(edge: dict[str, Any], student: str, raw: bytes) -> tuple[int, str]:
    """(status, detail) of an upload the server must refuse with a message, costing nothing."""
    before = attempts_left(edge, student)
    status, headers, body = call(edge["served"].url, "POST", "/api/v1/submissions",
                                 edge["tokens"][student], raw=raw)
    assert 400 <= status < 500, (status, body)
    assert isinstance(body, dict) and isinstance(body["detail"], str) and body["detail"], body
    assert attempts_left(edge, student) == before
    return status, body["detail"]


def encoded(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()


def test_json_nested_a_thousand_deep_is_a_422(edge: dict[str, Any]) -> None:
    """Does a body nested 1000 deep, in the upload or in an adjustment, answer 422, not 500?"""
    deep = b'{"assignment": "hw1", "files": ' + b"[" * DEEP + b"]" * DEEP + b"}"
    assert refused(edge, "ada", deep)[0] == 422
    status, _, body = call(edge["served"].url, "POST", "/api/v1/assignments/hw1/adjustments",
                           edge["tokens"]["instructor"], raw=b"[" * DEEP + b"]" * DEEP)
    assert status == 422 and body["detail"]


def test_a_notebook_nested_a_thousand_deep_is_refused(edge: dict[str, Any]) -> None:
    """Does a notebook whose JSON nests 1000 deep get a 422 naming the notebook?"""
    deep = b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [' + \
        b"[" * DEEP + b"]" * DEEP + b"]}"
    status, detail = refused(edge, "ben", encoded(upload({"leaky_relu.ipynb": deep})))
    assert status == 422 and "leaky_relu.ipynb: is not a Jupyter notebook" in detail


@pytest.mark.parametrize("source", [
    b"(" * 200,
    b"x = " + b"[" * 150 + b"]" * 150 + b"\n",
    b"x = " + b"-" * 100_000 + b"1\n",
    b"x = 1" + b" + 1" * 200_000 + b"\n",
    b"x = 1" + b" + 1" * 150 + b"\n",
    b"return 1\n",
], ids=["open-parens", "nested-lists", "unary-chain", "long-sum", "deeper-than-the-grader-walks", "compile-error"])
def test_python_the_parser_gives_up_on_is_a_422(edge: dict[str, Any], source: bytes) -> None:
    """Does source that makes the parser recurse, run out of stack or nest deeper than the
    grader walks get a 422 'does not parse', as a file and inside a notebook?"""
    status, detail = refused(edge, "cy", encoded(upload({"leaky_relu.py": source})))
    assert status == 422 and "leaky_relu.py: does not parse as Python" in detail
    cell = notebook(code_cell(source.decode()))
    status, detail = refused(edge, "cy", encoded(upload({"leaky_relu.ipynb": cell})))
    assert status == 422 and "leaky_relu.ipynb: does not parse as Python" in detail


@pytest.mark.parametrize("field", ["name", "assignment"])
def test_a_lone_surrogate_gets_an_answer_that_can_be_read(edge: dict[str, Any], field: str) -> None:
    """Does a file name or assignment id holding a lone surrogate get a 4xx whose JSON decodes,
    quoting the name with the surrogate escaped?"""
    data = upload({"leaky_relu.py": b"x = 1\n"})
    if field == "name":
        data["files"][0]["name"] = "leaky_relu\ud800.py"
    else:
        data["assignment"] = "hw1\ud800"
    status, detail = refused(edge, "dee", encoded(data))
    assert status == (422 if field == "name" else 404)
    assert "\\ud800" in detail and "\ud800" not in detail


def test_any_error_quoting_a_lone_surrogate_can_be_encoded(edge: dict[str, Any]) -> None:
    """Does an error whose message quotes the request as sent (an adjustment's unknown field)
    still answer a 4xx whose JSON decodes, the surrogate escaped?"""
    status, _, body = call(edge["served"].url, "POST", "/api/v1/assignments/hw1/adjustments",
                           edge["tokens"]["instructor"], raw=encoded({"student": "ada", "\udc80": 1}))
    assert status == 422 and "\\udc80" in body["detail"] and "\udc80" not in body["detail"]


@pytest.mark.parametrize("over", [1, 2])
def test_a_file_just_over_the_limit_is_a_413(edge: dict[str, Any], over: int) -> None:
    """Is a file 1 or 2 bytes over the grader's limit refused with 413, counted in decoded bytes?"""
    data = b"x = 1\n" + b"#" * (MAX_SOURCE_BYTES - 6 + over)
    status, detail = refused(edge, "s01", encoded(upload({"leaky_relu.py": data})))
    assert status == 413 and "leaky_relu.py is larger than 1,000,000 bytes" in detail


def test_a_file_at_the_limit_is_accepted_and_readable(edge: dict[str, Any]) -> None:
    """Is a file of exactly the limit accepted, and is what was stored the grader's to read?"""
    data = b"x = 1\n" + b"#" * (MAX_SOURCE_BYTES - 6)
    status, _, body = call(edge["served"].url, "POST", "/api/v1/submissions", edge["tokens"]["s02"],
                           upload({"leaky_relu.py": data}))
    assert status == 202, body
    assert_readable(edge, "s02", body["id"])


@pytest.mark.parametrize("content, fragment", [
    (notebook({"cell_type": "markdown", "metadata": {}, "source": "# only words"}),
     "has no Python in its code cells"),
    (notebook(code_cell("def leaky_relu(x:\n")), "does not parse as Python"),
    (notebook(code_cell(None)), "neither text nor a list of lines"),
    (notebook(code_cell(["x = 1\n", 2])), "is not a Jupyter notebook"),
    (notebook(code_cell("x = '\ud800'\n")), "not valid Unicode"),
    (json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": "x = 1"}).encode(),
     "is not a Jupyter notebook"),
], ids=["no-code-cell", "does-not-parse", "source-null", "source-not-strings", "surrogate",
        "cells-not-a-list"])
def test_a_notebook_the_grader_cannot_read_is_refused(edge: dict[str, Any], content: bytes,
                                                      fragment: str) -> None:
    """Is a notebook the grader cannot turn into Python a 422 naming why, with no attempt spent?"""
    status, detail = refused(edge, "s03", encoded(upload({"leaky_relu.ipynb": content})))
    assert status == 422 and detail.startswith("cannot be graded, no attempt used: leaky_relu.ipynb: ")
    assert fragment in detail


def assert_readable(edge: dict[str, Any], student: str, submission_id: str) -> None:
    """Each stored file of the submission gives the grader's reader a source to grade."""
    status, _, stored = call(edge["served"].url, "GET", f"/api/v1/submissions/{submission_id}/files",
                             edge["tokens"][student])
    assert status == 200
    for file in stored["files"]:
        read = from_bytes(file["name"].split(".")[0], Path(file["name"]),
                          base64.b64decode(file["content"]))
        assert read.source is not None, read.problem
