"""The course server's last line: every error answer is JSON that can be encoded, input never a 500."""
from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("nnlab.course")


def printable(value: Any) -> Any:
    """`value` with every string made encodable: a lone surrogate (which a JSON body may carry
    as an escape, and a file name or assignment id may then hold) is written as its escape."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {printable(k): printable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [printable(v) for v in value]
    return value


def error_response(status: int, detail: Any, headers: Mapping[str, str] | None = None) -> Response:
    """`{"detail": ...}` as FastAPI answers errors, but encodable whatever the detail quotes."""
    body = json.dumps({"detail": printable(detail)}, ensure_ascii=False).encode("utf-8")
    return Response(body, status_code=status, headers=headers, media_type="application/json")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return error_response(exc.status_code, exc.detail, exc.headers)


async def _invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, jsonable_encoder(exc.errors(), custom_encoder={
        bytes: lambda b: b.decode("utf-8", "backslashreplace")}))


async def _too_deep(request: Request, exc: Exception) -> Response:
    # Each cause found is fixed where the input is read; this answer is for one not yet found.
    log.warning("%s %s: recursion in a request handler", request.method, request.url.path,
                exc_info=exc)
    return error_response(422, "the request nests too deeply to read")


async def _not_unicode(request: Request, exc: Exception) -> Response:
    log.warning("%s %s: text that cannot be encoded in a request", request.method,
                request.url.path, exc_info=exc)
    return error_response(400, "the request holds text that is not valid Unicode "
                               "(such as a lone surrogate escape)")


async def _unexpected(request: Request, exc: Exception) -> Response:
    # A fault of the server, not of the request: Starlette re-raises it after this answer, so
    # the server's log holds its traceback; the client gets JSON it can show.
    return error_response(500, "the server failed on this request; the error is in its log")


def install(app: FastAPI) -> None:
    """Adds the handlers: error details that can always be encoded, 4xx for input that
    reached a handler unchecked (recursion, broken Unicode), JSON for anything else."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(RecursionError, _too_deep)
    app.add_exception_handler(UnicodeError, _not_unicode)
    app.add_exception_handler(Exception, _unexpected)
