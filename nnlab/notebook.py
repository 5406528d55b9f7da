"""Jupyter notebooks: writing an exercise as ID.ipynb, and reading one back as Python source."""
from __future__ import annotations

import ast
import io
import re
import tokenize
import warnings
from dataclasses import dataclass
from typing import Any

from nnlab.errors import SubmissionError

# A notebook saved by Jupyter carries its outputs (plots, tables) beside the code: it may be far
# larger than the Python it holds, whose own limit is applied to the code taken from it.
MAX_NOTEBOOK_BYTES = 20_000_000
MAX_LISTED = 5
# `nnlab start --notebook` writes this shell line into the notebook's last cell; it is the
# student's check button, not part of the answer, so it is left out without a note.
_OWN_COMMAND = re.compile(r"^\s*!\s*nnlab\b")
_CONTINUED = re.compile(r"\\\s*$")
_FUTURE = re.compile(r"^from\s+__future__\s+import\b")
_STATEMENT_HERE = {"en": "the top of this notebook", "zh": "本笔记本开头"}
_CHECK_CELL = {
    "en": "# Save the notebook first (Ctrl+S / Cmd+S): the checks read the file on disk.\n",
    "zh": "# 先保存笔记本（Ctrl+S / Cmd+S）：检查读取的是磁盘上的文件。\n",
}


class NotebookUnreadable(SubmissionError):
    """The file is not a notebook the grader can read; the message is for the student."""


@dataclass(frozen=True)
class LeftOut:
    """An IPython line or cell left out of the Python taken from a notebook."""

    cell: int
    """1-based position of the cell among all the notebook's cells, as the student counts them."""
    line: int
    """1-based line in the cell; 0 for a whole cell (a `%%` cell magic)."""
    text: str
    """The line as written (the first line for a whole cell)."""

    def describe(self) -> str:
        if self.line == 0:
            return f"cell {self.cell} (the whole {self.text.split()[0]} cell)"
        return f"cell {self.cell}, line {self.line}: {self.text.strip()}"


@dataclass(frozen=True)
class NotebookCode:
    """The Python of a notebook's code cells, in order, and where each of its lines came from."""

    source: str
    origins: tuple[tuple[int, int], ...]
    """For line n of `source` (1-based), origins[n - 1] is its (cell, line in the cell)."""
    left_out: tuple[LeftOut, ...]
    """IPython magics and shell lines that are not Python, with their place (nnlab's own
    `!nnlab ...` check line excepted)."""
    python_lines: int
    """Non-blank lines of Python kept from the code cells (0: nothing to grade)."""

    def locate(self, line: int) -> str:
        """'cell 3, line 2' for line `line` of `source`."""
        if 1 <= line <= len(self.origins):
            cell, in_cell = self.origins[line - 1]
            return f"cell {cell}, line {in_cell}"
        return f"line {line}"

    def note(self, name: str) -> str:
        """The feedback line on what was left out, or '' when nothing was."""
        if not self.left_out:
            return ""
        listed = "; ".join(item.describe() for item in self.left_out[:MAX_LISTED])
        more = len(self.left_out) - MAX_LISTED
        extra = f"; and {more} more" if more > 0 else ""
        return (f"{name}: IPython magics and shell lines are not Python and were left out of "
                f"the grading ({listed}{extra})")


def _lines(text: str) -> list[str]:
    """The lines of a cell as Python's tokenizer splits them (str.splitlines also splits on
    characters such as U+2028 that may sit inside a string literal)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


# What parsing or compiling hostile text may raise besides SyntaxError: ValueError (null bytes,
# lone surrogates), RecursionError and MemoryError (expressions nested thousands deep).
_UNPARSABLE = (SyntaxError, ValueError, RecursionError, MemoryError)


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
    except _UNPARSABLE:
        return False
    return True


def _compiles(text: str) -> bool:
    """Whether `text` compiles: unlike parsing, compiling checks where future imports stand."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings are the grader's to report, not ours
            compile(text, "<notebook>", "exec", dont_inherit=True)
    except _UNPARSABLE:
        return False
    return True


def _statement_starts(lines: list[str]) -> set[int] | None:
    """0-based indexes of the lines on which a statement begins (not inside a multi-line
    string or bracket), or None when the cell does not even tokenize."""
    passive = {tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT,
               tokenize.ENDMARKER}
    starts: set[int] = set()
    expecting = True
    try:
        for token in tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline):
            if token.type == tokenize.NEWLINE:
                expecting = True
            elif token.type not in passive and expecting:
                starts.add(token.start[0] - 1)
                expecting = False
    except (tokenize.TokenError, *_UNPARSABLE):
        return None
    return starts


def _neutral(line: str) -> str:
    stripped = line.lstrip()
    return f"{line[:len(line) - len(stripped)]}_{stripped[1:]}"


def _cell_code(cell_no: int, text: str) -> tuple[list[str], list[LeftOut]]:
    """The cell's lines with every magic or shell line blanked (`pass` inside a block, to keep
    it valid), so line numbers stay those of the cell; and what was left out."""
    lines = _lines(text)
    first = next((line for line in lines if line.strip()), "")
    if first.lstrip().startswith("%%"):
        return [], [LeftOut(cell_no, 0, first.strip())]
    magic = [i for i, line in enumerate(lines) if line.lstrip().startswith(("%", "!"))]
    if not magic or _parses(text):
        # A cell that parses has no magic: a '%' or '!' at a line start is then text in a
        # string or an operator continuing a bracketed expression.
        return lines, []
    # Where statements begin, with each candidate's '%' or '!' turned into a name character:
    # the rest of the line keeps its brackets, quotes and continuation for the tokenizer.
    starts = _statement_starts([_neutral(line) if i in magic else line
                                for i, line in enumerate(lines)])
    if starts is not None:  # '%' or '!' continuing a string or a bracket is not a magic
        magic = [i for i in magic if i in starts]
    out = list(lines)
    left_out: list[LeftOut] = []
    continued = False
    for i, line in enumerate(lines):
        if continued or i in magic:
            indent = line[:len(line) - len(line.lstrip())]
            # `pass` keeps an indented block valid; at the top level a blank line is enough.
            out[i] = f"{indent}pass" if indent and not continued else ""
            if not continued and not _OWN_COMMAND.match(line):
                left_out.append(LeftOut(cell_no, i + 1, line))
            continued = bool(_CONTINUED.search(line))
    return out, left_out


def _load(text: str, name: str) -> Any:
    """The notebook nbformat reads from `text` (version 4), or NotebookUnreadable."""
    import nbformat  # only notebook submissions pay for it
    from nbformat.reader import NotJSONError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. cells without ids in an older minor format
            return nbformat.reads(text, as_version=4, capture_validation_error={})
    except NotJSONError:
        raise NotebookUnreadable(f"{name} is not a Jupyter notebook: its text is not valid JSON; "
                                 f"save it again from Jupyter (File > Save Notebook)") from None
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds; each is the same mistake
        # RecursionError (JSON nested a thousand deep) included: it is the file's fault too.
        detail = str(exc)[:200].encode("utf-8", "backslashreplace").decode("utf-8")
        raise NotebookUnreadable(f"{name} is not a Jupyter notebook nbformat can read "
                                 f"({type(exc).__name__}: {detail})") from None


def _cell_source(cell: Any, cell_no: int, name: str) -> str | None:
    """The text of a code cell; None for any other cell. nbformat reads without validating,
    so every shape the grader relies on is checked here, each a message for the student."""
    def broken(what: str) -> NotebookUnreadable:
        return NotebookUnreadable(f"{name} is not a Jupyter notebook: {what} (cell {cell_no}); "
                                  f"save it again from Jupyter (File > Save Notebook)")

    if not isinstance(cell, dict):
        raise broken("a cell is not a JSON object")
    if cell.get("cell_type") != "code":
        return None
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        source = "".join(source)
    if not isinstance(source, str):
        raise broken("the source of a code cell is neither text nor a list of lines")
    try:
        source.encode("utf-8")
    except UnicodeEncodeError:
        raise broken("a code cell holds a character that is not valid Unicode (a lone "
                     "surrogate escape)") from None
    return source


def _code_cells(text: str, name: str) -> list[tuple[int, str]]:
    """(1-based cell number, source) of each code cell, in order."""
    notebook = _load(text, name)
    cells = notebook.get("cells", []) if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise NotebookUnreadable(f"{name} is not a Jupyter notebook: its cells are not a list; "
                                 f"save it again from Jupyter (File > Save Notebook)")
    found = [(n, _cell_source(cell, n, name)) for n, cell in enumerate(cells, start=1)]
    return [(n, source) for n, source in found if source is not None]


def read_code(text: str, name: str) -> NotebookCode:
    """The code cells of the notebook `text`, in order, as one Python source.

    Raises NotebookUnreadable (with a message for the student) for anything that is not a
    notebook of the shape Jupyter saves; never another exception for the file's content.
    """
    lines: list[str] = []
    origins: list[tuple[int, int]] = []
    left_out: list[LeftOut] = []
    kept = 0
    for cell_no, source in _code_cells(text, name):
        code, dropped = _cell_code(cell_no, source)
        left_out += dropped
        lines += code
        origins += [(cell_no, n) for n in range(1, len(code) + 1)]
        kept += sum(1 for original, line in zip(_lines(source), code)
                    if line == original and line.strip() and not line.lstrip().startswith("#"))
    lines, origins = _future_first(lines, origins)
    return NotebookCode("\n".join(lines) + "\n", tuple(origins), tuple(left_out), kept)


def _future_first(lines: list[str], origins: list[tuple[int, int]]
                  ) -> tuple[list[str], list[tuple[int, int]]]:
    """Jupyter compiles each cell alone, so `from __future__ import ...` may open any cell; in
    one file it must come first: such lines move to the top (keeping their origins)."""
    futures = [i for i, line in enumerate(lines) if _FUTURE.match(line)]
    if not futures or _compiles("\n".join(lines)):
        return lines, origins
    moved = [lines[i] for i in futures]
    moved_origins = [origins[i] for i in futures]
    kept = ["" if i in futures else line for i, line in enumerate(lines)]
    return moved + kept, moved_origins + origins


def _pointing_here(stub: str, exercise_id: str, lang: str) -> str:
    """The stub with its pointer to ID.md turned to the notebook's own statement cell."""
    # Chinese sets no space between its words: '见 ID.md' becomes '见本笔记本开头'.
    spacing = r"\s?" if lang == "zh" else ""
    here = _STATEMENT_HERE.get(lang, _STATEMENT_HERE["en"])
    return re.sub(rf"{spacing}{re.escape(exercise_id)}\.md", here, stub)


def build_notebook(exercise_id: str, statement: str, stub: str, lang: str) -> str:
    """ID.ipynb (nbformat v4) as text: the statement, the stub cell, and a cell that runs the
    public checks on this very file (a shell line, so grading leaves it out)."""
    import nbformat
    from nbformat import v4

    check = (_CHECK_CELL.get(lang, _CHECK_CELL["en"])
             + f"!nnlab check {exercise_id}.ipynb --lang {lang}")
    notebook = v4.new_notebook(
        cells=[v4.new_markdown_cell(statement),
               v4.new_code_cell(_pointing_here(stub, exercise_id, lang)),
               v4.new_code_cell(check)],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        })
    nbformat.validate(notebook)
    return nbformat.writes(notebook)
