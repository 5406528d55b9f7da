"""Similarity on a synthetic class: seconds for N students x M exercises, and how planted copies rank."""
from __future__ import annotations

import argparse
import ast
import copy
import random
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnlab.grader.exercise import SOLUTIONS_DIR, get_exercise, load_catalogue
from nnlab.review import similarity
from nnlab.review.tokens import defined_names

UNARY = ["exp", "log", "tanh", "relu", "sigmoid", "abs", "sqrt", "square", "neg", "sign", "log1p",
         "expm1", "erf", "floor", "ceil", "zeros_like", "ones_like", "rsqrt", "flatten"]
METHODS = ["sum", "mean", "exp", "log", "clamp_min", "pow", "unsqueeze", "squeeze", "transpose",
           "reshape", "view", "softmax", "amax", "detach", "clone", "contiguous", "t", "flatten", "abs"]
OPS = ["+", "-", "*", "/", "@"]
FUNCTIONAL = ["relu", "softmax", "log_softmax", "gelu", "silu", "dropout", "normalize", "pad"]
NAMES = ["x", "y", "z", "out", "h", "tmp", "res", "acc", "val", "a", "b", "c", "w", "t", "s", "k", "m",
         "total", "scale", "shift", "mask", "norm", "grad", "prod", "buf", "hidden", "logits", "probs"]


@dataclass
class _Scope:
    """Variables a generated function body can use so far."""

    names: list[str]
    has_self: bool
    fresh: list[str] = field(default_factory=list)


def _expr(rng: random.Random, scope: _Scope, depth: int = 0) -> str:
    var = rng.choice(scope.names)
    kind = rng.randrange(7 if depth < 2 else 2)
    if kind == 0:
        return var
    if kind == 1:
        return rng.choice(["0", "1", "2", "0.5", "1e-6", "-1", "3", "1.0", "0.1"])
    if kind == 2:
        return f"torch.{rng.choice(UNARY)}({_expr(rng, scope, depth + 1)})"
    if kind == 3:
        return f"({_expr(rng, scope, depth + 1)} {rng.choice(OPS)} {_expr(rng, scope, depth + 1)})"
    if kind == 4:
        arg = rng.choice(["", "-1", "0", "1", "dim=-1", "2", "keepdim=True"])
        return f"{var}.{rng.choice(METHODS)}({arg})"
    if kind == 5:
        dim = rng.choice(["-1", "1", "0"])
        return f"F.{rng.choice(FUNCTIONAL)}({_expr(rng, scope, depth + 1)}, dim={dim})"
    return f"{var}[{rng.choice([':', '0', '..., 0', ':, None', '1:'])}]"


def _statement(rng: random.Random, scope: _Scope, dead: bool = False) -> str:
    """One statement a student might write: assignments, branches, loops, asserts; `dead`: only
    ones that assign a fresh name (padding nothing reads)."""
    kind = rng.choice([0, 1, 2, 3, 5, 6, 7]) if dead else rng.randrange(10)
    new = rng.choice(NAMES) + rng.choice(["", "_", "2", "_out", "_val"])
    some, other, axis = rng.choice(scope.names), rng.choice(scope.names), rng.randrange(3)
    if kind <= 3:
        line = f"{new} = {_expr(rng, scope)}"
    elif kind == 4:
        line, new = f"{some} = {other} {rng.choice(OPS[:4])} {_expr(rng, scope)}", ""
    elif kind == 5:
        line = (f"if {some}.dim() > {rng.randrange(4)}:\n    {new} = {_expr(rng, scope, 1)}\n"
                f"else:\n    {new} = {_expr(rng, scope, 1)}")
    elif kind == 6:
        index = rng.choice(["i", "j", "step", "idx"])
        line = f"{new} = [{_expr(rng, scope, 1)} for {index} in range({rng.randrange(1, 5)})]"
    elif kind == 7:
        loop = rng.choice(["i", "j", "n"])
        line = f"for {loop} in range({some}.shape[{axis}]):\n    {new} = {_expr(rng, scope, 1)}"
    elif kind == 8 and scope.has_self:
        line, new = f"self.{rng.choice(NAMES)}_ = {_expr(rng, scope)}", ""
    else:
        line, new = f"assert {some}.shape[{axis}] == {other}.shape[{rng.randrange(3)}]", ""
    if new:
        scope.names.append(new)
    return line


def _functions(tree: ast.AST) -> dict[str, ast.FunctionDef]:
    """Functions by qualified name (`Class.method` or `function`)."""
    found: dict[str, ast.FunctionDef] = {}
    for node in getattr(tree, "body", []):
        if isinstance(node, ast.FunctionDef):
            found[node.name] = node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    found[f"{node.name}.{item.name}"] = item
    return found


def _honest_body(rng: random.Random, stub_fn: ast.FunctionDef, reference: list[ast.stmt]) -> list[ast.stmt]:
    """An independent body: some of the statements everyone writes (taken from the reference,
    as common idioms are), the rest the student's own, in a student's own order and length."""
    params = [a.arg for a in stub_fn.args.args]
    scope = _Scope([p for p in params if p != "self"] or ["self"], "self" in params)
    body: list[ast.stmt] = []
    for statement in reference[:-1] if reference else []:
        if rng.random() < 0.35:
            body.append(copy.deepcopy(statement))
        for _ in range(rng.randrange(0, 3)):
            body.extend(ast.parse(_statement(rng, scope)).body)
    for _ in range(rng.randrange(2, 5)):
        body.extend(ast.parse(_statement(rng, scope)).body)
    # Everything the student computed feeds the result: honest code has no dead stores.
    assigned = sorted({n.id for s in body for n in ast.walk(s)
                       if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)})
    combined = f" {rng.choice(['+', '*'])} ".join(assigned) or rng.choice(scope.names)
    body.append(ast.parse(f"return {combined}").body[0])
    return body


def honest_solution(rng: random.Random, stub: str, solution: str) -> str:
    """The stub with every body filled in by a student working alone."""
    tree = ast.parse(stub)
    reference = {name: fn.body for name, fn in _functions(ast.parse(solution)).items()}
    for name, fn in _functions(tree).items():
        docstring = fn.body[:1] if ast.get_docstring(fn) and rng.random() < 0.5 else []
        fn.body = docstring + _honest_body(rng, fn, [s for s in reference.get(name, [])
                                                     if not isinstance(s, ast.Expr)])
    if rng.random() < 0.5:
        tree.body.insert(0, ast.parse("import torch.nn.functional as F").body[0])
    return ast.unparse(tree) + "\n"


class _Renamer(ast.NodeTransformer):
    """Renames what a copier may rename: every name the file binds except the required ones."""

    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = mapping

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = self.mapping.get(node.id, node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.arg = self.mapping.get(node.arg, node.arg)
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        node.attr = self.mapping.get(node.attr, node.attr)
        return node


def planted_copy(rng: random.Random, source: str, stub: str) -> str:
    """What a copier does to a classmate's file: renames, reorders functions, pads with dead code,
    rewrites comments and layout."""
    tree = ast.parse(source)
    required = set(_functions(ast.parse(stub))) | {n.split(".")[-1] for n in _functions(ast.parse(stub))}
    required |= {n.name for n in ast.parse(stub).body if isinstance(n, ast.ClassDef)}
    defined = defined_names(source)
    mapping = {n: f"{rng.choice(NAMES)}_{rng.randrange(1000)}" for n in defined
               if n not in required and n != "self"}
    tree = _Renamer(mapping).visit(tree)
    containers = [tree] + [n for n in tree.body if isinstance(n, ast.ClassDef)]
    for holder in containers:
        defs = [i for i, n in enumerate(holder.body) if isinstance(n, ast.FunctionDef)]
        shuffled = [holder.body[i] for i in defs]
        rng.shuffle(shuffled)
        for i, node in zip(defs, shuffled):
            holder.body[i] = node
    for fn in _functions(tree).values():
        scope = _Scope([a.arg for a in fn.args.args if a.arg != "self"] or ["self"], False)
        for _ in range(rng.randrange(0, 3)):
            fn.body.insert(rng.randrange(len(fn.body)), ast.parse(_statement(rng, scope, dead=True)).body[0])
    helper = ast.parse("def _unused_helper(q):\n    return q").body[0]
    scope = _Scope(["q"], False)
    for _ in range(rng.randrange(3, 7)):
        helper.body.insert(-1, ast.parse(_statement(rng, scope, dead=True)).body[0])
    tree.body.append(helper)
    lines = []
    for line in ast.unparse(tree).splitlines():
        lines.append(line)
        if rng.random() < 0.15:
            lines.append(" " * (len(line) - len(line.lstrip())) + f"# step {rng.randrange(99)}")
        if rng.random() < 0.1:
            lines.append("")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class PlantedClass:
    """A generated class folder and which pairs in it are copies."""

    folder: Path
    """CLASS_DIR: one folder per student."""
    exercise_ids: tuple[str, ...]
    """The exercises generated, in catalogue order."""
    planted: dict[str, set[frozenset[str]]]
    """Exercise id to the copied pairs of students."""
    from_reference: dict[str, set[str]]
    """Exercise id to the students who copied the reference solution."""


def make_class(root: Path, students: int, exercise_ids: list[str], copies: int, seed: int) -> PlantedClass:
    rng = random.Random(seed)
    names = [f"s{i:03d}" for i in range(students)]
    planted: dict[str, set[frozenset[str]]] = {}
    from_reference: dict[str, set[str]] = {}
    for ex_id in exercise_ids:
        stub = (get_exercise(ex_id).folder / "stub.py").read_text()
        solution = (SOLUTIONS_DIR / f"{ex_id}.py").read_text()
        texts = {n: honest_solution(rng, stub, solution) for n in names}
        shuffled = rng.sample(names, 2 * copies + 2)
        planted[ex_id] = set()
        for i in range(copies):
            source, copier = shuffled[2 * i], shuffled[2 * i + 1]
            texts[copier] = planted_copy(rng, texts[source], stub)
            planted[ex_id].add(frozenset((source, copier)))
        from_reference[ex_id] = set(shuffled[-2:])
        for name in from_reference[ex_id]:
            texts[name] = planted_copy(rng, solution, stub)
        for name, text in texts.items():
            (root / name).mkdir(parents=True, exist_ok=True)
            (root / name / f"{ex_id}.py").write_text(text)
    return PlantedClass(root, tuple(exercise_ids), planted, from_reference)


def _ranking(comparison: similarity.ExerciseComparison, planted: set[frozenset[str]],
             from_reference: set[str]) -> tuple[np.ndarray, np.ndarray]:
    """The similarity of every planted pair, and of every honest pair (two students who both
    copied the reference are neither: they are copies of one text, but not planted as a pair)."""
    owners = [d.owner for d in comparison.documents]
    upper = np.triu_indices(len(owners), k=1)
    scores = comparison.matrix[upper]
    pairs = [frozenset((owners[i], owners[j])) for i, j in zip(*upper)]
    is_planted = np.array([p in planted for p in pairs])
    is_honest = np.array([p not in planted and not p <= from_reference for p in pairs])
    return scores[is_planted], scores[is_honest]


@dataclass(frozen=True)
class Figures:
    """How well one setting separates planted copies from honest pairs."""

    above: int
    """Planted pairs scoring above every honest pair of their exercise."""
    planted: int
    """Planted pairs in all."""
    planted_flagged: int
    """Planted pairs at or above the flag threshold."""
    honest_flagged: int
    """Honest pairs at or above the flag threshold (false alarms)."""
    honest_pairs: int
    """Honest pairs in all."""
    reference_above: int
    """Copies of the reference scoring above every honest student against it."""
    reference_copies: int
    """Planted copies of the reference in all."""
    reference_flagged: int
    """Copies of the reference at or above the flag threshold against it."""
    lines: tuple[str, ...]
    """One line of figures per exercise."""


def evaluate(comparisons: list[similarity.ExerciseComparison], planted: PlantedClass) -> Figures:
    above = total = planted_flags = honest_flags = honest_pairs = reference_above = reference_flags = 0
    lines = []
    for comparison in comparisons:
        ex_id = comparison.exercise
        copies, honest = _ranking(comparison, planted.planted[ex_id], planted.from_reference[ex_id])
        count = int((copies > honest.max()).sum())
        above += count
        total += len(copies)
        planted_flags += int((copies >= similarity.FLAG_AT).sum())
        honest_flags += int((honest >= similarity.FLAG_AT).sum())
        honest_pairs += len(honest)
        to_ref = dict(zip((d.owner for d in comparison.documents), comparison.to_reference))
        copied = planted.from_reference[ex_id]
        best_other = max(v for o, v in to_ref.items() if o not in copied)
        reference_above += sum(to_ref[o] > best_other for o in copied)
        reference_flags += sum(to_ref[o] >= similarity.FLAG_AT for o in copied)
        lines.append(f"  {ex_id:18s} planted above every honest pair {count}/{len(copies)}; "
                     f"best honest {honest.max():.2f}, worst planted {copies.min():.2f}; "
                     f"reference copies {min(to_ref[o] for o in copied):.2f} (best other {best_other:.2f})")
    return Figures(above, total, planted_flags, honest_flags, honest_pairs, reference_above,
                   2 * len(comparisons), reference_flags, tuple(lines))


def _summary(figures: Figures) -> str:
    return (f"planted pairs above every honest pair: {figures.above}/{figures.planted}; "
            f"flagged (>= {similarity.FLAG_AT}): planted {figures.planted_flagged}/{figures.planted}, "
            f"honest {figures.honest_flagged}/{figures.honest_pairs}; "
            "reference copies above every honest student: "
            f"{figures.reference_above}/{figures.reference_copies}, flagged {figures.reference_flagged}")


def _tune(planted: PlantedClass, ids: list[str]) -> None:
    """The same class under other settings (module constants), one line each."""
    saved = (similarity.K, similarity.WINDOW, similarity.FLOOR_SHARE)
    settings = [(8, 4, 0.25), (8, 5, 0.5), (10, 5, 0.25), (10, 5, 0.5), (12, 6, 0.5), (15, 6, 0.5)]
    for k, window, share in settings:
        similarity.K, similarity.WINDOW, similarity.FLOOR_SHARE = k, window, share
        # One process: the settings are module constants, which spawned workers would not see.
        figures = evaluate(similarity.compare_class(planted.folder, ids, workers=1), planted)
        print(f"k={k} window={window} floor={share}: {_summary(figures)}")
    similarity.K, similarity.WINDOW, similarity.FLOOR_SHARE = saved


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the comparing processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--exercises", type=int, default=24)
    parser.add_argument("--copies", type=int, default=5, help="Planted copy pairs per exercise.")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, help="Write the class and the report here.")
    parser.add_argument("--workers", type=int, default=None,
                        help="Comparing processes (default: CPU count, at most 8).")
    parser.add_argument("--tune", action="store_true",
                        help="Also score the same class with other k-gram, window and floor settings.")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="nnlab-similarity-"))
    ids = [e.id for e in load_catalogue()][: args.exercises]
    started = time.perf_counter()
    planted = make_class(root / "class", args.students, ids, args.copies, args.seed)
    generated = time.perf_counter() - started
    print(f"generated {args.students} students x {len(ids)} exercises in {generated:.1f} s")
    started, cpu = time.perf_counter(), _cpu_seconds()
    comparisons = similarity.compare_class(planted.folder, ids, args.workers)
    compared, compared_cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    from nnlab.review.pages import write_similarity

    started = time.perf_counter()
    write_similarity(comparisons, root / "out")
    written = time.perf_counter() - started
    print(f"compare: {compared:.1f} s wall, {compared_cpu:.1f} s CPU (all processes); "
          f"csv + pages: {written:.1f} s "
          f"(k={similarity.K}, window={similarity.WINDOW}, floor={similarity.FLOOR_SHARE})")
    figures = evaluate(comparisons, planted)
    print("\n".join(figures.lines))
    print(_summary(figures))
    if args.tune:
        _tune(planted, ids)
    if args.keep is None:
        shutil.rmtree(root)
    else:
        print(f"class and report in {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
