"""`nnlab --help` in Chinese: each command's help and its options' help, swapped in before parsing."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click

from nnlab.i18n import DEFAULT_LANGUAGE

COMMAND_HELP_ZH: dict[str, str] = {
    # \b: click keeps these lines as written (it would rewrap them, counting a CJK character as
    # one column, and join the lines with a space).
    "": "nnlab：PyTorch 练习，自动评分，学生代码在隔离环境中运行。\n\n"
        "\b\n"
        "学生：`nnlab list`、`nnlab start ID`、`nnlab check ID.py`、`nnlab submit ID.py`\n"
        "课程中：`nnlab login URL`、`nnlab submit PATH --assignment ID`、`nnlab status`\n"
        "教师：`nnlab verify`、`nnlab grade CLASS_DIR --out OUT_DIR`、`nnlab similarity`\n"
        "课程管理：`nnlab roster`、`nnlab serve`、`nnlab release`、`nnlab collect`、\n"
        "`nnlab adjust`",
    "list": "列出练习目录：编号、标题、单元、分值、是否有计时检查（在学生包中：课程的作业）。",
    "start": "写出练习模板 DIR/ID.py 和题目说明 DIR/ID.md。",
    "check": "对 ID.py（或包含这些文件的文件夹）运行公开检查（有检查未通过时退出码为 1）。",
    "submit": "在本机用全部检查为 ID.py（或文件夹）评分（学生包中：公开检查）；"
              "加 --assignment 时，把它们作为完整提交上传到课程服务器。",
    "grade": "批量评分 CLASS_DIR/<student>/<ID>.py，并生成全班报告。",
    "verify": "教师自检：参考实现得满分，练习模板得零分。",
    "demo": "为自带的示例班级评分，并生成 HTML 报告。",
    "doctor": "本机为 nnlab 提供了什么：Python、torch、CPU 或 CUDA、隔离措施、配置、服务器。",
    "login": "保存课程服务器地址和你的令牌（存入只有你能读取的文件）。\n\n"
             "在终端上不回显地询问令牌，否则从标准输入读取（`nnlab login URL < token.txt`），"
             "或用 --token-file PATH 指定。",
    "status": "你的提交：时间、迟交天数、显示的分数、剩余次数、截止日期。",
    "roster": "添加学生（以及教师账号），并一次性写出他们的令牌。",
    "serve": "运行课程服务器：HTTP API、DATA_DIR 中的 SQLite、持久的评分队列。",
    "release": "生成学生包：只含练习模板、题目说明和公开检查（先做自检）。",
    "collect": "教师：把每个学生计分的那次提交收集到 CLASS_DIR，供 `nnlab grade` 使用。",
    "adjust": "教师：在课程服务器上调整某个学生的分数，并写明原因。\n\n"
              "调整与评分结果分开保存，每次读取时应用（结果、scores.csv、全班报告、学生自己看到的页面），"
              "所以重新评分后依然有效。需要教师令牌（NNLAB_TOKEN 或 `nnlab login`）。",
    "similarity": "按练习给学生两两排序，看代码有多相似；标出互相抄袭和与参考实现相同的代码，并生成对照页面。",
    "export": "导出到其他评分平台（Canvas 的 canvas.csv 由 `nnlab grade` 生成）。",
    "export gradescope": "生成用 nnlab 评分的 Gradescope 自动评分 zip（setup.sh、run_autograder）。",
    "new": "新建课程仓库，或在找到的课程中新建练习。",
    "new course": "在 DIRECTORY 中生成可用的课程仓库：course.toml、.gitignore 和一道练习。",
    "new exercise": "在找到的课程中生成练习文件夹 exercises/EXERCISE_ID，并填好内容。",
    "lti": "在学习管理系统（LMS）中开课（LTI 1.3）：工具的密钥、成绩回传。",
    "lti keys": "生成工具的 RSA 密钥对（只生成一次），并打印需要填入 LMS 的地址。",
    "lti sync": "教师：把某个作业的每个计分成绩重新发送到 LMS。",
}
"""Command path ('' for `nnlab` itself) -> its help; the first line is the one-line help."""

OPTION_HELP_ZH: dict[str, str] = {
    "--help": "显示本帮助并退出。",
    "nnlab --course": "课程仓库（其文件夹或 course.toml；默认：$NNLAB_COURSE，其次是当前文件夹或上级文件夹中的 "
                      "course.toml）。",
    "--course": "课程仓库，同 `nnlab --course PATH`。",
    "new exercise --from": "参考实现：其中 `# BEGIN SOLUTION` … `# END SOLUTION` 之间的部分变成练习模板，"
                           "顶层名字成为练习的 `requires`。",
    "nnlab --lang": "本帮助以及各命令提示信息的语言（默认：$NNLAB_LANG，其次是系统区域设置）。",
    "--version": "显示版本号并退出。",
    "--lang": "题目说明和提示信息的语言（默认：$NNLAB_LANG，其次是系统区域设置）。",
    "--seed": "复现一次运行：使用其结果中记录的随机种子。",
    "--no-daemon": "在本进程中评分：不使用也不留下常驻的评分进程（也可设 NNLAB_NO_DAEMON=1）。",
    "--exercises": "练习集合（缺少的文件记零分，满分不变）。",
    "--workers": "本地 Dask 工作进程数（默认：CPU 核数，最多 4）。",
    "--scheduler": "已有的 Dask 集群，例如 tcp://host:8786。",
    "--data": "服务器的数据文件夹：SQLite 数据库和提交的文件。",
    "--assignment": "作业编号。",
    "start --dir": "写入 ID.py 和 ID.md 的文件夹（默认：当前文件夹）。",
    "start --force": "覆盖已有的文件。",
    "start --notebook": "写出 ID.ipynb（题目说明、代码单元格、检查单元格）。",
    "list --all": "在学生包中：列出全部练习，而不只是课程的作业。",
    "submit --json": "只在标准输出上打印结果对象，不打印其他内容。",
    "submit --report": "同时把 HTML 报告写到这个文件。",
    "submit --student": "你的学号，显示在报告中。",
    "submit --assignment": "上传到课程服务器的这个作业（见 `nnlab login`）；不加它就不会上传任何东西。",
    "submit --no-wait": "与 --assignment 一起使用：上传后立即返回，不等待评分。",
    "submit --yes": "与 --assignment 一起使用：即使缺少计分提交中已有的练习也上传。",
    "grade --out": "存放 index.html、students/*.html、scores.csv、results.json 的文件夹。",
    "grade --course": "course.toml：由 --assignment 确定练习集合。",
    "grade --assignment": "与 --course 一起使用：要评分的作业。",
    "grade --regrade": "重新为每个学生评分，而不只是新增或改动过的学生。",
    "grade --adjustments": "adjustments.csv：评分之后应用的教师调整。",
    "grade --no-similarity": "全班报告中不含代码相似度一节。",
    "demo --out": "写入示例班级报告的位置。",
    "similarity --out": "存放 similarity.csv、similarity.html 和对照页面的文件夹。",
    "similarity --exercises": "比较这些练习（默认：有人提交过的每道练习）。",
    "similarity --threshold": "相似度达到或超过这个值的两人会被标出（默认 0.6）。",
    "similarity --workers": "并行比较练习的进程数（默认：CPU 核数，最多 8）。",
    "login --token-file": "从这个文件读取令牌（默认：不回显地询问，或从标准输入读取）。",
    "status --assignment": "只看这个作业。",
    "roster --import": "名单 CSV：一列 `student`，可选 `name` 和 `email`。",
    "roster --tokens-out": "新文件，写入每个新账号的 `student,role,token`（只显示这一次）。",
    "roster --revoke": "让 STUDENT 的令牌失效。",
    "roster --reissue": "给 STUDENT 一个新令牌（旧令牌失效）。",
    "serve --host": "监听的地址。",
    "serve --workers": "评分工作进程数（默认：评分引擎的默认值）。",
    "serve --scheduler": "在已有的 Dask 集群上评分，例如 tcp://host:8786。",
    "release --out": "存放学生包 wheel 和学生 README 的文件夹。",
    "release --server": "学生包提交到的课程服务器。",
    "collect --assignment": "要收集的作业。",
    "collect --out": "CLASS_DIR：每个计分提交的 <student>/<ID>.py。",
    "adjust --assignment": "作业（必填）。",
    "adjust --student": "学号，与名单上的一致（必填）。",
    "adjust --exercise": "练习编号（必填）。",
    "adjust --check": "只调整这一项检查（它的测试编号，例如 test_forward）；默认：整道练习。",
    "adjust --delta": "要加的分数；扣分用负数（例如 --delta -2）。",
    "adjust --override": "直接设定的分数。",
    "adjust --reason": "原因（必填）：学生会在分数旁看到它。",
    "export gradescope --exercises": "作业的练习集合（缺少的文件记零分）。",
    "export gradescope --out": "要写出的 zip 文件。",
    "lti keys --data": "服务器的数据文件夹：密钥对保存在这里（0600）。",
    "lti keys --url": "LMS 和浏览器访问服务器时使用的地址。",
    "lti sync --assignment": "要重新发送成绩的作业。",
}
"""'command --option' ('nnlab --option' for `nnlab` itself), or '--option' for every command ->
the option's help."""

class _ChineseFormatter(click.HelpFormatter):
    """click's help layout with its headings in Chinese."""

    SECTIONS = {"Options": "选项", "Commands": "命令", "Arguments": "参数"}

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{heading}：\n")

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, "用法：" if prefix is None else prefix)

    @contextlib.contextmanager
    def section(self, name: str) -> Iterator[None]:
        with super().section(self.SECTIONS.get(name, name)):
            yield


class _ChineseContext(click.Context):
    formatter_class = _ChineseFormatter


_ENGLISH: dict[int, tuple[object, str | None, str | None, type[click.Context] | None]] = {}
"""id(command or option) -> (the object, its English help and short help, its context class)."""


def _swap(thing: click.Command | click.Option, help_text: str | None, lang: str) -> None:
    if id(thing) not in _ENGLISH:
        _ENGLISH[id(thing)] = (thing, getattr(thing, "help", None), getattr(thing, "short_help", None),
                               getattr(thing, "context_class", None))
    _, english, english_short, context_class = _ENGLISH[id(thing)]
    chinese = lang != DEFAULT_LANGUAGE and help_text is not None
    thing.help = help_text if chinese else english
    if isinstance(thing, click.Command):
        # click cuts the one-line help at 45 columns counting a CJK character as one: the whole
        # first line, which the terminal then wraps.
        thing.short_help = help_text.split("\n")[0] if chinese and help_text else english_short
        thing.context_class = _ChineseContext if lang == "zh" else context_class or click.Context


def localize_help(command: click.Command, lang: str, path: str = "") -> None:
    """Puts `command`'s help (and its subcommands' and options') in `lang`, in place; English where
    a text has no translation, and back to English for lang 'en'."""
    _swap(command, COMMAND_HELP_ZH.get(path), lang)
    options = [p for p in command.params if isinstance(p, click.Option)]
    help_option = command.get_help_option(click.Context(command))
    for option in options + ([help_option] if help_option is not None else []):
        name = max(option.opts, key=len)
        _swap(option, OPTION_HELP_ZH.get(f"{path or 'nnlab'} {name}", OPTION_HELP_ZH.get(name)), lang)
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            localize_help(sub, lang, f"{path} {name}".strip())


def command_paths(command: click.Command, path: str = "") -> list[str]:
    """'' and every command's path ('list', 'export gradescope', ...)."""
    paths = [path]
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            paths += command_paths(sub, f"{path} {name}".strip())
    return paths
