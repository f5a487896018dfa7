"""One place that turns every failure into a status and {"error": "..."}."""

from __future__ import annotations

import sqlite3
from typing import Any

import eventsourcing.persistence
import psycopg
import psycopg_pool
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from domain.errors import (
    BadRequest,
    Conflict,
    DailyLimitReached,
    DomainError,
    FileTooLarge,
    Forbidden,
    InvalidInput,
    NotFound,
    QuotaExceeded,
    TooManyAttempts,
    Unauthorized,
    Unavailable,
)

STATUS_OF: dict[type[DomainError], int] = {
    BadRequest: 400,
    InvalidInput: 422,
    FileTooLarge: 413,
    NotFound: 404,
    Conflict: 409,
    Unauthorized: 401,
    Forbidden: 403,
    Unavailable: 503,
    TooManyAttempts: 429,
}

log = structlog.get_logger("fabledger.api")

# Errors that mean "the database is away or busy", from the event store or a view.
DATABASE_OUTAGES = (
    eventsourcing.persistence.OperationalError,
    eventsourcing.persistence.InterfaceError,
    psycopg.OperationalError,
    psycopg_pool.PoolTimeout,
    sqlite3.OperationalError,
)


def quota_headers(tier: str, included: int, remaining: int) -> dict[str, str]:
    """The headers every metered answer carries."""
    return {
        "X-RateLimit-Limit": str(included),
        "X-RateLimit-Remaining": str(remaining),
        "X-Billing-Tier": tier,
    }


def status_for(error: DomainError) -> int:
    """The HTTP status of a domain error (its nearest mapped base class)."""
    for kind in type(error).__mro__:
        if kind in STATUS_OF:
            return STATUS_OF[kind]
    return 400


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """The one error body shape."""
    return JSONResponse(status_code=status, content={"error": message, **extra}, headers=headers)


def describe_validation(error: RequestValidationError) -> str:
    """A short sentence naming each bad field, e.g. 'quantity: Input should be ...'."""
    parts = []
    for item in error.errors():
        location = ".".join(
            str(p) for p in item.get("loc", ()) if p not in ("body", "query", "form")
        )
        parts.append(
            f"{location}: {item.get('msg', 'invalid')}" if location else item.get("msg", "")
        )
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers; nothing reaches a client as a stack trace."""

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, error: DomainError) -> JSONResponse:
        status = status_for(error)
        challenge = status == 401 and not request.url.path.startswith("/api/v1/")
        return error_response(
            status, error.message, headers={"WWW-Authenticate": "Bearer"} if challenge else None
        )

    @app.exception_handler(QuotaExceeded)
    async def quota_exceeded(request: Request, error: QuotaExceeded) -> JSONResponse:
        response = error_response(
            402, error.message, upgrade_url=f"{request.base_url}dashboard/api"
        )
        response.headers.update(quota_headers(error.tier, error.included, 0))
        return response

    @app.exception_handler(TooManyAttempts)
    async def too_many_attempts(_: Request, error: TooManyAttempts) -> JSONResponse:
        return error_response(429, error.message, headers={"Retry-After": str(error.retry_after)})

    @app.exception_handler(DailyLimitReached)
    async def daily_limit_reached(_: Request, error: DailyLimitReached) -> JSONResponse:
        return error_response(
            429,
            error.message,
            headers={"Retry-After": str(error.retry_after)},
            retry_after_seconds=error.retry_after,
            next_allowed_at=error.next_allowed_at,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        return error_response(422, describe_validation(error))

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, error: HTTPException) -> JSONResponse:
        message = error.detail if isinstance(error.detail, str) else "request failed"
        headers = dict(error.headers) if error.headers else None
        return error_response(error.status_code, message, headers=headers)

    async def database_outage(_: Request, error: Exception) -> JSONResponse:
        log.warning("database_unavailable", error_type=type(error).__name__)
        return error_response(503, "database unavailable; retry shortly")

    # Handled by class, not in the catch-all below: Starlette re-raises whatever reaches the
    # Exception handler, and uvicorn then drops the keep-alive connection under the client.
    for outage in DATABASE_OUTAGES:
        app.add_exception_handler(outage, database_outage)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, error: Exception) -> JSONResponse:
        log.error("unhandled_error", error_type=type(error).__name__, exc_info=error)
        if _is_database_outage(error):
            return error_response(503, "database unavailable; retry shortly")
        return error_response(500, "internal error")


def _is_database_outage(error: Exception) -> bool:
    """Connection-level database failures are a 503 (retry), not a bug."""
    return isinstance(error, DATABASE_OUTAGES)
