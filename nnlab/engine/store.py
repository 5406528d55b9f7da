"""OUT_DIR/results/: each student's result as soon as it is graded, reused while nothing changed."""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnlab.engine.files import StudentFile, files_digest
from nnlab.errors import UsageError
from nnlab.grader.exercise import get_exercise
from nnlab.results import SubmissionResult, result_from_json

RUN_FILE = "run.json"
RESULTS_DIR = "results"


def write_atomically(path: Path, text: str) -> None:
    """Writes the whole file or nothing: a run killed mid-write leaves the old file or none."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _definitions_digest(exercise_ids: tuple[str, ...]) -> str:
    """The exercises as defined here: an edited check or point value invalidates old results."""
    digest = hashlib.sha256()
    for exercise_id in exercise_ids:
        folder = get_exercise(exercise_id).folder
        for path in sorted(folder.iterdir()):
            if path.is_file() and (path.suffix in (".toml", ".py")) and path.name != "stub.py":
                digest.update(f"{exercise_id}/{path.name}\0".encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Stored:
    """A result found in OUT_DIR and whether it still holds for the student's files."""

    result: SubmissionResult
    """The stored result."""
    infrastructure_error: str
    """Non-empty when no worker could grade the student: always graded again."""


class ResultStore:
    """The results folder of one OUT_DIR, for one exercise set, seed and nnlab version."""

    def __init__(self, out_dir: Path, exercise_ids: tuple[str, ...], seed: int,
                 include_hidden: bool = True) -> None:
        from nnlab import __version__

        self.folder = out_dir / RESULTS_DIR
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create {self.folder}: {exc.strerror}") from None
        self._context = json.dumps({"exercises": list(exercise_ids), "seed": seed,
                                    "nnlab": __version__, "hidden": include_hidden,
                                    "definitions": _definitions_digest(exercise_ids)})

    def key(self, files: tuple[StudentFile, ...]) -> str:
        """The digest a stored result must carry to be reused for these files."""
        return hashlib.sha256(f"{self._context}\0{files_digest(files)}".encode()).hexdigest()

    def _path(self, student: str) -> Path:
        return self.folder / f"{student}.json"

    def load(self, student: str, key: str) -> Stored | None:
        """The stored result for these files, or None (none, another key, or unreadable)."""
        try:
            data = json.loads(self._path(student).read_text(encoding="utf-8"))
            if data.get("key") != key:
                return None
            return Stored(result_from_json(data["result"]), str(data.get("infrastructure_error", "")))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, student: str, key: str, result: SubmissionResult,
             infrastructure_error: str = "") -> None:
        record: dict[str, Any] = {"key": key, "infrastructure_error": infrastructure_error,
                                  "result": result.to_json()}
        write_atomically(self._path(student), json.dumps(record, indent=1))


def remembered_seed(out_dir: Path) -> int | None:
    """The seed of the previous run in OUT_DIR, so that a re-run can reuse its results."""
    try:
        seed = json.loads((out_dir / RUN_FILE).read_text(encoding="utf-8")).get("seed")
    except (OSError, ValueError, AttributeError):
        return None
    return seed if isinstance(seed, int) else None


def remember_run(out_dir: Path, seed: int, exercise_ids: tuple[str, ...], source: str) -> None:
    write_atomically(out_dir / RUN_FILE, json.dumps(
        {"seed": seed, "exercises": list(exercise_ids), "exercise_set": source}, indent=1) + "\n")
