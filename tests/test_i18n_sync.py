"""Every exercise in both languages, in step: same sections, code, formulas and stub code."""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

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


def _without_comment(line: str) -> str:
    """`line` without its `#` comment (a `#` inside quotes is code), right-stripped."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#":
            return line[:i].rstrip()
    return line.rstrip()


def code_of(block: str) -> str:
    """A code block as the computer reads it: the comments, which a translation translates, left out."""
    return "\n".join(_without_comment(line) for line in block.splitlines())


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
    assert code_of("x = '#'  # a comment\n>>> f(x)   # 注释") == "x = '#'\n>>> f(x)"
    assert code_of("x = 1  # one") != code_of("x = 2  # one")


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
    assert [code_of(b) for b in code_blocks(zh)] == [code_of(b) for b in code_blocks(en)], \
        f"{exercise_id}: a code block differs (beyond its comments)"
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


# The terms a Chinese reader meets in the course material (the tutorials the catalogue follows),
# one spelling each: the preferred term and the variants that must not appear beside it.
GLOSSARY: dict[str, tuple[str, ...]] = {
    "批归一化": ("批量归一化", "批标准化", "批量标准化", "批次归一化"),
    "自动微分": ("自动求导",),
    "类别索引": ("类别下标", "类下标", "类索引", "类别编号"),
    "参考实现": ("参考解答", "参考答案", "参考解", "标准答案"),
    "评分程序": ("评分器", "判分器", "评分系统", "打分程序", "评测程序", "判题程序"),
    "易错点": ("常见错误", "常见陷阱", "注意事项"),
}
# Each English section heading and the one Chinese heading it has everywhere.
HEADINGS_ZH = {"Contract": "接口约定", "Example": "示例", "Pitfalls": "易错点",
               "Timing check": "计时检查"}
# Docstring section headings of the Chinese stubs (full-width colon, like the prose around them).
STUB_SECTIONS_ZH = {"Args": "参数", "Raises": "异常", "Returns": "返回", "Attributes": "属性",
                    "Parameters": "模型参数"}
CJK_PUNCT = "\u3000-\u303f\uff00-\uffef\u2018\u2019\u201c\u201d\u2014\u2026"
_BLOCK_START = re.compile(r"\s*([-*+]\s|\d+[.)]\s|#|>|\||\$\$|```|~~~|<)")


def chinese_texts() -> list[tuple[str, str]]:
    """(where, text) for every Chinese text a student reads: statements, stubs, check titles,
    exercise and unit titles, the CLI's own lines, failure messages and help."""
    from nnlab.commands.localized_help import COMMAND_HELP_ZH, OPTION_HELP_ZH
    from nnlab.grader.exercise import UNIT_TITLES_ZH
    from nnlab.i18n import FAILURES, MESSAGES

    texts = []
    for exercise_id in EXERCISE_IDS:
        folder = EXERCISES_DIR / exercise_id
        for name in ("statement.zh.md", "stub.zh.py", "titles.zh.toml", "exercise.toml"):
            if (folder / name).is_file():
                texts.append((f"{exercise_id}/{name}", (folder / name).read_text(encoding="utf-8")))
    texts.append(("unit titles", " ".join(UNIT_TITLES_ZH.values())))
    texts += [(f"message {key}", table["zh"]) for key, table in {**MESSAGES, **FAILURES}.items()]
    texts += [(f"help of {key}", text) for key, text in {**COMMAND_HELP_ZH, **OPTION_HELP_ZH}.items()]
    return texts


def variant_terms(text: str) -> list[str]:
    """'variant (write preferred)' for each glossary variant in `text`."""
    return [f"{variant} (write {term})" for term, variants in GLOSSARY.items()
            for variant in variants if variant in text]


def stray_spaces(markdown: str) -> list[int]:
    """Line numbers where a paragraph's line break falls after Chinese punctuation, or between two
    Chinese characters: Markdown renders that break as a space, which Chinese text never has."""
    lines = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), markdown).split("\n")
    found = []
    for number, (line, after) in enumerate(zip(lines, lines[1:]), start=1):
        line, after = line.rstrip(), after.strip()
        if not line or not after or _BLOCK_START.match(after) or line.endswith("<br>"):
            continue
        if re.search(f"[{CJK_PUNCT}]$", line) or (
                CJK.search(line[-1]) and re.match(f"[\u4e00-\u9fff{CJK_PUNCT}]", after.lstrip("*_"))):
            found.append(number)
    return found


def english_comments(block: str) -> list[str]:
    """Comments of a code block written as English prose (three words in a row, no Chinese)."""
    comments = [line[len(_without_comment(line)):].strip() for line in block.splitlines()]
    return [c for c in comments if c and not CJK.search(c)
            and re.search(r"(?<![\w.])[A-Za-z]{2,} [A-Za-z]{2,} [A-Za-z]{2,}(?![\w(])", c)]


def test_the_chinese_checks_see_what_a_reader_sees() -> None:
    """Do the checks below find a variant term, a stray line break and an English comment?"""
    assert variant_terms("先做批量归一化，再用自动微分") == ["批量归一化 (write 批归一化)"]
    assert stray_spaces("第一行，\n第二行。\n\n- 列表，\n- 下一项\n\n中文\n**加粗**\n") == [1, 7]
    assert stray_spaces("```\n注释，\n下一行\n```\n用 `x`\n做 y\n") == []
    assert english_comments("x = 1  # returns the gradient\ny = 2  # 梯度\nz  # (B, T, H)") == \
        ["# returns the gradient"]


def test_glossary_one_term_each() -> None:
    """Does every Chinese text use the glossary's term, never one of its variants?"""
    found = [f"{where}: {hit}" for where, text in chinese_texts() for hit in variant_terms(text)]
    assert not found, "variant terms: " + "; ".join(found)


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_chinese_statement_reads_as_chinese(exercise_id: str) -> None:
    """One heading per section, no stray spaces from line breaks, code comments in Chinese?"""
    folder = EXERCISES_DIR / exercise_id
    en = (folder / "statement.md").read_text(encoding="utf-8")
    zh = (folder / "statement.zh.md").read_text(encoding="utf-8")
    pattern = re.compile(r"^#{2,6}\s+(.+?)\s*$", re.M)
    for en_heading, zh_heading in zip(pattern.findall(FENCE.sub("", en)),
                                      pattern.findall(FENCE.sub("", zh))):
        if en_heading in HEADINGS_ZH:
            assert zh_heading == HEADINGS_ZH[en_heading], f"{exercise_id}: '{en_heading}' is not " \
                f"'{HEADINGS_ZH[en_heading]}' but '{zh_heading}'"
    assert not stray_spaces(zh), f"{exercise_id}/statement.zh.md: join the lines after " \
        f"line(s) {stray_spaces(zh)} (a line break inside Chinese text renders as a space)"
    english = [c for block in code_blocks(zh) for c in english_comments(block)]
    assert not english, f"{exercise_id}/statement.zh.md: code comments left in English: {english}"


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_chinese_stub_sections_in_chinese(exercise_id: str) -> None:
    """Does the Chinese stub head its docstring sections 参数：/异常：..., never Args:/Raises:?"""
    text = (EXERCISES_DIR / exercise_id / "stub.zh.py").read_text(encoding="utf-8")
    english = re.findall(rf"^\s*({'|'.join(STUB_SECTIONS_ZH)}):\s*$", text, re.M)
    assert not english, f"{exercise_id}/stub.zh.py: write " + ", ".join(
        f"{STUB_SECTIONS_ZH[e]}：for {e}:" for e in english)
    headings = re.findall(r"^\s*(\S{1,6})[：:]\s*$", text, re.M)
    assert set(headings) <= set(STUB_SECTIONS_ZH.values()), \
        f"{exercise_id}/stub.zh.py: section headings {headings} (use {list(STUB_SECTIONS_ZH.values())})"


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_check_titles_in_chinese_in_step(exercise_id: str) -> None:
    """Does titles.zh.toml give every check of the exercise a Chinese title, and no check that is gone?"""
    from nnlab.grader.exercise import get_exercise
    from nnlab.i18n import check_titles

    path = EXERCISES_DIR / exercise_id / "titles.zh.toml"
    assert path.is_file(), f"{exercise_id}: titles.zh.toml is missing"
    titles = tomllib.loads(path.read_text(encoding="utf-8"))
    checks = {c.test_id for c in get_exercise(exercise_id).checks}
    assert not checks - set(titles), f"{exercise_id}: no Chinese title for {sorted(checks - set(titles))}"
    assert not set(titles) - checks, f"{exercise_id}: titles of no check: {sorted(set(titles) - checks)}"
    untranslated = [k for k, v in titles.items() if not isinstance(v, str) or not CJK.search(v)]
    assert not untranslated, f"{exercise_id}: titles not in Chinese: {untranslated}"
    assert dict(check_titles(exercise_id, "zh")) == titles and not check_titles(exercise_id, "en")


def test_kit_keeps_only_the_public_checks_titles(tmp_path: Path) -> None:
    """Does the student kit carry the public checks' Chinese titles, and no hidden check's name?"""
    import shutil

    from nnlab.course import kit

    folder = tmp_path / "dropout"
    shutil.copytree(EXERCISES_DIR / "dropout", folder)
    kit._rewrite_exercise_toml(folder)
    titles = tomllib.loads((folder / "titles.zh.toml").read_text(encoding="utf-8"))
    public = set(tomllib.loads((folder / "exercise.toml").read_text(encoding="utf-8"))["points"])
    assert set(titles) == public and public
    assert kit._kept(kit.EXERCISES_DIR / "dropout" / "titles.zh.toml")
