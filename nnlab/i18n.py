"""The language of statements and CLI lines (en or zh), and the CLI's own messages in both."""
from __future__ import annotations

import os
import re
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path

from nnlab.errors import NnlabError, UsageError
from nnlab.i18n_course import COURSE_MESSAGES
from nnlab.i18n_report import REPORT_MESSAGES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons only
    import tomli as tomllib

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
    if chosen:  # only then nnlab.settings (pydantic): unset is every command's start, kept light
        from nnlab.settings import read_settings

        chosen = read_settings("lang", environ=env).lang or ""
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


def command_line_language(args: Sequence[str], environ: Mapping[str, str] | None = None) -> str:
    """The language of a whole command line (its `--help`, its error prefix), before click has
    parsed it: `--lang X` anywhere in it, else the environment. Never raises: an unusable value
    is reported by the command itself, in English."""
    option = None
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(args):
            option = args[i + 1]
        elif arg.startswith("--lang="):
            option = arg.split("=", 1)[1]
    try:
        return resolve_language(option, environ)
    except UsageError:
        return DEFAULT_LANGUAGE


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
    # {lang_option} is " --lang zh" beside a Chinese stub: the next command stays Chinese where
    # the locale is English.
    "start.next": {
        "en": "Next: fill in {name}, then `nnlab check {path}{lang_option}`.",
        "zh": "下一步：完成 {name}，然后运行 `nnlab check {path}{lang_option}`。",
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
              "`nnlab start {id} --dir ~/nnlab-work{lang_option}` (or cd there first)",
        "zh": "{here} 位于 nnlab 源代码目录（{root}）之内；请在你自己的文件夹里做练习："
              "`nnlab start {id} --dir ~/nnlab-work{lang_option}`（或先 cd 到那里）",
    },
    # nnlab check
    "check.header": {
        "en": "{id}: public checks: {passed} of {total} passed ({score:g} of {points:g} points; "
              "{rest:g} more points are graded by `nnlab submit`)",
        "zh": "{id}：公开检查通过 {passed}/{total} 项（得 {score:g} 分，本题共 {points:g} 分；"
              "其余 {rest:g} 分由 `nnlab submit` 评定）",
    },
    "check.header_kit": {
        "en": "{id}: public checks: {passed} of {total} passed ({score:g} of {points:g} points; "
              "{rest:g} more points are graded by the course server when you hand in)",
        "zh": "{id}：公开检查通过 {passed}/{total} 项（得 {score:g} 分，本题共 {points:g} 分；"
              "其余 {rest:g} 分在你提交后由课程服务器评定）",
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
    "check.failing_kit": {
        "en": "{count} public check(s) not passing. The hidden checks run on the course server "
              "when you hand in: `nnlab submit PATH --assignment ID`.",
        "zh": "有 {count} 项公开检查未通过。隐藏检查在你提交后于课程服务器上运行："
              "`nnlab submit PATH --assignment ID`。",
    },
    "check.all_pass_kit": {
        "en": "All public checks pass. The hidden checks run on the course server when you hand "
              "in: `nnlab submit PATH --assignment ID`.",
        "zh": "公开检查全部通过。隐藏检查在你提交后于课程服务器上运行：`nnlab submit PATH --assignment ID`。",
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
        "en": "{path} (not written yet: `nnlab login URL` writes it)",
        "zh": "{path}（尚未生成：`nnlab login URL` 会写入它）",
    },
    "doctor.config_bad": {"en": "{path} (unreadable: {why})", "zh": "{path}（无法读取：{why}）"},
    "doctor.no_server": {
        "en": "none configured (set NNLAB_SERVER or run `nnlab login`); grading runs on this machine",
        "zh": "未配置（设置 NNLAB_SERVER 或运行 `nnlab login`）；评分在本机进行",
    },
    "doctor.server_from": {"en": "{url} (from {source})", "zh": "{url}（来自 {source}）"},
    "doctor.language_from": {"en": "{language} (from {source})", "zh": "{language}（来自 {source}）"},
    # every command
    "cli.error": {"en": "nnlab: error: {error}", "zh": "nnlab：错误：{error}"},
    "cli.interrupted": {"en": "nnlab: interrupted", "zh": "nnlab：已中断"},
    # a graded exercise in the terminal (nnlab check, nnlab submit)
    "result.passed": {"en": "PASS", "zh": "通过"},
    "result.failed": {"en": "FAIL", "zh": "未通过"},
    "result.error": {"en": "ERROR", "zh": "出错"},
    "result.timeout": {"en": "TIMEOUT", "zh": "超时"},
    "result.skipped": {"en": "SKIP", "zh": "跳过"},
    "result.hidden": {"en": " (hidden)", "zh": "（隐藏检查）"},
    "result.not_submitted": {"en": "{id}: not submitted", "zh": "{id}：未提交"},
    "result.timing": {
        "en": "ratio {ratio:.2f}x (limit {limit:g}x, spread {spread:.0%}) on {device}",
        "zh": "耗时比 {ratio:.2f} 倍（上限 {limit:g} 倍，波动 {spread:.0%}），设备：{device}",
    },
    "submit.progress": {"en": "graded {id}: {score:g}/{max_score:g}", "zh": "已评分 {id}：{score:g}/{max_score:g}"},
    "submit.report": {"en": "Report: {path}", "zh": "成绩报告：{path}"},
    "submit.seed_remote": {
        "en": "--seed is for grading on this machine; the course server draws its own",
        "zh": "--seed 只用于在本机评分；课程服务器会自己抽取随机种子",
    },
    # the worker's confinement, as nnlab.wire.confinement.Confinement.describe() writes it in English
    "confinement.describe": {"en": "{level}: {applied}", "zh": "{level}：{applied}"},
    "confinement.level.full": {"en": "full", "zh": "完全隔离"},
    "confinement.level.partial": {"en": "partial", "zh": "部分隔离"},
    "confinement.level.none": {"en": "none", "zh": "未隔离"},
    "confinement.nothing": {"en": "nothing", "zh": "无"},
    "confinement.unavailable": {"en": " (unavailable: {missing})", "zh": "（本机不支持：{missing}）"},
    **REPORT_MESSAGES,
    **COURSE_MESSAGES,
}


def message(key: str, lang: str, **values: object) -> str:
    """The CLI line `key` in `lang` (English when that language lacks it), filled in."""
    table = MESSAGES[key]
    return table.get(lang, table[DEFAULT_LANGUAGE]).format(**values)


def plural_message(key: str, count: int, lang: str, **values: object) -> str:
    """The line `key`.one or `key`.other, as `count` asks, with `count` filled in too."""
    return message(f"{key}.{'one' if count == 1 else 'other'}", lang, count=count, **values)


def confinement_text(level: str, applied: Sequence[str], missing: Sequence[str], lang: str) -> str:
    """A worker's confinement in `lang` (in English, Confinement.describe()'s line); the
    mechanisms keep their names."""
    key = f"confinement.level.{level}"
    text = message("confinement.describe", lang, level=message(key, lang) if key in MESSAGES else level,
                   applied=", ".join(applied) or message("confinement.nothing", lang))
    if missing:
        text += message("confinement.unavailable", lang, missing=", ".join(missing))
    return text


def display_width(text: str) -> int:
    """Terminal columns `text` takes: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def pad(text: str, width: int) -> str:
    """`text` left-aligned in `width` terminal columns (str.ljust counts CJK as one column)."""
    return text + " " * max(0, width - display_width(text))


# The fixed phrasing of the failures nnlab.grader.checks writes (assert_tensor, assert_close,
# assert_equal, expect_raises). The grader writes them in English, into results that every
# reader shares; a terminal in another language translates them back from the same templates,
# so the two can never drift apart. Most specific first: "equal" matches the others too.
FAILURES: dict[str, dict[str, str]] = {
    "not_a_tensor": {"en": "{what}: expected a torch.Tensor, got {got}",
                     "zh": "{what}：应为 torch.Tensor，实际得到 {got}"},
    "shape": {"en": "{what}: expected shape {expected}, got {got}",
              "zh": "{what}：形状应为 {expected}，实际为 {got}"},
    "dtype": {"en": "{what}: expected dtype {expected}, got {got}",
              "zh": "{what}：dtype 应为 {expected}，实际为 {got}"},
    "close": {
        "en": "{what}: {bad} of {total} values differ; worst at index {index}: expected {expected}, "
              "got {got} (abs error {error}, tolerance {atol} + {rtol}*|expected|)",
        "zh": "{what}：{total} 个值中有 {bad} 个不一致；偏差最大处在索引 {index}：应为 {expected}，"
              "实际为 {got}（绝对误差 {error}，容差 {atol} + {rtol}*|期望值|）",
    },
    "raised_other": {"en": "{what}: expected {expected}, but your code raised {raised}",
                     "zh": "{what}：应抛出 {expected}，但你的代码抛出了 {raised}"},
    "did_not_raise": {"en": "{what}: expected {expected}, but the call succeeded",
                      "zh": "{what}：应抛出 {expected}，但调用正常返回了"},
    # nnlab.grader.checks.meta: what a returned tensor was, and what a call did to its inputs
    "detached_graph": {
        "en": "{what}: expected a detached tensor, but it is still attached to the autograd graph "
              "(it has a grad_fn); return it .detach()ed",
        "zh": "{what}：应返回已分离的张量，但它仍连在自动微分的计算图上（有 grad_fn）；"
              "请返回 .detach() 之后的张量",
    },
    "detached_requires_grad": {
        "en": "{what}: expected a detached tensor, but it requires grad; return it .detach()ed",
        "zh": "{what}：应返回已分离的张量，但它的 requires_grad 为 True；请返回 .detach() 之后的张量",
    },
    "input_returned": {
        "en": "{what}: expected a new tensor, but the input `{input}` itself came back",
        "zh": "{what}：应返回一个新张量，但返回的就是输入 `{input}` 本身",
    },
    "view_of_input": {
        "en": "{what}: expected a new tensor, but it shares memory with the input `{input}` (a view of "
              "it): writing to one would change the other",
        "zh": "{what}：应返回一个新张量，但它与输入 `{input}` 共享内存（是它的视图）：写入其中一个会改变另一个",
    },
    "same_new": {
        "en": "{what}: expected the tensor it was given itself (`result is tensor`), got a new tensor",
        "zh": "{what}：应返回传入的那个张量对象本身（`result is tensor`），实际返回了一个新张量",
    },
    "same_view": {
        "en": "{what}: expected the tensor it was given itself (`result is tensor`), got a view of "
              "`{base}`, not the object itself",
        "zh": "{what}：应返回传入的那个张量对象本身（`result is tensor`），实际返回了 `{base}` 的视图，"
              "而不是这个对象本身",
    },
    "same_new_named": {
        "en": "{what}: expected the tensor passed as `{argument}` itself (`result is tensor`), got a new tensor",
        "zh": "{what}：应返回作为 `{argument}` 传入的那个张量对象本身（`result is tensor`），实际返回了一个新张量",
    },
    "same_view_named": {
        "en": "{what}: expected the tensor passed as `{argument}` itself (`result is tensor`), got a view "
              "of `{base}`, not the object itself",
        "zh": "{what}：应返回作为 `{argument}` 传入的那个张量对象本身（`result is tensor`），实际返回了 "
              "`{base}` 的视图，而不是这个对象本身",
    },
    "same_other_input": {
        "en": "{what}: expected the tensor passed as `{argument}` itself (`result is tensor`), got the "
              "input `{other}`",
        "zh": "{what}：应返回作为 `{argument}` 传入的那个张量对象本身（`result is tensor`），实际返回了输入 `{other}`",
    },
    # {changes}: "`x`: <change>; ..." with the worker's phrases, which CHANGE_PHRASES translates
    "inputs_changed": {
        "en": "{call} must leave what the caller passed in as it was, but {changes}",
        "zh": "{call} 必须保持调用方传入的对象原样不变，但 {changes}",
    },
    # A file that cannot run: the note nnlab.grader.submission and nnlab.grader.pipeline give it
    # (Python's own words for a syntax error stay as Python wrote them).
    "parse_at": {"en": "{file} does not parse as Python: {why} at line {line}",
                 "zh": "{file} 无法解析为 Python：{why}（第 {line} 行）"},
    "parse_in_cell": {"en": "{file} does not parse as Python: {why} at cell {cell}, line {line}",
                      "zh": "{file} 无法解析为 Python：{why}（第 {cell} 个单元格第 {line} 行）"},
    "parse": {"en": "{file} does not parse as Python: {why}", "zh": "{file} 无法解析为 Python：{why}"},
    "syntax_at": {"en": "{file} does not parse: {why} at line {line}", "zh": "{file} 无法解析：{why}（第 {line} 行）"},
    "syntax": {"en": "{file} does not parse: {why}", "zh": "{file} 无法解析：{why}"},
    "empty": {"en": "{file} is empty", "zh": "{file} 是空文件"},
    "not_utf8": {"en": "{file} is not UTF-8 text (byte {byte}); save it as UTF-8",
                 "zh": "{file} 不是 UTF-8 文本（第 {byte} 个字节）；请另存为 UTF-8 编码"},
    "unreadable": {"en": "{file} could not be read", "zh": "{file} 无法读取"},
    "banned": {"en": "banned API in {file}: {listed}", "zh": "{file} 中用了禁止使用的 API：{listed}"},
    "equal": {"en": "{what}: expected {expected}, got {got}", "zh": "{what}：应为 {expected}，实际为 {got}"},
}

# What a call changed in an input, as the worker words it (nnlab.worker.server.state_changes),
# in each language: a regular expression over the English and its replacement.
CHANGE_PHRASES: dict[str, dict[str, str]] = {
    r"its values were changed in place": {"zh": "它的值被原地修改了"},
    r"requires_grad was turned on": {"zh": "requires_grad 被设成了 True"},
    r"requires_grad was turned off": {"zh": "requires_grad 被设成了 False"},
    r"a \.grad was left on it": {"zh": "它上面留下了 .grad"},
    r"its \.grad was cleared": {"zh": "它的 .grad 被清除了"},
    r"its \.grad was changed": {"zh": "它的 .grad 被修改了"},
    r"hooks (?:were )?registered on it \((\d+) before, (\d+) after\)":
        {"zh": r"它上面注册的钩子数变了（之前 \1 个，之后 \2 个）"},
    r"was removed": {"zh": "被删除了"},
    r"was added": {"zh": "是新增的"},
    r"`: ": {"zh": "`："},
    r"; `": {"zh": "；`"},
    r" \(and (\d+) more\)$": {"zh": r"（另有 \1 处）"},
}
# The banned APIs a file uses, as nnlab.grader.banned words them, each with its place:
# 'line 9: uses torch.nn.Linear, which this exercise bans; cell 3, line 2: ...'.
BANNED_PHRASES: dict[str, dict[str, str]] = {
    r"\bcell (\d+), line (\d+): ": {"zh": r"第 \1 个单元格第 \2 行："},
    r"\bline (\d+): ": {"zh": r"第 \1 行："},
    r"\bimports (\S+), which this exercise bans": {"zh": r"导入了 \1，本题禁止使用它"},
    r"\buses (\S+), which this exercise bans": {"zh": r"使用了 \1，本题禁止使用它"},
    r"\bimports (\S+), which could hide a banned call": {"zh": r"导入了 \1，这可能隐藏被禁止的调用"},
    r"\buses (\S+), which could hide a banned call": {"zh": r"使用了 \1，这可能隐藏被禁止的调用"},
    r"\buses (\S+), a low-level operator path this exercise does not allow":
        {"zh": r"使用了 \1，这是本题不允许的底层算子调用路径"},
    r"\blooks up a computed name on (\S+), which could hide a banned call":
        {"zh": r"在 \1 上按运行时算出的名字查找属性，这可能隐藏被禁止的调用"},
    r"; ": {"zh": "；"},
}
_PHRASES = {"changes": CHANGE_PHRASES, "listed": BANNED_PHRASES}
"""The blanks whose text is itself fixed phrasing, and the table that translates it."""


def failure(key: str, **values: object) -> str:
    """The failure `key` as the grader records it (English), filled in."""
    return FAILURES[key][DEFAULT_LANGUAGE].format(**values)


_FIELD_SHAPES = {"bad": r"\d+", "total": r"\d+", "index": r"\([\d, ]*\)", "line": r"\d+", "cell": r"\d+",
                 "byte": r"\d+", "file": r"\w+\.(?:py|ipynb)"}
"""Blanks of a fixed shape (numbers, a submission's file name): a `what` holding ': ' cannot
take their place, and a check's own 'the list is empty' is no file's note."""


@cache
def _failure_pattern(key: str) -> re.Pattern[str]:
    """The English template of `key` as a regular expression: each blank a named group (the
    last one takes the rest of the message, lines included)."""
    parts = re.split(r"\{(\w+)\}", FAILURES[key][DEFAULT_LANGUAGE])
    names = parts[1::2]
    pattern = ""
    for i, literal in enumerate(parts[0::2]):
        pattern += re.escape(literal)
        if i < len(names):
            shape = _FIELD_SHAPES.get(names[i], ".*" if i == len(names) - 1 and not parts[-1] else ".+?")
            pattern += f"(?P<{names[i]}>{shape})"
    return re.compile(pattern, re.S)


def translate_failure(text: str, lang: str) -> str:
    """A check's failure message in `lang`: a message of nnlab.grader.checks with its fixed phrasing
    translated (the values stay as written); any other message as it is."""
    if lang == DEFAULT_LANGUAGE:
        return text
    for key, table in FAILURES.items():
        if lang in table:
            match = _failure_pattern(key).fullmatch(text)
            if match:
                values = {name: _translate_phrases(value, _PHRASES[name], lang) if name in _PHRASES
                          else value for name, value in match.groupdict().items()}
                return table[lang].format(**values)
    return text


def _translate_phrases(text: str, phrases: Mapping[str, Mapping[str, str]], lang: str) -> str:
    """A blank's fixed phrasing in `lang` ('`x`: its values were changed in place' -> ...), its
    names as written."""
    for pattern, table in phrases.items():
        if lang in table:
            text = re.sub(pattern, table[lang], text)
    return text


TITLES_FILE = "titles.{lang}.toml"
"""Beside an exercise's check files: each check's title (test function name = title) in a language."""


@cache
def _titles(folder: Path, lang: str) -> Mapping[str, str]:
    try:
        data = tomllib.loads((folder / TITLES_FILE.format(lang=lang)).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}  # untranslated (or a broken file, which the i18n tests catch): English titles
    return {key: value for key, value in data.items() if isinstance(value, str)}


def check_titles(exercise_id: str, lang: str) -> Mapping[str, str]:
    """Test function name -> title in `lang` for one exercise; empty in English or untranslated."""
    if lang == DEFAULT_LANGUAGE:
        return {}
    from nnlab.grader.exercise import get_exercise

    try:
        folder = get_exercise(exercise_id).folder
    except NnlabError:
        return {}
    return _titles(folder, lang)
