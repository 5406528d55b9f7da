"""The course server's safety net: what reaches it unhandled is JSON, input faults a 4xx."""
from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fastapi import FastAPI, HTTPException

from nnlab.course import safety


def _app() -> FastAPI:
    """Routes that fail the ways a handler might when a cause was not fixed at the source."""
    app = FastAPI()

    @app.get("/deep")
    def deep() -> None:
        def down(n: int) -> int:
            return down(n + 1) + 1
        down(0)

    @app.get("/surrogate-detail")
    def surrogate_detail() -> None:
        raise HTTPException(404, "no assignment 'hw\ud800'", headers={"X-Kept": "yes"})

    @app.get("/encode")
    def encode() -> None:
        "\udc80".encode("utf-8")

    @app.get("/bug")
    def bug() -> None:
        raise KeyError("a fault of the server")

    @app.post("/typed")
    def typed(payload: dict[str, int]) -> int:
        return len(payload)

    safety.install(app)
    return app


async def _ask(app: FastAPI, path: str, body: bytes = b"") -> tuple[int, dict[str, str], Any]:
    """One request through the ASGI app itself (a POST when it has a body): (status, headers,
    decoded JSON body)."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST" if body else "GET", "scheme": "http", "path": path,
             "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"content-type", b"application/json")] if body else [],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    try:
        await app(scope, receive, send)
    except KeyError:
        pass  # Starlette re-raises a server fault after answering, for the server's log
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, json.loads(body.decode("utf-8"))


@pytest.mark.parametrize("path, body, status, fragment", [
    ("/deep", b"", 422, "nests too deeply"),
    ("/surrogate-detail", b"", 404, "no assignment 'hw\\ud800'"),
    ("/encode", b"", 400, "not valid Unicode"),
    ("/bug", b"", 500, "the error is in its log"),
    ("/typed", b'{"\\ud800": "x"}', 422, "valid integer"),
])
def test_every_failure_is_json_that_encodes(path: str, body: bytes, status: int, fragment: str) -> None:
    """Is recursion a 422, broken Unicode a 400, a detail quoting a lone surrogate escaped, a
    validation error quoting one the usual 422, and even a server fault a JSON answer, never a
    bare 500 page?"""
    answered, headers, answer = asyncio.run(_ask(_app(), path, body))
    assert answered == status
    assert fragment in str(answer["detail"])
    if path == "/surrogate-detail":
        assert headers["x-kept"] == "yes"
