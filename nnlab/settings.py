"""Every NNLAB_* environment variable, typed and documented in one model, read afresh at each use."""
from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from nnlab.errors import UsageError

KEEPS_EMPTY = ("NNLAB_COURSE",)
"""Variables whose empty value means something (no course); every other one reads empty as unset."""


def _var(name: str, default: Any, expected: str, description: str, **extra: Any) -> Any:
    """One variable: its name exactly as users set it, its default, what a value looks like
    (for the one-line error) and what it does (for the documentation table)."""
    return Field(default, validation_alias=name, description=description,
                 json_schema_extra={"expected": expected}, **extra)


class Settings(BaseSettings):
    """What the NNLAB_* variables say, validated. Read it with `read_settings()` each time it is
    needed: the warm grader replaces the environment for each request and the worker's sandbox
    clears it, so a value kept from import time would be another command's."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=True)

    server: str | None = _var(
        "NNLAB_SERVER", None, "an address such as https://nnlab.example.edu",
        "The course server's address; overrides the saved login (`nnlab login`).")
    token: str | None = _var(
        "NNLAB_TOKEN", None, "a token", "Your token for the course server; overrides the saved login.",
        repr=False)
    course: str | None = _var(
        "NNLAB_COURSE", None, "a course.toml or its folder",
        "The course in force (its course.toml or folder). Every nnlab command exports it "
        "(`--course`, else the course.toml found upwards) for the processes it starts; "
        "empty means no course.")
    lang: str | None = _var(
        "NNLAB_LANG", None, "en or zh",
        "Language of statements and messages: en or zh (a locale tag such as zh_CN.UTF-8 too); "
        "unset follows the locale.")
    no_daemon: bool = _var(
        "NNLAB_NO_DAEMON", False, "1 or 0",
        "Anything but 0 or empty: every command grades in its own process, without the warm grader.")
    daemon_idle_s: float = _var(
        "NNLAB_DAEMON_IDLE_S", 600.0, "a number of seconds, e.g. 600",
        "Seconds the warm grader waits for the next command before it leaves (at least 0.1); "
        "read when a command starts one (a warm daemon keeps the value it started with).")
    cuda_memory_fraction: float = _var(
        "NNLAB_CUDA_MEMORY_FRACTION", 0.45, "a fraction in (0, 1], e.g. 0.45",
        "The share of the GPU's memory each process of a CUDA timing may allocate; lower it when "
        "several Dask workers share one card.")
    timing_lock: int | Literal["cores", "off"] = _var(
        "NNLAB_TIMING_LOCK", "cores", "'cores', 'machine', 'off' or a number of measurements "
        "that may run at once",
        "How many timing measurements may run at once on one machine: cores (one per core), "
        "machine (one), off (no limit) or a number.")
    python: str | None = _var(
        "NNLAB_PYTHON", None, "a Python interpreter",
        "The Python the Gradescope autograder's run_autograder uses (default: ROOT/venv's).")
    autograder_root: Path = _var(
        "NNLAB_AUTOGRADER_ROOT", Path("/autograder"), "a folder",
        "The Gradescope autograder's root, in place of /autograder (tests run it on a copy).")
    fake_now: dt.datetime | None = _var(
        "NNLAB_FAKE_NOW", None, "an ISO 8601 date and time with an offset",
        "Test hook: the course server's clock starts at this instant and runs on. Never on a "
        "real course server.")
    lti_retry_cap_s: float = _var(
        "NNLAB_LTI_RETRY_CAP_S", 300.0, "a number of seconds",
        "Test hook: the longest wait between two tries of sending a score to the LMS.")
    forkserver_lazy_imports: bool = _var(
        "NNLAB_FORKSERVER_LAZY_IMPORTS", True, "1 or 0",
        "Set by nnlab, not by users: it tells each fork server it starts (the embedded cluster's, or "
        "a Dask worker's own) whether to import torch._dynamo before forking (0 when none of the "
        "exercises to grade uses optimizers, schedulers, checkpoint, torch.func or compile).")
    lti_jwks_refetch_s: float = _var(
        "NNLAB_LTI_JWKS_REFETCH_S", 60.0, "a number of seconds, 0 or more",
        "The least time between two fetches of an LMS's public keys: a launch signed with a key "
        "they lack fetches them again at most this often (0: every time).", ge=0)

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings],
                                   init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only the environment given to read_settings (init keywords carry it), never a file.
        return (init_settings,)

    @field_validator("no_daemon", mode="before")
    @classmethod
    def _switch(cls, value: Any) -> Any:
        # Not pydantic's booleans: "anything but 0 or empty" is what users were told.
        return value.strip() not in ("", "0") if isinstance(value, str) else value

    @field_validator("cuda_memory_fraction")
    @classmethod
    def _fraction(cls, value: float) -> float:
        if not 0 < value <= 1:
            raise ValueError("expected a fraction in (0, 1], e.g. 0.45")
        return value

    @field_validator("timing_lock", mode="before")
    @classmethod
    def _lock(cls, value: Any) -> Any:
        raw = str(value).strip().lower()
        named = {"cores": "cores", "machine": 1, "on": 1, "off": "off", "none": "off"}
        if raw in named:
            return named[raw]
        if raw.isdigit() and int(raw) >= 1:
            return int(raw)
        raise ValueError("expected 'cores', 'machine', 'off' or a number of measurements "
                         "that may run at once")

    @field_validator("fake_now", mode="before")
    @classmethod
    def _instant(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:  # Python's ISO 8601, not pydantic's: the hook has always read it so
            start = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("is not an ISO 8601 date and time") from None
        if start.tzinfo is None:
            raise ValueError("needs a UTC offset, e.g. +08:00")
        return start


def variable(field: str) -> str:
    """The environment variable of a Settings field."""
    alias = Settings.model_fields[field].validation_alias
    assert isinstance(alias, str)
    return alias


_NAMES = tuple(variable(field) for field in Settings.model_fields)


def _given(environ: Mapping[str, str]) -> dict[str, str]:
    """The model's variables that `environ` sets, stripped; empty ones dropped (unset)."""
    given = {}
    for name in _NAMES:
        value = environ.get(name)
        if value is not None and (value.strip() or name in KEEPS_EMPTY):
            given[name] = value.strip()
    return given


def read_settings(*only: str, environ: Mapping[str, str] | None = None) -> Settings:
    """The settings as `environ` (default: os.environ as it is now) says; a bad value is one
    UsageError naming the variable, its value and what it should look like.

    With field names in `only`, just those variables are read (the others keep their
    defaults): a reader deep in grading fails on its own variable, never on another's.
    """
    given = _given(os.environ if environ is None else environ)
    if only:
        wanted = {variable(field) for field in only}  # an unknown field is a KeyError: a bug
        given = {name: value for name, value in given.items() if name in wanted}
    return _validated(tuple(sorted(given.items())))


@lru_cache(maxsize=64)
def _validated(given: tuple[tuple[str, str], ...]) -> Settings:
    """Settings for these values (frozen, so shared): building one costs about a millisecond,
    and the course server asks for its clock on every request."""
    try:
        return Settings.model_validate(dict(given))
    except ValidationError as exc:
        raise _one_line(exc, dict(given)) from None


def _one_line(exc: ValidationError, given: Mapping[str, str]) -> UsageError:
    error = exc.errors()[0]
    name = str(error["loc"][0]) if error["loc"] else ""
    field = next((f for f in Settings.model_fields if variable(f) == name), None)
    if error["type"] == "value_error":
        why = str(error["ctx"]["error"])
    else:
        why = f"expected {_expected(Settings.model_fields[field])}" if field else error["msg"]
    return UsageError(f"{name}={given.get(name, '')!r}: {why}")


def _expected(info: FieldInfo) -> str:
    extra = info.json_schema_extra
    return str(extra["expected"]) if isinstance(extra, dict) else "another value"


def _shown_default(info: FieldInfo) -> str:
    value = info.default
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "1" if value else "0"
    return f"{value:g}" if isinstance(value, float) else str(value)


def variables_table() -> str:
    """The variables as a Markdown table: docs/settings.md is this text, kept so by a test."""
    lines = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    for info in Settings.model_fields.values():
        lines.append(f"| `{info.validation_alias}` | {_shown_default(info)} | {info.description} |")
    return "\n".join(lines) + "\n"


def settings_page() -> str:
    """docs/settings.md: every NNLAB_* variable (`python -m nnlab.settings > docs/settings.md`)."""
    return ("# nnlab's environment variables\n\n"
            "Generated from `nnlab.settings.Settings` (`python -m nnlab.settings > docs/settings.md`);\n"
            "a test keeps this page and the model in step. A value nnlab cannot use is a one-line\n"
            "error naming the variable; an empty value is the same as unset (except `NNLAB_COURSE`,\n"
            "where empty means no course).\n\n" + variables_table())


if __name__ == "__main__":
    sys.stdout.write(settings_page())
