"""Every exercise in both languages, in step: same sections, code, formulas and stub code."""
from __future__ import annotations

import ast
import re
import sys

import pytest

from nnlab.grader.exercise import EXERCISES_DIR

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons only
    import tomli as tomllib

EXERCISE_IDS = sorted(p.name for p in EXERCISES_DIR.iterdir() if (p / "exercise.toml").is_file())
TIMED_IDS = [e for e in EXERCISE_IDS if (EXERCISES_DIR / e / "test_timing.py").is_file()]
FENCE = re.compile(r"^([ \t]*)(```|~~~)[^\n]*\n(.*?)^\1\2[ \t]*$", re.M | re.S)
CJK = re.compile(r"[\u4e00-\u9fff]")


def _prose(markdown: str) -> str:
    """The markdown without its fenced code blocks and inline code spans."""
    return re.sub(r"`[^`\n]*`", "", FENCE.sub("", markdown))


def headings(markdown: str) -> list[str]:
    """The level of each `#` heading, in order ('#', '##', ...)."""
    return [m.group(1) for m in re.finditer(r"^(#{1,6})\s", FENCE.sub("", markdown), re.M)]


def code_blocks(markdown: str) -> list[str]:
    return [m.group(0) for m in FENCE.finditer(markdown)]


def formulas(markdown: str) -> list[str]:
    """Every $$...$$ and $...$ of the prose, in order."""
    return re.findall(r"\$\$.+?\$\$|\$[^$\n]+\$", _prose(markdown), re.S)


def code_without_docstrings(source: str) -> str:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:]
    return ast.dump(tree)


def test_the_helpers_see_what_a_reader_sees() -> None:
    """Do the comparisons find headings, code and formulas, and ignore `$` inside code?"""
    text = ("# T\n\nProse $a + b$ and `$HOME`.\n\n## S\n\n  ```python\n  x = 1  # $not$\n  ```\n\n"
            "$$\\sigma(x)$$\n")
    assert headings(text) == ["#", "##"]
    assert code_blocks(text) == ["  ```python\n  x = 1  # $not$\n  ```"]
    assert formulas(text) == ["$a + b$", "$$\\sigma(x)$$"]
    assert code_without_docstrings('"""a"""\nx = 1\n') == code_without_docstrings('"""b"""\nx = 1\n')
    assert code_without_docstrings("x = 1\n") != code_without_docstrings("x = 2\n")


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_statement_in_both_languages_in_step(exercise_id: str) -> None:
    """Does the Chinese statement have the English one's sections, code blocks and formulas?"""
    folder = EXERCISES_DIR / exercise_id
    zh_path = folder / "statement.zh.md"
    assert zh_path.is_file(), f"{exercise_id}: statement.zh.md is missing"
    en = (folder / "statement.md").read_text(encoding="utf-8")
    zh = zh_path.read_text(encoding="utf-8")
    assert CJK.search(_prose(zh)), f"{exercise_id}: statement.zh.md is not in Chinese"
    assert headings(zh) == headings(en), f"{exercise_id}: the sections differ"
    assert code_blocks(zh) == code_blocks(en), f"{exercise_id}: a code block differs"
    assert formulas(zh) == formulas(en), f"{exercise_id}: a formula differs"


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_stub_in_both_languages_is_the_same_code(exercise_id: str) -> None:
    """Is the Chinese stub the English stub's code, with only docstrings and comments translated?"""
    folder = EXERCISES_DIR / exercise_id
    zh_path = folder / "stub.zh.py"
    assert zh_path.is_file(), f"{exercise_id}: stub.zh.py is missing"
    zh = zh_path.read_text(encoding="utf-8")
    assert CJK.search(zh), f"{exercise_id}: stub.zh.py is not in Chinese"
    en = (folder / "stub.py").read_text(encoding="utf-8")
    assert code_without_docstrings(zh) == code_without_docstrings(en), \
        f"{exercise_id}: stub.zh.py's code differs from stub.py's"


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_stub_points_at_the_statement_start_writes(exercise_id: str) -> None:
    """Does each stub name the statement file `nnlab start` writes (ID.md), never statement.md?"""
    for name in ("stub.py", "stub.zh.py"):
        path = EXERCISES_DIR / exercise_id / name
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert "statement.md" not in text, f"{exercise_id}/{name} points at statement.md"
            assert f"{exercise_id}.md" in text, f"{exercise_id}/{name} does not name {exercise_id}.md"


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_title_in_chinese(exercise_id: str) -> None:
    """Does every exercise.toml give a Chinese title (title_zh) for `nnlab list --lang zh`?"""
    data = tomllib.loads((EXERCISES_DIR / exercise_id / "exercise.toml").read_text(encoding="utf-8"))
    assert CJK.search(str(data.get("title_zh", ""))), f"{exercise_id}: no Chinese title_zh"


@pytest.mark.parametrize("exercise_id", TIMED_IDS)
def test_timed_statement_names_its_limit(exercise_id: str) -> None:
    """Does every timed exercise's statement, in both languages, state its timing limit?"""
    folder = EXERCISES_DIR / exercise_id
    data = tomllib.loads((folder / "exercise.toml").read_text(encoding="utf-8"))
    limit = f"{data['timing']['cpu']:g}"
    for name in ("statement.md", "statement.zh.md"):
        assert (folder / name).is_file(), f"{exercise_id}/{name} is missing"
        text = (folder / name).read_text(encoding="utf-8")
        assert re.search(rf"(?<![\d.]){re.escape(limit)}\s*(x|×|倍)", text), \
            f"{exercise_id}/{name} does not state the timing limit ({limit}x)"
