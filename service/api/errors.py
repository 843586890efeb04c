"""The API's own errors, and the one place where every error becomes a JSON answer {"error": reason}."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from config.errors import VigilError
from engine.api import EngineError
from ingest.errors import BadOffer, InvalidRange, NotRetained, SourceError, UnknownCamera

log = structlog.get_logger(__name__)
Handler = Callable[[Request, Any], Coroutine[Any, Any, JSONResponse]]


class ApiError(VigilError):
    """A request the API refuses; `status` is the HTTP status, the message the reason shown to the caller."""

    status = 400


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class PayloadTooLarge(ApiError):
    status = 413


class UnsupportedMediaType(ApiError):
    status = 415


class Unavailable(ApiError):
    status = 503


class Timeout(ApiError):
    status = 504


def error_response(status: int, reason: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status, headers=headers)


async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="vigil"'} if isinstance(exc, Unauthorized) else None
    return error_response(exc.status, str(exc), headers)


async def _engine_error(request: Request, exc: EngineError) -> JSONResponse:
    # The engine refuses for a state it is in (nothing seen yet, camera not streaming): a conflict, not a crash.
    log.info("api.engine_refused", path=request.url.path, reason=str(exc))
    return error_response(409, str(exc))


async def _vigil_error(request: Request, exc: VigilError) -> JSONResponse:
    # Errors of the other packages that no narrower handler claimed; their messages are written for operators.
    status = service_status(exc)
    emit = log.warning if status >= 500 else log.info
    emit("api.part_error", path=request.url.path, error=type(exc).__name__, reason=str(exc), status=status)
    return error_response(status, str(exc))


async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    return error_response(422, validation_reason(exc.errors()))


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    reason = f"no route {request.method} {request.url.path}" if exc.status_code == 404 else str(exc.detail)
    return error_response(exc.status_code, reason, dict(exc.headers or {}))


def validation_reason(errors: Any) -> str:
    """'body.question: String should have at most 500 characters; query.limit: ...' (the input is never echoed)."""
    parts = []
    for err in list(errors)[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def service_status(exc: VigilError) -> int:
    """Status for the other packages' errors: the narrowest class listed in STATUS_BY_CLASS wins."""
    for cls in type(exc).__mro__:
        status = STATUS_BY_CLASS.get(cls)
        if status is not None:
            return status
    return 500


STATUS_BY_CLASS: dict[type, int] = {
    UnknownCamera: 404,
    BadOffer: 400,
    NotRetained: 404,
    InvalidRange: 400,  # ClipTooLong too
    SourceError: 503,
}


def install_error_handlers(app: FastAPI) -> None:
    handlers: dict[type[Exception], Handler] = {
        ApiError: _api_error,
        EngineError: _engine_error,
        VigilError: _vigil_error,
        RequestValidationError: _validation_error,
        StarletteHTTPException: _http_error,
    }
    for exc_class, handler in handlers.items():
        app.add_exception_handler(exc_class, handler)
