"""The language of statements and CLI lines (en or zh), and the CLI's own messages in both."""
from __future__ import annotations

import os
import unicodedata
from collections.abc import Mapping

from nnlab.errors import UsageError

LANGUAGES = ("en", "zh")
DEFAULT_LANGUAGE = "en"
ENV_VAR = "NNLAB_LANG"
# POSIX precedence: the first of these that is set names the locale of messages.
LOCALE_VARS = ("LC_ALL", "LC_MESSAGES", "LANG")


def _from_tag(tag: str) -> str | None:
    """'zh_CN.UTF-8' -> 'zh', 'en_GB' -> 'en', anything else -> None."""
    base = tag.strip().lower().replace("-", "_").split(".")[0].split("_")[0]
    return base if base in LANGUAGES else None


def language_source(option: str | None = None,
                    environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(language, where it came from): `--lang`, then $NNLAB_LANG, then the locale, then English.

    An unusable $NNLAB_LANG is a user mistake (it would otherwise be ignored without a word).
    """
    env = os.environ if environ is None else environ
    if option:
        lang = _from_tag(option)
        if lang is None:
            raise UsageError(f"--lang {option}: choose one of {', '.join(LANGUAGES)}")
        return lang, "--lang"
    chosen = env.get(ENV_VAR, "").strip()
    if chosen:
        lang = _from_tag(chosen)
        if lang is None:
            raise UsageError(f"{ENV_VAR}={chosen}: choose one of {', '.join(LANGUAGES)} "
                             f"(or unset it to follow the locale)")
        return lang, ENV_VAR
    for name in LOCALE_VARS:
        value = env.get(name, "")
        if value:
            # Only Chinese locales switch: a French or C locale keeps the English default.
            return ("zh" if value.lower().startswith("zh") else DEFAULT_LANGUAGE), f"{name}={value}"
    return DEFAULT_LANGUAGE, "default"


def resolve_language(option: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The language to use: `--lang`, then $NNLAB_LANG, then the locale, then English."""
    return language_source(option, environ)[0]


MESSAGES: dict[str, dict[str, str]] = {
    # nnlab start
    "start.wrote": {
        "en": "Wrote {stub} (your code) and {statement} (the task).",
        "zh": "已写入 {stub}（你的代码）和 {statement}（题目说明）。",
    },
    "start.wrote_notebook": {
        "en": "Wrote {notebook}: the task, your code cell and a cell that runs the public checks.",
        "zh": "已写入 {notebook}：题目说明、你的代码单元格，以及运行公开检查的单元格。",
    },
    "start.next": {
        "en": "Next: fill in {name}, then `nnlab check {path}`.",
        "zh": "下一步：完成 {name}，然后运行 `nnlab check {path}`。",
    },
    "start.next_notebook": {
        "en": "Next: open {name} in Jupyter, fill in the code cell, save, and run the last cell.",
        "zh": "下一步：在 Jupyter 中打开 {name}，完成代码单元格，保存后运行最后一个单元格。",
    },
    "start.fallback": {
        "en": "{id} is not translated into this language yet; wrote the English version.",
        "zh": "{id} 还没有中文版，已写入英文版。",
    },
    "start.exists": {
        "en": "{path} already exists; your work is kept (use --force to overwrite)",
        "zh": "{path} 已存在，你的代码不会被覆盖（如需覆盖请加 --force）",
    },
    "start.not_a_folder": {
        "en": "{path} is a file, not a folder",
        "zh": "{path} 是一个文件，不是文件夹",
    },
    "start.cannot_write": {
        "en": "cannot write into {path}: {why}",
        "zh": "无法写入 {path}：{why}",
    },
    "start.in_checkout": {
        "en": "{here} is inside the nnlab source checkout ({root}); work in a folder of your own: "
              "`nnlab start {id} --dir ~/nnlab-work` (or cd there first)",
        "zh": "{here} 位于 nnlab 源代码目录（{root}）之内；请在你自己的文件夹里做练习："
              "`nnlab start {id} --dir ~/nnlab-work`（或先 cd 到那里）",
    },
    # nnlab check
    "check.header": {
        "en": "{id}: public checks: {passed} of {total} passed ({score:g} of {points:g} points; "
              "{rest:g} more points are graded by `nnlab submit`)",
        "zh": "{id}：公开检查通过 {passed}/{total} 项（得 {score:g} 分，本题共 {points:g} 分；"
              "其余 {rest:g} 分由 `nnlab submit` 评定）",
    },
    "check.header_all": {
        "en": "{id}: public checks: {passed} of {total} passed ({score:g} of {points:g} points)",
        "zh": "{id}：公开检查通过 {passed}/{total} 项（得 {score:g} 分，本题共 {points:g} 分）",
    },
    "check.note": {"en": "  note: {note}", "zh": "  说明：{note}"},
    "check.failing": {
        "en": "{count} public check(s) not passing. The hidden checks run on `nnlab submit`.",
        "zh": "有 {count} 项公开检查未通过。隐藏检查在 `nnlab submit` 时运行。",
    },
    "check.all_pass": {
        "en": "All public checks pass. The hidden checks run on `nnlab submit`.",
        "zh": "公开检查全部通过。隐藏检查在 `nnlab submit` 时运行。",
    },
    "check.seed": {
        "en": "Seed: {seed} (`--seed {seed}` repeats this run)",
        "zh": "随机种子：{seed}（加 `--seed {seed}` 可复现这次运行）",
    },
    # nnlab submit (graded on this machine)
    "submit.score": {"en": "Score: {score:g}/{max_score:g}", "zh": "总分：{score:g}/{max_score:g}"},
    "submit.seed": {"en": "Seed: {seed}  Confinement: {confinement}",
                    "zh": "随机种子：{seed}  隔离措施：{confinement}"},
    # nnlab list
    "list.unit": {"en": "Unit {unit} — {title}", "zh": "第 {unit} 单元 — {title}"},
    "list.points": {"en": "{points:>4g} pts", "zh": "{points:>4g} 分"},
    "list.timing": {"en": "timing", "zh": "计时"},
    "list.footer": {
        "en": "{count} exercises, {total:g} points. Start one with: nnlab start ID",
        "zh": "共 {count} 道练习，{total:g} 分。开始一道：nnlab start ID",
    },
    # nnlab doctor
    "doctor.python": {"en": "Python", "zh": "Python"},
    "doctor.torch": {"en": "torch", "zh": "torch"},
    "doctor.device": {"en": "device", "zh": "计算设备"},
    "doctor.confinement": {"en": "confinement", "zh": "隔离措施"},
    "doctor.config": {"en": "config", "zh": "配置文件"},
    "doctor.server": {"en": "server", "zh": "课程服务器"},
    "doctor.language": {"en": "language", "zh": "语言"},
    "doctor.no_torch": {
        "en": "not importable ({why}); install it (see the README's set-up)",
        "zh": "无法导入（{why}）；请先安装（见 README 的安装说明）",
    },
    "doctor.cpu_only": {"en": "CPU only ({build})", "zh": "仅 CPU（{build}）"},
    "doctor.cuda": {"en": "CUDA: {name} (CUDA {version})", "zh": "CUDA：{name}（CUDA {version}）"},
    "doctor.no_probe": {"en": "unknown ({why})", "zh": "未知（{why}）"},
    "doctor.config_missing": {
        "en": "{path} (not written yet: `nnlab login URL --token T` writes it)",
        "zh": "{path}（尚未生成：`nnlab login URL --token T` 会写入它）",
    },
    "doctor.config_bad": {"en": "{path} (unreadable: {why})", "zh": "{path}（无法读取：{why}）"},
    "doctor.no_server": {
        "en": "none configured (set NNLAB_SERVER or run `nnlab login`); grading runs on this machine",
        "zh": "未配置（设置 NNLAB_SERVER 或运行 `nnlab login`）；评分在本机进行",
    },
    "doctor.server_from": {"en": "{url} (from {source})", "zh": "{url}（来自 {source}）"},
    "doctor.language_from": {"en": "{language} (from {source})", "zh": "{language}（来自 {source}）"},
}


def message(key: str, lang: str, **values: object) -> str:
    """The CLI line `key` in `lang` (English when that language lacks it), filled in."""
    table = MESSAGES[key]
    return table.get(lang, table[DEFAULT_LANGUAGE]).format(**values)


def display_width(text: str) -> int:
    """Terminal columns `text` takes: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def pad(text: str, width: int) -> str:
    """`text` left-aligned in `width` terminal columns (str.ljust counts CJK as one column)."""
    return text + " " * max(0, width - display_width(text))
