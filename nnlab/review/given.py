"""Code the statement itself spells out (code blocks, inline code, examples): never evidence of copying."""
from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable

import numpy as np

from nnlab.review.tokens import TokenStream, defined_names, normalize

RUN = 5
"""Tokens in a row a file must share with a statement fragment for them to count as given: a
shorter run (`( V )`, `V = V ;`) is in every file and says nothing about the statement."""
GIVEN_SHARE = 0.5
"""A k-gram with at least this share of given tokens never counts, like a k-gram of the stub:
what is left of it is glue between pieces every student was handed."""

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.DOTALL | re.MULTILINE)
_INLINE = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
_PROMPT = re.compile(r"^\s*(>>>|\.\.\.)( |$)")


def _code_lines(block: str) -> str:
    """A fenced block as code: a doctest keeps its `>>>` / `...` lines (without the prompt)
    and drops the output lines between them."""
    lines = block.splitlines()
    if not any(_PROMPT.match(line) for line in lines):
        return block
    return "\n".join(_PROMPT.sub("", line, count=1) for line in lines if _PROMPT.match(line))


def statement_fragments(markdown: str) -> list[str]:
    """Every piece of code a statement shows: each fenced block (doctest prompts removed) and
    each inline code span, in order. Formulas written as code (`LeakyReLU(x) = ...`) are code
    blocks or spans too."""
    fragments = [textwrap.dedent(_code_lines(m.group(2))) for m in _FENCE.finditer(markdown)]
    prose = _FENCE.sub("\n", markdown)
    fragments.extend(m.group(2).strip() for m in _INLINE.finditer(prose))
    return [f for f in fragments if f.strip()]


def given_runs(fragments: Iterable[str], names: frozenset[str]) -> frozenset[tuple[str, ...]]:
    """Every RUN tokens in a row of every fragment, normalized as a student's file is: `names`
    (what the stub and the solution define) read as the file's own names, since a fragment
    alone does not say which of its names a file would bind."""
    runs: set[tuple[str, ...]] = set()
    for fragment in fragments:
        tokens = normalize(fragment, extra_defined=names | defined_names(fragment)).tokens
        runs.update(tokens[i:i + RUN] for i in range(len(tokens) - RUN + 1))
    return frozenset(runs)


def given_mask(stream: TokenStream, runs: frozenset[tuple[str, ...]]) -> np.ndarray:
    """Which tokens of a file lie in a run it shares with the statement."""
    tokens = stream.tokens
    mask = np.zeros(len(tokens), dtype=bool)
    for i in range(len(tokens) - RUN + 1):
        if tokens[i:i + RUN] in runs:
            mask[i:i + RUN] = True
    return mask


def mostly_given(mask: np.ndarray, starts: np.ndarray, k: int) -> np.ndarray:
    """For each k-gram starting at `starts`: whether GIVEN_SHARE of its tokens or more are given."""
    if len(starts) == 0:
        return np.zeros(0, dtype=bool)
    counts = np.concatenate([[0], np.cumsum(mask, dtype=np.int64)])
    ends = np.minimum(starts + k, len(mask))
    return (counts[ends] - counts[starts]) >= GIVEN_SHARE * k


def exercise_given_runs(statement: str, stub: str, solution: str) -> frozenset[tuple[str, ...]]:
    """given_runs of a statement's code and of the stub itself (a k-gram half made of the stub's
    lines, such as `super().__init__()` and the next line, is glue too), with the names the
    exercise's stub and solution define."""
    names = defined_names(stub) | defined_names(solution)
    return given_runs([*statement_fragments(statement), stub], names)
