"""Which exercises need torch's lazy imports warmed in the fork server: read from their files, without Dask."""
from __future__ import annotations

import functools

LAZY_IMPORT_WORDS = ("optim", "checkpoint", "_dynamo", "compile", "torch.func", "functorch",
                     "vmap", "torch.export")
"""Words in an exercise's files that say its workers may run code importing torch._dynamo on
first use (optimizers, LR schedulers, torch.utils.checkpoint, torch.func, torch.compile)."""


def needs_lazy_imports(exercise_ids: tuple[str, ...]) -> bool:
    """Whether a fork server for these exercises should warm torch's lazy imports.

    Read from each exercise's own files (stub, statements, checks, solution): a word of
    LAZY_IMPORT_WORDS anywhere, a file that cannot be read, or no exercise named says yes. A wrong no costs only
    speed: a worker whose student uses an optimizer anyway imports it itself, untimed (the
    timing checks' warm-up call pays it) and well within a check's time limit.
    """
    return not exercise_ids or any(_mentions_lazy_imports(e) for e in exercise_ids)


@functools.cache
def _mentions_lazy_imports(exercise_id: str) -> bool:
    from nnlab.errors import NnlabError
    from nnlab.grader.exercise import get_exercise, ships_solutions, solution_file

    try:
        exercise = get_exercise(exercise_id)
        files = [p for p in exercise.folder.rglob("*") if p.suffix in (".py", ".md", ".toml")]
        if ships_solutions():
            files.append(solution_file(exercise.folder, exercise.id))
        text = "\n".join(p.read_text(encoding="utf-8") for p in files if p.is_file())
    except (NnlabError, OSError, UnicodeError):  # an exercise this cannot read: warmed
        return True
    return any(word in text for word in LAZY_IMPORT_WORDS)
