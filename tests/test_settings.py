"""The NNLAB_* settings (one typed model, read when needed) and course.toml's errors (key and line)."""
from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nnlab.course.config import parse_course, read_sources
from nnlab.errors import UsageError
from nnlab.settings import Settings, read_settings, settings_page, variable

ROOT = Path(__file__).resolve().parents[1]
KNOWN = {"my_linear", "leaky_relu"}


def _server() -> Any:
    from nnlab.course.client import configured_server

    return configured_server()


def _token() -> Any:
    from nnlab.course.client import CourseClient

    return CourseClient.from_config().token


def _course() -> Any:
    from nnlab.course.repository import find_course

    return find_course()


def _lang() -> Any:
    from nnlab.i18n import resolve_language

    return resolve_language()


def _no_daemon() -> Any:
    from nnlab.daemon import place

    place.want_daemon(True)
    try:
        return place.daemon_allowed()
    finally:
        place.want_daemon(False)


def _idle() -> Any:
    from nnlab.daemon.place import idle_seconds

    return idle_seconds()


def _cuda_fraction() -> Any:
    from nnlab.grader.timing.machine import cuda_memory_fraction

    return cuda_memory_fraction()


def _lock() -> Any:
    from nnlab.grader.timing.machine import lock_slots

    return lock_slots()


def _clock() -> Any:
    import time

    from nnlab.course import policy

    # The test clock starts at the instant and runs on from policy's import, which may be many
    # minutes ago in a long suite: the start is what was set.
    ran = dt.timedelta(seconds=time.monotonic() - policy._started)
    return (policy.server_now() - ran).replace(second=0, microsecond=0)


def _retry_cap() -> Any:
    from nnlab.course.lti.outbox import backoff

    return backoff(30)


# (variable, a value, the module function that reads it, what that function then gives)
READERS: list[tuple[str, str, Callable[[], Any], Any]] = [
    ("NNLAB_SERVER", "http://b.example/", _server, "http://b.example"),
    ("NNLAB_TOKEN", "tok-2", _token, "tok-2"),
    ("NNLAB_COURSE", "", _course, None),
    ("NNLAB_LANG", "zh_CN.UTF-8", _lang, "zh"),
    ("NNLAB_NO_DAEMON", "1", _no_daemon, False),
    ("NNLAB_DAEMON_IDLE_S", "7.5", _idle, 7.5),
    ("NNLAB_CUDA_MEMORY_FRACTION", "0.25", _cuda_fraction, 0.25),
    ("NNLAB_TIMING_LOCK", "machine", _lock, 1),
    ("NNLAB_FAKE_NOW", "2026-12-10T23:59:00+08:00", _clock,
     dt.datetime(2026, 12, 10, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=8)))),
    ("NNLAB_LTI_RETRY_CAP_S", "5", _retry_cap, 5.0),
]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No NNLAB_* variable set, and no saved login."""
    for name in list(os.environ):
        if name.startswith("NNLAB_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return monkeypatch


@pytest.mark.parametrize("name, value, reader, expected", READERS, ids=[r[0] for r in READERS])
def test_each_variable_reaches_the_module_that_reads_it(
        clean_env: pytest.MonkeyPatch, name: str, value: str, reader: Callable[[], Any],
        expected: Any) -> None:
    """Does each NNLAB_* variable, set now, reach its reader through the settings, as typed there?"""
    import nnlab.settings

    clean_env.setenv("NNLAB_SERVER", "http://a.example")  # the token's reader needs a server
    clean_env.setenv(name, value)
    read: list[Settings] = []

    def spy(*only: str, environ: Any = None) -> Settings:
        read.append(read_settings(*only, environ=environ))
        return read[-1]

    clean_env.setattr(nnlab.settings, "read_settings", spy)
    assert reader() == expected
    field = next(f for f in Settings.model_fields if variable(f) == name)
    assert read and getattr(read[-1], field) not in (None, getattr(Settings(), field)), \
        "read without nnlab.settings"


def test_every_variable_in_the_code_is_in_the_model_and_its_page() -> None:
    """Is every NNLAB_* name the package or the README mentions a field of the model, and is
    docs/settings.md the table generated from it (so neither can drift)?"""
    names = {variable(f) for f in Settings.model_fields}
    mentioned: set[str] = set()
    for path in [*(ROOT / "nnlab").rglob("*.py"), *(ROOT / "nnlab").rglob("*.tmpl"), ROOT / "README.md"]:
        mentioned |= set(re.findall(r"NNLAB_[A-Z_]*[A-Z]", path.read_text(encoding="utf-8")))
    assert mentioned - names == set()
    assert (ROOT / "docs" / "settings.md").read_text(encoding="utf-8") == settings_page(), \
        "docs/settings.md is stale: python -m nnlab.settings > docs/settings.md"
    assert all(info.description for info in Settings.model_fields.values())


@pytest.mark.parametrize("name, value, said", [
    ("NNLAB_DAEMON_IDLE_S", "abc", "a number of seconds"),
    ("NNLAB_CUDA_MEMORY_FRACTION", "1.5", "a fraction in (0, 1]"),
    ("NNLAB_CUDA_MEMORY_FRACTION", "half", "a fraction in (0, 1]"),
    ("NNLAB_TIMING_LOCK", "0", "'cores', 'machine', 'off' or a number"),
    ("NNLAB_FAKE_NOW", "tomorrow", "is not an ISO 8601 date and time"),
    ("NNLAB_FAKE_NOW", "2026-12-10T23:59:00", "needs a UTC offset"),
    ("NNLAB_LTI_RETRY_CAP_S", "5 min", "a number of seconds"),
])
def test_a_bad_value_is_one_line_naming_the_variable(name: str, value: str, said: str) -> None:
    """Is a value nnlab cannot use one UsageError line naming the variable and its value, with
    what a good value looks like (no pydantic report)?"""
    with pytest.raises(UsageError) as error:
        read_settings(environ={name: value})
    assert str(error.value).startswith(f"{name}={value!r}: ") and said in str(error.value)
    assert "\n" not in str(error.value) and "pydantic" not in str(error.value)


def test_empty_is_unset_except_for_the_course() -> None:
    """Is an empty (or blank) value the default, while an empty NNLAB_COURSE means no course?"""
    blank = read_settings(environ={variable(f): " " for f in Settings.model_fields})
    assert blank.course == "" and blank.daemon_idle_s == 600.0 and blank.timing_lock == "cores"
    assert blank.server is None and blank.no_daemon is False
    assert read_settings(environ={}).course is None


def test_a_reader_fails_only_on_its_own_variable(clean_env: pytest.MonkeyPatch) -> None:
    """Does a reader deep in grading (the timing lock) ignore another variable's bad value, which
    the whole settings (`nnlab serve`'s start, `nnlab doctor`) still report?"""
    from nnlab.grader.timing.machine import lock_slots

    clean_env.setenv("NNLAB_FAKE_NOW", "tomorrow")
    clean_env.setenv("NNLAB_TIMING_LOCK", "machine")
    assert lock_slots() == 1 and read_settings("timing_lock").fake_now is None
    with pytest.raises(UsageError, match="NNLAB_FAKE_NOW='tomorrow'"):
        read_settings()


def test_a_bad_value_stops_the_command_in_one_line(tmp_path: Path) -> None:
    """Does `nnlab check` with NNLAB_DAEMON_IDLE_S=abc stop with one line naming it, exit 2,
    before grading (the warm grader it would start could only die of it unseen)?"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NNLAB_")}
    env.update(NNLAB_DAEMON_IDLE_S="abc", XDG_RUNTIME_DIR=str(tmp_path))
    (tmp_path / "leaky_relu.py").write_text("def leaky_relu(x):\n    return x\n", encoding="utf-8")
    program = "from nnlab.cli import run; run()"  # the `nnlab` program: it alone may use a warm grader
    done = subprocess.run([sys.executable, "-c", program, "check", "leaky_relu.py"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == ("nnlab: error: NNLAB_DAEMON_IDLE_S='abc': "
                                   "expected a number of seconds, e.g. 600")


def test_settings_follow_the_environment_the_warm_grader_puts_in_place() -> None:
    """When the environment is replaced as the warm grader does for each request (and cleared as
    the sandbox does), do the settings and their readers follow it, nothing kept from before?"""
    from nnlab.daemon.place import idle_seconds
    from nnlab.i18n import resolve_language

    saved = dict(os.environ)
    try:
        os.environ.update(NNLAB_LANG="zh", NNLAB_DAEMON_IDLE_S="5")
        assert (read_settings().lang, idle_seconds(), resolve_language()) == ("zh", 5.0, "zh")
        client = {k: v for k, v in saved.items() if not k.startswith(("NNLAB_", "LC_", "LANG"))}
        os.environ.clear()  # as nnlab.daemon.request takes on the client's environment
        os.environ.update({**client, "NNLAB_LANG": "en", "NNLAB_DAEMON_IDLE_S": "9"})
        assert (read_settings().lang, idle_seconds(), resolve_language()) == ("en", 9.0, "en")
        os.environ.clear()  # as the worker's sandbox scrubs it
        assert read_settings() == Settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)


GOOD = """\
[course]
name = "Deep Learning"
timezone = "Asia/Shanghai"

[[assignment]]
id = "hw1"
exercises = ["my_linear"]
due = "2026-12-10T23:59:00"

[[assignment]]
id = "hw2"
exercises = ["leaky_relu"]
due = "2026-12-17T23:59:00"
counts = "best"
"""


@pytest.mark.parametrize("change, message", [
    (('due = "2026-12-17T23:59:00"', 'due = "tomorrow"'),
     "course.toml:13: [[assignment]] 'hw2' due: 'tomorrow' is not a date and time"),
    (('counts = "best"', 'counts = "first"'),
     "course.toml:14: [[assignment]] 'hw2' counts: must be one of last, best (not \"first\")"),
    (('counts = "best"', 'count = "best"'),
     "course.toml:14: [[assignment]] 'hw2' count: unknown key; did you mean counts?"),
    (('name = "Deep Learning"', 'nmae = "Deep Learning"'),
     "course.toml:2: [course] nmae: unknown key; did you mean name?"),
    (('[course]', '[courses]'), "course.toml:1: courses: unknown table or key; did you mean course?"),
    (('id = "hw2"\n', ''), "course.toml:10: [[assignment]] #2: 'id' is missing"),
    (('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"'),
     'course.toml:3: [course] timezone: "Mars/Olympus" is not a known time zone'),
    (('exercises = ["leaky_relu"]', 'exercises = ["leaky_rellu"]'),
     "course.toml:12: [[assignment]] 'hw2' exercises: unknown exercise(s) leaky_rellu (see `nnlab list`); "
     "did you mean leaky_relu?"),
    (('id = "hw2"', 'id = "hw1"'), "course.toml:11: assignment id 'hw1' is used twice (first at line 6)"),
    (('name = "Deep Learning"', 'name = "Deep'), "course.toml:2: not valid TOML"),
])
def test_course_toml_errors_name_the_key_and_its_line(change: tuple[str, str], message: str) -> None:
    """Does each mistake in course.toml give one line: the file, the key's line, the table (the
    assignment's id) and the key, and for a mistyped key the one it was meant to be?"""
    with pytest.raises(UsageError) as error:
        parse_course(GOOD.replace(*change), Path("course.toml"), KNOWN)
    assert str(error.value).startswith(message), str(error.value)
    assert "\n" not in str(error.value)


def test_the_sources_are_read_with_lines_too(tmp_path: Path) -> None:
    """Does the catalogue's early read of [course] (exercises, library) name the line of a bad value,
    and still ignore [course]'s other keys (checked with the assignments)?"""
    path = tmp_path / "course.toml"
    path.write_text(GOOD.replace('timezone = "Asia/Shanghai"', 'timezone = "UTC"\nlibrary = "all"'))
    with pytest.raises(UsageError, match=re.escape(f"{path}:4: [course] library: must be true, false")):
        read_sources(path)
    path.write_text(GOOD.replace("[course]", "[course]\nnmae = 1"))
    assert read_sources(path).library is True


# Where a module still looks at an NNLAB_* variable itself, and why: only to see whether it is
# set before importing pydantic (every command's start stays light), to put the environment
# back as it was, or in the worker before its confinement (which imports nothing of the grader).
RAW_READS = {
    ("nnlab/i18n.py", "NNLAB_LANG"),  # set at all? (then read_settings)
    ("nnlab/course/repository.py", "NNLAB_COURSE"),  # set at all? and export_course's restore
    ("nnlab/daemon/place.py", "NNLAB_NO_DAEMON"),  # set at all? (then read_settings)
    ("nnlab/daemon/place.py", "NNLAB_DAEMON_IDLE_S"),  # set at all? (then read_settings)
    ("nnlab/worker/sandbox/landlock.py", "NNLAB_COURSE"),  # the worker, before confinement
    ("nnlab/worker/preload.py", "NNLAB_FORKSERVER_LAZY_IMPORTS"),  # the fork server, before pydantic
}


def _raw_reads(path: Path) -> set[tuple[str, str]]:
    """(module, variable) for each `….get(NAME)`, `getenv(NAME)` or `environ[NAME]` read of an
    NNLAB_* variable, NAME a literal or a module constant holding one."""
    import ast

    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except SyntaxError:  # student code kept as data (the demo class's broken submission)
        return set()
    constants = {target.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
                 and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
                 for target in node.targets if isinstance(target, ast.Name)}

    def named(node: ast.AST) -> str:
        value = node.value if isinstance(node, ast.Constant) else constants.get(getattr(node, "id", ""))
        return value if isinstance(value, str) and value.startswith("NNLAB_") else ""

    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args \
                and node.func.attr in ("get", "getenv") and named(node.args[0]):
            found.add(named(node.args[0]))
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and named(node.slice):
            found.add(named(node.slice))
    return {(str(path.relative_to(ROOT)), name) for name in found}


def test_no_module_reads_a_variable_behind_the_settings_back() -> None:
    """Apart from the few reads listed with their reason, does every module read its NNLAB_*
    variables through nnlab.settings (so their types, defaults and errors stay in one place)?"""
    reads = set().union(*(_raw_reads(p) for p in (ROOT / "nnlab").rglob("*.py")
                          if p.name != "settings.py"))
    assert reads == RAW_READS


def test_doctor_names_a_bad_variable_and_still_shows_the_server(clean_env: pytest.MonkeyPatch) -> None:
    """Does `nnlab doctor` diagnose a bad NNLAB_* value (in its config line) instead of stopping,
    and still show the server NNLAB_SERVER names?"""
    from nnlab.commands.doctor import config_and_server

    clean_env.setenv("NNLAB_SERVER", "http://x.example")
    clean_env.setenv("NNLAB_DAEMON_IDLE_S", "abc")
    config, server = config_and_server("en")
    assert config.endswith("; NNLAB_DAEMON_IDLE_S='abc': expected a number of seconds, e.g. 600")
    assert "http://x.example (from NNLAB_SERVER)" in server
