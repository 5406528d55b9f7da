"""Code similarity across a class: copies rank high whatever the copier changed, honest work low."""
from __future__ import annotations

import csv
import textwrap
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from nnlab.cli import main
from nnlab.grader.exercise import SOLUTIONS_DIR, get_exercise
from nnlab.review.pages import CSV_COLUMNS, similarity_section
from nnlab.review.similarity import FLAG_AT, REFERENCE, ExerciseComparison, compare_class
from nnlab.review.tokens import normalize

ORIGINAL = textwrap.dedent('''\
    import math
    import torch
    from torch import nn


    class MyLinear(nn.Module):
        def __init__(self, in_features, out_features, bias=True):
            super().__init__()
            self.in_features = in_features
            self.out_features = out_features
            limit = 1.0 / math.sqrt(in_features) if in_features else 0.0
            w = torch.rand(out_features, in_features) * 2 * limit - limit
            self.weight = nn.Parameter(w)
            if bias:
                b = torch.rand(out_features) * 2 * limit - limit
                self.bias = nn.Parameter(b)
            else:
                self.register_parameter("bias", None)

        def forward(self, x):
            flat = x.reshape(-1, self.in_features)
            out = torch.mm(flat, self.weight.t())
            if self.bias is not None:
                out = out + self.bias.unsqueeze(0)
            return out.reshape(*x.shape[:-1], self.out_features)

        def extra_repr(self):
            return "in_features={}, out_features={}, bias={}".format(
                self.in_features, self.out_features, self.bias is not None)
    ''')

# The original, renamed, its methods reordered, re-commented, re-laid-out, annotated and padded.
COPY = textwrap.dedent('''\
    """My own linear layer."""
    import math

    import torch
    from torch import nn


    def _helper_never_called(a: int) -> int:
        total = 0
        for i in range(a):
            total += i * i
        return total


    class MyLinear(nn.Module):
        def extra_repr(self) -> str:
            # what repr() shows
            return "in_features={}, out_features={}, bias={}".format(self.in_features,
                                                                    self.out_features,
                                                                    self.bias is not None)

        def forward(self, inp: torch.Tensor) -> torch.Tensor:
            two_d = inp.reshape(-1, self.in_features)   # flatten the batch dims
            result = torch.mm(two_d, self.weight.t())
            debug = False
            if self.bias is not None:
                result = result + self.bias.unsqueeze(0)
            return result.reshape(*inp.shape[:-1], self.out_features)

        def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
            super().__init__()
            self.in_features = in_features
            self.out_features = out_features
            # the bound of the uniform init
            bound = 1.0 / math.sqrt(in_features) if in_features else 0.0
            weights = torch.rand(out_features, in_features) * 2 * bound - bound
            self.weight = nn.Parameter(weights)
            if bias:
                biases = torch.rand(out_features) * 2 * bound - bound
                self.bias = nn.Parameter(biases)
            else:
                self.register_parameter("bias", None)
    ''')

HONEST_COMPACT = textwrap.dedent('''\
    import math
    import torch
    from torch import nn


    class MyLinear(nn.Module):
        def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
            super().__init__()
            self.in_features, self.out_features = in_features, out_features
            k = 1 / math.sqrt(in_features)
            self.weight = nn.Parameter(torch.empty(out_features, in_features).uniform_(-k, k))
            self.bias = nn.Parameter(torch.empty(out_features).uniform_(-k, k)) if bias else None

        def forward(self, x):
            y = x @ self.weight.T
            return y if self.bias is None else y + self.bias

        def extra_repr(self):
            return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
    ''')

HONEST_EINSUM = textwrap.dedent('''\
    import torch
    from torch import nn


    class MyLinear(nn.Module):
        def __init__(self, in_features, out_features, bias=True):
            super().__init__()
            self.in_features = in_features
            self.out_features = out_features
            self.weight = nn.Parameter(torch.zeros(out_features, in_features))
            self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
            self.reset_parameters()

        def reset_parameters(self):
            std = 1 / self.in_features ** 0.5
            with torch.no_grad():
                self.weight.uniform_(-std, std)
                if self.bias is not None:
                    self.bias.uniform_(-std, std)

        def forward(self, x):
            y = torch.einsum("...i,oi->...o", x, self.weight)
            return y + self.bias if self.bias is not None else y

        def extra_repr(self):
            return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
    ''')


def _class(root: Path, files: dict[str, str], exercise: str = "my_linear") -> Path:
    for student, text in files.items():
        (root / student).mkdir(parents=True)
        (root / student / f"{exercise}.py").write_text(text)
    return root


def _score(comparison: ExerciseComparison, a: str, b: str) -> float:
    owners = [d.owner for d in comparison.documents]
    return float(comparison.matrix[owners.index(a), owners.index(b)])


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture()
def mixed_class(tmp_path: Path) -> Path:
    return _class(tmp_path / "class", {"ana": ORIGINAL, "bo": COPY, "cy": HONEST_COMPACT,
                                       "di": HONEST_EINSUM})


def test_renaming_comments_annotations_and_layout_leave_the_tokens_unchanged() -> None:
    """Does code that differs only in names, comments, docstrings, annotations and line breaks
    read as the same token stream?"""
    first = "def area(w, h):\n    return w * h\n"
    second = ('def surface(width: float,\n            height: float) -> float:\n'
              '    """The area."""\n    return width * height  # product\n')
    assert normalize(first).tokens == normalize(second).tokens
    assert normalize(first).tokens != normalize("def area(w, h):\n    return w + h\n").tokens


def test_dead_code_reads_as_nothing() -> None:
    """Do unused assignments, `if False:` blocks and functions nothing calls leave the token
    stream as it was, while the functions the exercise requires stay?"""
    original = "def f(x):\n    y = x * 2\n    return y + 1\n"
    padded = ("def helper(q):\n    return q * q\n\n\ndef f(x):\n    unused = x - 3\n    y = x * 2\n"
              "    if False:\n        y = 0\n    return y + 1\n")
    required = frozenset({"f"})
    assert normalize(original, required).tokens == normalize(padded, required).tokens
    assert "def" in normalize(original, required).tokens


def test_a_renamed_reordered_padded_copy_scores_high_and_honest_work_low(mixed_class: Path) -> None:
    """Does a copy that was renamed, reordered, re-commented and padded with dead code score
    high, while independent solutions of the same exercise score low?"""
    [comparison] = compare_class(mixed_class, ["my_linear"])
    assert _score(comparison, "ana", "bo") >= 0.7
    for a, b in [("ana", "cy"), ("ana", "di"), ("cy", "di"), ("bo", "cy"), ("bo", "di")]:
        assert _score(comparison, a, b) < 0.35, (a, b)


def test_two_untouched_stubs_are_not_alike(tmp_path: Path) -> None:
    """Do two students who handed in the stub as given (one re-commented) score about zero,
    with each other and with the reference solution?"""
    stub = (get_exercise("my_linear").folder / "stub.py").read_text()
    folder = _class(tmp_path / "class", {"ana": stub, "bo": "# not started\n" + stub + "\n\n",
                                         "cy": HONEST_COMPACT})
    [comparison] = compare_class(folder, ["my_linear"])
    assert _score(comparison, "ana", "bo") < 0.05
    assert comparison.to_reference[:2].max() < 0.05


def test_a_copy_of_the_reference_is_flagged_as_such(tmp_path: Path) -> None:
    """Is a student whose code is the reference solution, renamed, listed as a match with
    `(reference)` in the csv, flagged, with a side-by-side page?"""
    solution = (SOLUTIONS_DIR / "my_linear.py").read_text()
    leaked = solution.replace("bound", "lim").replace("y = ", "res = ").replace("return y", "return res")
    folder = _class(tmp_path / "class", {"ana": ORIGINAL, "cy": HONEST_COMPACT, "eli": leaked})
    out = tmp_path / "out"
    section = similarity_section(folder, None, out)
    rows = _read_csv(out / "similarity.csv")
    match = next(r for r in rows if r["student_a"] == "eli" and r["student_b"] == REFERENCE)
    assert float(match["similarity"]) >= 0.9 and match["flagged"] == "yes"
    assert not any(r["student_b"] == REFERENCE and r["student_a"] != "eli" and r["flagged"] for r in rows)
    pages = list((out / "similarity").rglob("*.html"))
    assert len(pages) == 1 and "eli" in pages[0].name
    assert 'href="similarity/' in section and "Flagged matches with the reference solution" in section


def test_csv_has_the_documented_columns_highest_first(mixed_class: Path, tmp_path: Path) -> None:
    """Does similarity.csv have the columns exercise, student_a, student_b, similarity (0..1),
    sorted from the most similar pair down?"""
    similarity_section(mixed_class, ["my_linear"], tmp_path / "out")
    with (tmp_path / "out" / "similarity.csv").open(newline="") as handle:
        header = next(csv.reader(handle))
    assert tuple(header) == CSV_COLUMNS and header[:4] == ["exercise", "student_a", "student_b", "similarity"]
    rows = _read_csv(tmp_path / "out" / "similarity.csv")
    scores = [float(r["similarity"]) for r in rows]
    assert scores == sorted(scores, reverse=True) and all(0.0 <= s <= 1.0 for s in scores)
    assert (rows[0]["student_a"], rows[0]["student_b"]) == ("ana", "bo")


def test_a_notebook_is_compared_by_its_code_cells(tmp_path: Path) -> None:
    """Is `ID.ipynb` compared too, by its code cells, magics aside?"""
    folder = _class(tmp_path / "class", {"ana": ORIGINAL, "cy": HONEST_COMPACT, "di": HONEST_EINSUM})
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# my_linear"),
                      nbformat.v4.new_code_cell("%load_ext autoreload\n" + COPY),
                      nbformat.v4.new_code_cell("!pip list")]
    (folder / "bo").mkdir()
    nbformat.write(notebook, str(folder / "bo" / "my_linear.ipynb"))
    [comparison] = compare_class(folder, ["my_linear"])
    assert _score(comparison, "ana", "bo") >= 0.8


def test_student_ids_are_escaped_in_the_pages(tmp_path: Path) -> None:
    """Can a student folder named like HTML inject markup into the report?"""
    folder = _class(tmp_path / "class", {"<b>x": ORIGINAL, "bo": COPY, "cy": HONEST_COMPACT})
    section = similarity_section(folder, None, tmp_path / "out")
    pages = [p.read_text() for p in (tmp_path / "out" / "similarity").rglob("*.html")]
    assert pages and "&lt;b&gt;x" in section
    assert "<b>x" not in section and not any("<b>x" in page for page in pages)


def test_cli_writes_the_report_and_refuses_an_unknown_exercise(mixed_class: Path, tmp_path: Path) -> None:
    """Does `nnlab similarity` write similarity.csv and similarity.html and say what it flagged,
    and answer an unknown exercise id with one line and exit code 2?"""
    runner = CliRunner()
    result = runner.invoke(main, ["similarity", str(mixed_class), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "1 pair(s) of students" in result.output
    assert (tmp_path / "out" / "similarity.csv").is_file()
    assert "ana" in (tmp_path / "out" / "similarity.html").read_text()
    result = runner.invoke(main, ["similarity", str(mixed_class), "--out", str(tmp_path / "o2"),
                                  "--exercises", "my_linear,no_such"])
    assert result.exit_code == 2 and "no_such" in result.output and "Traceback" not in result.output


STATEMENT_SIGMOID = textwrap.dedent('''\
    import torch


    class CustomSigmoid(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            # exp(80) is far from float32's overflow, and sigma(-80) rounds to 0 anyway.
            output = 1 / (1 + torch.exp(-input.clamp(min=-80.0)))
            ctx.save_for_backward(output)
            return output

        @staticmethod
        def backward(ctx, grad_output):
            (output,) = ctx.saved_tensors
            return grad_output * output * (1 - output)


    def custom_sigmoid(x):
        return CustomSigmoid.apply(x)
''')
STATEMENT_LEAKY = textwrap.dedent('''\
    import torch
    from torch import nn


    class LeakyReLU(nn.Module):
        def __init__(self, negative_slope: float = 0.01):
            super().__init__()
            self.negative_slope = negative_slope

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.where(x > 0, x, self.negative_slope * x)
''')


@pytest.mark.parametrize(("exercise", "source"), [("custom_sigmoid", STATEMENT_SIGMOID),
                                                  ("leaky_relu", STATEMENT_LEAKY)],
                         ids=["custom_sigmoid", "leaky_relu"])
def test_code_the_statement_spells_out_is_no_match_with_the_reference(tmp_path: Path, exercise: str,
                                                                      source: str) -> None:
    """Is code written from the statement (its contract, its formulas, the lines its hints
    give) not flagged as a match with the reference solution, although the reference has the
    same lines?"""
    folder = _class(tmp_path / "class", {"ana": source}, exercise)
    [comparison] = compare_class(folder, [exercise])
    assert float(comparison.to_reference[0]) < FLAG_AT


def test_a_copied_reference_is_still_flagged_where_the_statement_gives_part_of_it(tmp_path: Path) -> None:
    """Does a renamed copy of the reference solution still match it, when the statement spells
    out some of its lines (the backward) but not the rest (the stable forward)?"""
    solution = (SOLUTIONS_DIR / "custom_sigmoid.py").read_text()
    leaked = solution.replace("output", "res").replace(" e ", " ex ").replace("(1 + e)", "(1 + ex)")
    folder = _class(tmp_path / "class", {"ana": STATEMENT_SIGMOID, "eli": leaked}, "custom_sigmoid")
    [comparison] = compare_class(folder, ["custom_sigmoid"])
    owners = [d.owner for d in comparison.documents]
    assert float(comparison.to_reference[owners.index("eli")]) >= 0.9
    assert float(comparison.to_reference[owners.index("ana")]) < FLAG_AT


def test_pages_read_as_sentences(tmp_path: Path) -> None:
    """Does the section say '1 pair' (not '1 pairs') and the reference page keep a space between
    its sentences?"""
    solution = (SOLUTIONS_DIR / "my_linear.py").read_text()
    folder = _class(tmp_path / "class", {"ana": ORIGINAL, "eli": solution})
    section = str(similarity_section(folder, None, tmp_path / "out"))
    assert "2 files, 1 pair ·" in section and "1 pairs" not in section
    [page] = (tmp_path / "out" / "similarity").rglob("*.html")
    text = " ".join(page.read_text().split())
    assert "The right side is the reference solution. Highlighted" in text
