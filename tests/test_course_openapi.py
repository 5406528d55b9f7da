"""The course server's /openapi.json: every /api/v1 route declares its answer's model, and real answers fit it."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter
from test_course_server import BEFORE_DUE, COURSE_TOML, ROOT, Served, add_accounts, call

from nnlab.course import schemas

JSON = "application/json"
SUCCESS = ("200", "201", "202")


def _graded(data: Path) -> None:
    """Graded uploads straight in the database (ada's to hw1 and quiz, ben's to hw1), before the
    server starts, so the answers hold results without a grading run."""
    from nnlab.course.db import Database, NewSubmission
    from nnlab.course.queue import submission_folder
    from nnlab.results import CheckResult, Confinement, ExerciseResult, Outcome, SubmissionResult, Visibility

    def check(test_id: str, visibility: Visibility, score: float) -> CheckResult:
        return CheckResult(name=test_id, test_id=test_id, score=score, max_score=1.0,
                           outcome=Outcome.PASSED if score else Outcome.FAILED, visibility=visibility, message="")

    db = Database(data)
    for number, (student, assignment) in enumerate([("ada", "hw1"), ("ben", "hw1"), ("ada", "quiz")]):
        ident = f"graded{number}"
        db.accept(NewSubmission(ident, student, assignment, dt.datetime.fromisoformat(BEFORE_DUE), 0,
                                json.dumps(["leaky_relu.py"]), number), 0)
        folder = submission_folder(data, ident)
        folder.mkdir(parents=True)
        (folder / "leaky_relu.py").write_text("slope = 0.01\n", encoding="utf-8")
        result = SubmissionResult(student, (ExerciseResult("leaky_relu", "Leaky ReLU", (
            check("test_shape", Visibility.VISIBLE, 1.0), check("test_hidden", Visibility.HIDDEN, 0.0)), 2.0),),
            number, Confinement("partial", ("rlimits",)), "cpu", "test", "2026-12-09T02:00:00+00:00")
        row = db.claim_next()
        assert row is not None and row["id"] == ident
        db.finish(row["seq"], "done", json.dumps(result.to_json()), result.score, result.max_score)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("openapi")
    (root / "course.toml").write_text(COURSE_TOML, encoding="utf-8")
    tokens = add_accounts(root / "data")
    _graded(root / "data")
    server = Served(root / "course.toml", root / "data", BEFORE_DUE)
    yield {"url": server.url, "tokens": tokens}
    server.stop()


@pytest.fixture(scope="module")
def spec(served: dict[str, Any]) -> dict[str, Any]:
    status, _, answer = call(served["url"], "GET", "/openapi.json", None)
    assert status == 200
    return dict(answer)


def _component(schema: dict[str, Any]) -> str | None:
    """The named model a JSON schema is, or lists: `#/components/schemas/NAME` -> NAME."""
    ref = schema.get("$ref") or (schema.get("items") or {}).get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) and ref.startswith("#/components/schemas/") else None


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in spec["paths"].items():
        if path.startswith("/api/v1/"):
            for method, operation in methods.items():
                yield path, method, operation


def test_every_api_route_declares_a_named_model_or_a_file_type(spec: dict[str, Any]) -> None:
    """Does each /api/v1 route's success answer name a model of the API (or a media type that is not
    JSON, for the CSV files), and each refusal the one Refusal model?"""
    routes = list(_operations(spec))
    assert len(routes) >= 11  # assignments (7), submissions (4), the LMS sync
    components = spec["components"]["schemas"]
    for path, method, operation in routes:
        where = f"{method.upper()} {path}"
        [success] = [code for code in operation["responses"] if code in SUCCESS]
        content = operation["responses"][success].get("content", {})
        assert content, f"{where}: its answer declares no content"
        for media_type, declared in content.items():
            if media_type == JSON:
                name = _component(declared.get("schema", {}))
                assert name in components, f"{where}: answers JSON without a named model: {declared}"
                assert name in schemas.__all__, f"{where}: {name} is not one of the API's models"
            else:
                assert declared.get("schema", {}).get("type") == "string", where
        refusal = operation["responses"]["401"]["content"][JSON]["schema"]
        assert _component(refusal) == "Refusal", where
    csv_routes = [p for p, _, o in routes if "text/csv" in o["responses"].get("200", {}).get("content", {})]
    assert sorted(csv_routes) == ["/api/v1/assignments/{assignment_id}/canvas.csv",
                                  "/api/v1/assignments/{assignment_id}/scores.csv"]


def _declared(spec: dict[str, Any], method: str, path: str) -> tuple[type[schemas.ApiModel], bool]:
    """The model the spec declares for a route's success answer, and whether it is a list of them."""
    operation = spec["paths"][path][method]
    [success] = [code for code in operation["responses"] if code in SUCCESS]
    schema = operation["responses"][success]["content"][JSON]["schema"]
    name = _component(schema)
    assert name is not None, f"{method} {path}: no named model"
    return getattr(schemas, name), schema.get("type") == "array"


def _fits(spec: dict[str, Any], method: str, template: str, answer: Any) -> None:
    """The answer reads as its declared model and writes back to the same JSON: no key the model
    lacks, none it adds, the same values."""
    model, many = _declared(spec, method, template)
    items = answer if many else [answer]
    assert isinstance(items, list) and items, f"{method} {template}: nothing to check in {answer!r}"
    for item in items:
        assert schemas.to_json(model.model_validate(item)) == item, f"{method} {template}"


def test_real_answers_fit_their_declared_models(served: dict[str, Any], spec: dict[str, Any]) -> None:
    """Do the server's answers to a student and to the instructor validate against the models
    /openapi.json names for them, key for key?"""
    url, tokens = served["url"], served["tokens"]
    ada, instructor = tokens["ada"], tokens["instructor"]
    asked = [("get", "/api/v1/assignments", "/api/v1/assignments", token) for token in (ada, instructor)]
    asked += [("get", "/api/v1/submissions", "/api/v1/submissions", token) for token in (ada, instructor)]
    asked += [("get", "/api/v1/submissions/{submission_id}", "/api/v1/submissions/graded0", ada),
              ("get", "/api/v1/submissions/{submission_id}/files", "/api/v1/submissions/graded0/files", instructor),
              ("get", "/api/v1/assignments/{assignment_id}/results", "/api/v1/assignments/hw1/results", instructor)]
    for method, template, path, token in asked:
        status, _, answer = call(url, method.upper(), path, token)
        assert status == 200, (path, answer)
        _fits(spec, method, template, answer)
    template = "/api/v1/assignments/{assignment_id}/adjustments"
    status, _, added = call(url, "POST", "/api/v1/assignments/hw1/adjustments", instructor,
                            {"student": "ada", "exercise": "leaky_relu", "delta": 0.5, "reason": "fair"})
    assert status == 201, added
    _fits(spec, "post", template, added)
    status, _, stored = call(url, "GET", "/api/v1/assignments/hw1/adjustments", instructor)
    assert status == 200 and [a["id"] for a in stored] == [added["id"]]
    _fits(spec, "get", template, stored)


def test_refusals_are_one_line_of_the_refusal_model(served: dict[str, Any]) -> None:
    """Is every kind of refusal, the body that is not JSON included, `{"detail": "why"}`, with its
    headers (WWW-Authenticate on a 401)?"""
    url, tokens = served["url"], served["tokens"]
    refused = [call(url, "GET", "/api/v1/assignments", None),
               call(url, "GET", "/api/v1/assignments/hw1/results", tokens["ada"]),
               call(url, "GET", "/api/v1/submissions/graded1", tokens["ada"]),
               call(url, "POST", "/api/v1/assignments/hw1/adjustments", tokens["instructor"], raw=b"{not json"),
               call(url, "POST", "/api/v1/lti/sync", tokens["instructor"], raw=b"{not json")]
    assert [status for status, _, _ in refused] == [401, 403, 404, 422, 422]
    for _, _, answer in refused:
        assert isinstance(schemas.Refusal.model_validate(answer).detail, str)
    assert refused[0][1]["www-authenticate"] == "Bearer"
    assert refused[3][2] == {"detail": "the body is not JSON"}


def test_nnlab_code_refuses_only_through_request_rejected() -> None:
    """One refusal style: does no module of nnlab raise (or subclass) FastAPI's HTTPException?"""
    found = [f"{path.relative_to(ROOT)}:{number}" for path in sorted((ROOT / "nnlab").rglob("*.py"))
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if re.search(r"raise HTTPException\b|\(HTTPException\)", line)]
    assert found == []


def test_a_reply_that_does_not_fit_is_one_line() -> None:
    """Does the client read an answer from another nnlab version as one NnlabError line naming
    what does not fit (never a KeyError)?"""
    with pytest.raises(schemas.ReplyMismatch, match=r"^http://h: GET /api/v1/assignments, item 0: .*AssignmentInfo "
                                                    r"\(due: field required\).*another version") as raised:
        schemas.read_replies(schemas.AssignmentInfo, [{"id": "hw1", "title": "x", "exercises": []}],
                             "http://h: GET /api/v1/assignments")
    assert "\n" not in str(raised.value)
    with pytest.raises(schemas.ReplyMismatch, match="not a list"):
        schemas.read_replies(schemas.AssignmentInfo, {"detail": "x"}, "http://h: GET /api/v1/assignments")


def _reused_records() -> set[type]:
    """The result dataclasses the API's models take as field types (TimingInfo, Confinement)."""
    found: set[type] = set()

    def walk(hint: object) -> None:
        if dataclasses.is_dataclass(hint) and isinstance(hint, type):
            found.add(hint)
        for inner in typing.get_args(hint):
            walk(inner)

    for model in vars(schemas).values():
        if isinstance(model, type) and issubclass(model, schemas.ApiModel):
            for field in model.model_fields.values():
                walk(field.annotation)
    return found


def _written_alike(record: Any) -> bool:
    """Does Pydantic write the record as results.json does: the same keys, in the same order, the
    same values?"""
    from nnlab.results import record_json

    written = TypeAdapter(type(record)).dump_python(record, mode="json")
    return list(written.items()) == list(record_json(record).items())


def test_reused_result_records_answer_as_results_json_writes_them() -> None:
    """Does every result record an API model reuses as it is answer the JSON results.json holds for
    it, so an answer is the stored result's own form? (A record with its own key order, omitted or
    rounded keys, like CheckResult, must stay a model of its own.)"""
    from nnlab.results import CheckResult, Confinement, Outcome, TimingInfo, Visibility

    samples = [TimingInfo("cpu (torch 2.5.1, 2 threads)", 1.25, 2.5, 0.031, 0.00123456, 0.000987, 7),
               Confinement("partial", ("rlimits", "netns"), ("landlock-abi7",)), Confinement("full", ())]
    assert _reused_records() == {type(sample) for sample in samples}
    assert all(_written_alike(sample) for sample in samples)
    # The control: CheckResult writes test_id after the message and leaves out a None timing.
    timed = CheckResult("Is it fast", "test_fast", 1.0, 1.0, Outcome.PASSED, Visibility.VISIBLE, "", 0.5)
    assert not _written_alike(timed)
