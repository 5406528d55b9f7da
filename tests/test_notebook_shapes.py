"""The notebook and source reader on malformed shapes: one typed error with a message, never a crash."""
from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnlab.errors import NnlabError, SubmissionError
from nnlab.grader.submission import MAX_NESTING, from_bytes
from nnlab.notebook import NotebookUnreadable, read_code

NAME = "leaky_relu.ipynb"


def notebook(cells: Any = None, **top: Any) -> str:
    data = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells or []}
    data.update(top)
    return json.dumps(data)


def code_cell(source: Any, **more: Any) -> dict[str, Any]:
    return {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
            "source": source, **more}


@pytest.mark.parametrize("text", [
    notebook([code_cell(None)]),
    notebook([code_cell(["x = 1\n", None])]),
    notebook([code_cell([1, 2])]),
    notebook([code_cell({"x": 1})]),
    notebook([code_cell(7)]),
    notebook([code_cell("x = '\ud800'\n")]),
    notebook("x = 1"),
    notebook({"0": code_cell("x = 1")}),
    notebook([1]),
    notebook([None]),
    notebook([code_cell("x = 1")], metadata=[1]),
    notebook([code_cell("x = 1", metadata="m")]),
    json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}}),
    json.dumps({"nbformat": "4", "cells": []}),
    json.dumps({"nbformat": 3, "nbformat_minor": 0, "worksheets": [{"cells": [{"cell_type": "code",
                                                                              "input": None}]}]}),
    '{"nbformat": 4, "cells": [' + "[" * 1000 + "]" * 1000 + "]}",
    "[1, 2]",
    "{cells",
], ids=["source-null", "source-list-with-null", "source-list-of-ints", "source-object", "source-int",
        "lone-surrogate", "cells-string", "cells-object", "cell-int", "cell-null", "metadata-list",
        "cell-metadata-string", "no-cells", "version-string", "v3-null-input", "nested-1000",
        "a-list", "not-json"])
def test_a_malformed_notebook_is_one_typed_error(text: str) -> None:
    """Does every malformed shape raise NotebookUnreadable (an NnlabError) with a one-line
    message naming the file, and never TypeError or another crash?"""
    with pytest.raises(NotebookUnreadable) as raised:
        read_code(text, NAME)
    assert isinstance(raised.value, (NnlabError, SubmissionError))
    message = str(raised.value)
    assert message and "\n" not in message and "Traceback" not in message
    read = from_bytes("leaky_relu", Path(NAME), text.encode("utf-8", "surrogatepass"))
    assert read.source is None and read.problem.startswith(NAME)


@pytest.mark.parametrize("source, fragment", [
    ("x = " + "-" * 100_000 + "1\n", "nests too deeply"),
    ("x = 1" + " + 1" * 200_000 + "\n", "nests too deeply"),
    ("x = 1" + " + 1" * (MAX_NESTING + 5) + "\n", f"nested more than {MAX_NESTING} levels deep"),
    ("return 1\n", "'return' outside function at line 1"),
    ("def f(:\n", "at line 1"),
], ids=["unary-chain", "long-sum", "deeper-than-the-grader-walks", "compile-error", "syntax-error"])
def test_python_the_grader_cannot_walk_is_a_problem_not_an_exception(source: str, fragment: str) -> None:
    """Does source that exhausts the parser's stack, nests past what the grader walks, or does
    not compile give a 'does not parse' problem, as ID.py and as a notebook cell?"""
    read = from_bytes("leaky_relu", Path("leaky_relu.py"), source.encode())
    assert read.source is None and read.problem.startswith("leaky_relu.py does not parse as Python")
    assert fragment in read.problem
    cell = notebook([code_cell("import math"), code_cell(source)])
    read = from_bytes("leaky_relu", Path(NAME), cell.encode())
    assert read.source is None and read.problem.startswith(f"{NAME} does not parse as Python")


def test_ordinary_nesting_still_reads() -> None:
    """Is code nested as deeply as honest code goes still read (the limit is not too tight)?"""
    source = "def f(x):\n    return " + "(" * 40 + "x" + " + 1)" * 40 + "\n"
    read = from_bytes("leaky_relu", Path("leaky_relu.py"), source.encode())
    assert read.source == source, read.problem


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                    | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
CELL = st.fixed_dictionaries({"cell_type": st.sampled_from(["code", "markdown", "raw"]) | JSON},
                             optional={"source": st.text(max_size=60) | JSON
                                       | st.lists(st.text(max_size=30), max_size=4),
                                       "metadata": JSON, "outputs": JSON, "execution_count": JSON})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cells=st.lists(CELL | JSON, max_size=4) | JSON, metadata=JSON,
       version=st.sampled_from([4, 3, "4", None]) | JSON)
def test_any_json_is_read_or_refused_with_a_message(cells: Any, metadata: Any, version: Any) -> None:
    """For any JSON in a notebook's places, does the reader give Python that parses, or a
    message, and nothing else?"""
    text = json.dumps({"nbformat": version, "nbformat_minor": 5, "metadata": metadata,
                       "cells": cells})
    read = from_bytes("leaky_relu", Path(NAME), text.encode("utf-8", "surrogatepass"))
    if read.source is None:
        assert read.problem
    else:
        ast.parse(read.source)
