"""Python source to a normalized token stream that renaming, comments and layout do not change."""
from __future__ import annotations

import ast
import io
import keyword
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PLACEHOLDER = "V"
"""What every name the file itself defines becomes (variables, functions, classes, attributes)."""
STRING = "S"
"""What every string literal becomes: copiers reword messages as freely as comments."""
MAX_TOKENS = 20_000
"""A file is cut here: about twenty times a long solution, so a megabyte of padding cannot
make the comparison of a whole class slow."""

_DROPPED = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
_STRUCTURE = {tokenize.NEWLINE: ";", tokenize.INDENT: "{", tokenize.DEDENT: "}"}
_Position = tuple[int, int]
_Span = tuple[_Position, _Position, bool]
"""Start, end, and whether it is an annotation (whose introducing colon goes too)."""


@dataclass(frozen=True)
class TokenStream:
    """A source file as the comparison sees it, with where each token came from."""

    tokens: tuple[str, ...]
    """Normalized token texts: keywords, operators and library names as written; the file's
    own names as the placeholder; strings as one symbol; comments and docstrings gone."""
    lines: tuple[tuple[int, int], ...]
    """First and last source line (1-based) of each token, for highlighting."""
    text: str
    """The source that was tokenized (for a notebook, its code cells joined)."""


@dataclass(frozen=True)
class _Plan:
    """What the syntax tree says about a file before its tokens are read."""

    defined: frozenset[str]
    """Names the file binds itself: renaming them changes nothing that runs."""
    aliases: dict[str, str]
    """Import alias to what it imports: `F` in `import torch.nn.functional as F`."""
    skip: tuple[_Span, ...]
    """Source spans whose tokens do not count, sorted: docstrings, bare strings, annotations,
    dead code."""


def _store_targets(node: ast.AST) -> list[str] | None:
    """The plain names a statement assigns to, or None when it assigns anything else (an
    attribute or an item: the grader may read those, so they are never dead)."""
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        targets = [node.target]
    else:
        return None
    names: list[str] = []
    for target in targets:
        parts = target.elts if isinstance(target, ast.Tuple) else [target]
        if not all(isinstance(p, ast.Name) for p in parts):
            return None
        names.extend(p.id for p in parts if isinstance(p, ast.Name))
    return names


def _dead_code(tree: ast.Module, loaded: set[str], required: frozenset[str] | None) -> list[ast.stmt]:
    """Statements that cannot matter, so that padding a copy with them breaks no fingerprint:
    assignments to names nothing reads, `if False:` blocks, and module-level functions and
    classes nothing uses (except those the exercise requires: the grader calls them)."""
    dead: list[ast.stmt] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt):
            continue
        names = _store_targets(node)
        if names and not loaded.intersection(names):
            dead.append(node)
        elif isinstance(node, (ast.If, ast.While)) and isinstance(node.test, ast.Constant) \
                and not node.test.value and not node.orelse:
            dead.append(node)
    if required is None:
        return dead
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                and node.name not in loaded and node.name not in required:
            dead.append(node)
    return dead


def _span_of(node: ast.stmt | ast.expr, annotation: bool) -> _Span:
    first = min([node] + list(getattr(node, "decorator_list", [])), key=lambda n: (n.lineno, n.col_offset))
    end = (node.end_lineno or node.lineno, node.end_col_offset or 0)
    return (first.lineno, first.col_offset), end, annotation


def _read_tree(tree: ast.Module, required: frozenset[str] | None, dead: bool = True) -> _Plan:
    """One walk over the tree: the names the file binds itself, its import aliases (bound too, but
    to a library name a copier's rename must not hide), and the spans that do not count:
    docstrings and other bare string statements (prose, or code commented out in quotes), type
    annotations (copiers strip or add them at will), and dead code."""
    defined: set[str] = set()
    loaded: set[str] = set()
    aliases: dict[str, str] = {}
    spans: list[ast.stmt] = []
    annotations: list[ast.expr] = []
    node: Any  # dispatched on `type(node) is` (faster than isinstance), which mypy cannot narrow through `kind`
    for node in ast.walk(tree):
        kind = type(node)
        if kind is ast.Name:
            if type(node.ctx) is ast.Load:
                loaded.add(node.id)
            else:
                defined.add(node.id)
        elif kind is ast.Attribute:
            if type(node.ctx) is ast.Store:
                defined.add(node.attr)
            else:
                loaded.add(node.attr)
        elif kind is ast.arg:
            defined.add(node.arg)
            if node.annotation is not None:
                annotations.append(node.annotation)
        elif kind is ast.Expr:
            if type(node.value) is ast.Constant and isinstance(node.value.value, str):
                spans.append(node)
        elif kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
            defined.add(node.name)
            if kind is not ast.ClassDef and node.returns is not None:
                annotations.append(node.returns)
        elif kind is ast.AnnAssign:
            annotations.append(node.annotation)
        elif kind is ast.ExceptHandler and node.name:
            defined.add(node.name)
        elif kind in (ast.Import, ast.ImportFrom):
            base = f"{node.module}." if kind is ast.ImportFrom and node.module else ""
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = base + alias.name
    if dead:
        spans.extend(_dead_code(tree, loaded, required))
    # Shadowing a library name with an alias of itself (`import torch as torch`) changes nothing.
    skip = [_span_of(n, False) for n in spans] + [_span_of(n, True) for n in annotations]
    return _Plan(frozenset(defined - set(aliases)), aliases, tuple(sorted(skip)))


def defined_names(source: str) -> frozenset[str]:
    """The names a file binds itself (what the comparison reads as the placeholder)."""
    return _plan(source, None).defined


def top_level_names(source: str) -> frozenset[str]:
    """The functions and classes a file (a stub) defines at module level: the names the grader
    calls, which are never dead code however unused they look inside the file."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return frozenset()
    return frozenset(n.name for n in tree.body
                     if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)))


def _plan(source: str, required: frozenset[str] | None, dead: bool = True) -> _Plan:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        # Unparsable code is still compared, token by token: only no name is known to be its own.
        return _Plan(frozenset(), {}, ())
    return _read_tree(tree, required, dead)


def _raw_tokens(source: str) -> list[tokenize.TokenInfo]:
    """Python's own tokens; a file that stops mid-statement keeps what came before."""
    found: list[tokenize.TokenInfo] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            found.append(tok)
            if len(found) > MAX_TOKENS:
                break
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return found


def _in_spans(start: _Position, spans: tuple[_Span, ...], cursor: int) -> tuple[bool, int]:
    """Whether a token starting at `start` lies in one of the sorted spans; `cursor` walks the
    spans once over a file's tokens, which arrive in source order."""
    while cursor < len(spans) and spans[cursor][1] <= start:
        cursor += 1
    inside = cursor < len(spans) and spans[cursor][0] <= start < spans[cursor][1]
    return inside, cursor


def _name(text: str, plan: _Plan) -> str:
    if keyword.iskeyword(text):
        return text
    if text in plan.aliases:
        return plan.aliases[text]
    if text in plan.defined:
        return PLACEHOLDER
    return text


def normalize(source: str, required: frozenset[str] | None = None,
              extra_defined: frozenset[str] = frozenset()) -> TokenStream:
    """The token stream two copies of the same code share, however renamed, re-commented,
    re-laid-out or padded with dead code; ast finds what the file defines and what does not
    count, tokenize reads the rest. `required`: the module-level names the exercise asks for;
    given, an unused module-level function or class that is not one of them is dead code too.
    `extra_defined`: names read as the file's own although it does not bind them, and no code
    is dead: a fragment of a statement, which a student's file would complete."""
    plan = _plan(source, required, dead=not extra_defined)
    if extra_defined:
        plan = _Plan(plan.defined | (extra_defined - set(plan.aliases)), plan.aliases, plan.skip)
    tokens: list[str] = []
    lines: list[tuple[int, int]] = []
    cursor = open_blocks = 0
    for tok in _raw_tokens(source):
        if tok.type in _DROPPED or tok.string == "->":
            continue
        if tok.type == tokenize.DEDENT and open_blocks:
            open_blocks -= 1  # closes a block that was skipped whole: its INDENT was never kept
            continue
        if plan.skip and tok.type != tokenize.DEDENT:
            inside, cursor = _in_spans(tok.start, plan.skip, cursor)
            if inside:
                span_start, _, annotation = plan.skip[cursor]
                # The colon that introduced an annotation goes with it (`x: Tensor` reads as `x`).
                if annotation and tok.start == span_start and tokens and tokens[-1] == ":":
                    tokens.pop()
                    lines.pop()
                open_blocks += tok.type == tokenize.INDENT
                continue
        if tok.type in _STRUCTURE:
            # A NEWLINE right after another (or after a dropped docstring) carries nothing.
            if tok.type == tokenize.NEWLINE and (not tokens or tokens[-1] in (";", "{")):
                continue
            text = _STRUCTURE[tok.type]
        elif tok.type == tokenize.NAME:
            text = _name(tok.string, plan)
        elif tok.type == tokenize.STRING:
            if tokens and tokens[-1] == STRING:
                continue  # implicit concatenation: one string however it is split
            text = STRING
        else:
            text = tok.string
        tokens.append(text)
        lines.append((tok.start[0], tok.end[0]))
    return TokenStream(tuple(tokens), tuple(lines), source)


def _notebook_source(path: Path) -> str:
    """The code cells of a notebook, one after another; IPython magics and shell lines
    (`%timeit`, `!pip`) become blank lines, since Python cannot tokenize them."""
    import nbformat

    notebook = nbformat.read(str(path), as_version=4)
    cells = []
    for cell in notebook.cells:
        if cell.get("cell_type") != "code":
            continue
        lines = ["" if line.lstrip().startswith(("%", "!")) else line
                 for line in str(cell.get("source", "")).splitlines()]
        cells.append("\n".join(lines))
    return "\n\n".join(cells) + "\n"


def read_source(path: Path) -> str:
    """The Python text of a submission file: `ID.py` as is, `ID.ipynb` as its code cells.
    Bytes that are not UTF-8 are replaced rather than refused: the grader already reports
    such a file, and its readable part can still be compared."""
    if path.suffix == ".ipynb":
        try:
            return _notebook_source(path)
        except Exception:  # noqa: BLE001 - a broken notebook is compared as empty, not fatal
            return ""
    return path.read_bytes().decode("utf-8", errors="replace")
