"""Language choice and the CLI's own lines in English and Chinese."""
from __future__ import annotations

import os
import string
import subprocess
import sys
from pathlib import Path

import pytest

from nnlab.errors import UsageError
from nnlab.i18n import MESSAGES, display_width, pad, resolve_language


def nnlab(*args: str, env: dict[str, str] | None = None,
          cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("NNLAB_LANG", "LC_ALL", "LC_MESSAGES", "LANG")}
    return subprocess.run([sys.executable, "-m", "nnlab.cli", *args], capture_output=True, text=True,
                          env={**clean, **(env or {})}, cwd=cwd, timeout=600)


@pytest.mark.parametrize("option, environ, expected", [
    ("zh", {"NNLAB_LANG": "en", "LANG": "en_US.UTF-8"}, "zh"),
    (None, {"NNLAB_LANG": "zh", "LC_ALL": "en_US.UTF-8"}, "zh"),
    (None, {"NNLAB_LANG": "en", "LANG": "zh_CN.UTF-8"}, "en"),
    (None, {"LC_ALL": "zh_TW.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
    (None, {"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}, "en"),
    (None, {"LC_MESSAGES": "zh_CN", "LANG": "en_GB"}, "zh"),
    (None, {"LANG": "zh_CN.UTF-8"}, "zh"),
    (None, {"LANG": "fr_FR.UTF-8"}, "en"),
    (None, {}, "en"),
])
def test_language_precedence(option: str | None, environ: dict[str, str], expected: str) -> None:
    """Does --lang beat $NNLAB_LANG, which beats the locale (LC_ALL, LC_MESSAGES, LANG), then English?"""
    assert resolve_language(option, environ) == expected


def test_unknown_nnlab_lang_is_one_line_error() -> None:
    """Does NNLAB_LANG=fr give a one-line error naming the choices, not a silent fallback?"""
    with pytest.raises(UsageError, match="NNLAB_LANG=fr: choose one of en, zh"):
        resolve_language(None, {"NNLAB_LANG": "fr"})
    result = nnlab("list", env={"NNLAB_LANG": "fr"})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("nnlab: error: NNLAB_LANG=fr")


def test_every_message_in_both_languages_with_the_same_blanks() -> None:
    """Does every CLI line exist in English and Chinese with the same values to fill in?"""
    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    for key, table in MESSAGES.items():
        assert set(table) == {"en", "zh"}, key
        assert fields(table["en"]) == fields(table["zh"]), key


def test_padding_counts_chinese_characters_as_two_columns() -> None:
    """Do Chinese titles line up in a terminal (a CJK character takes two columns)?"""
    assert display_width("线性层") == 6 and display_width("MyLinear") == 8
    assert display_width(pad("线性层", 10)) == 10 and pad("abc", 5) == "abc  "


def test_list_in_chinese_lines_up() -> None:
    """Does `nnlab list --lang zh` show Chinese unit names and titles, with the points aligned?"""
    result = nnlab("list", "--lang", "zh")
    assert result.returncode == 0, result.stderr
    assert "第 1 单元 — 网络层" in result.stdout and "MyLinear：从零实现线性层" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith("  ")]
    assert len(rows) == 24
    columns = {display_width(row[:row.index(" 分")]) for row in rows}
    assert len(columns) == 1, "the points column moves from row to row"
    english = nnlab("list", env={"LANG": "zh_CN.UTF-8", "NNLAB_LANG": "en"})
    assert "Unit 1 — Layers" in english.stdout and "第 1 单元" not in english.stdout


def test_locale_alone_switches_to_chinese() -> None:
    """Does a Chinese locale, with no option and no NNLAB_LANG, give Chinese lines?"""
    result = nnlab("list", env={"LANG": "zh_CN.UTF-8"})
    assert "共 24 道练习" in result.stdout
