"""The one error body, and the error statuses each operation documents."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ErrorBody(BaseModel):
    """Every failure: a status and one sentence saying what went wrong."""

    model_config = ConfigDict(extra="allow")

    error: str


class QuotaExceededBody(ErrorBody):
    """402 from a metered call past a hard cap."""

    upgrade_url: str


DESCRIPTIONS: dict[int, str] = {
    400: "The request body could not be parsed (malformed multipart or JSON).",
    401: "Missing, malformed, expired or revoked credentials.",
    402: "API quota exceeded for this billing period (hard-capped plan).",
    403: "Signed in, but this role may not do this (or a personal access token on a JWT-only"
    " route, or without the route's scope).",
    404: "No such record (or not yours to see).",
    409: "Conflicts with the record's current state or an earlier request.",
    413: "The body is larger than the limit.",
    416: "The Range asks for bytes the file does not have (Content-Range: bytes */size).",
    422: "Invalid input; the message names the field.",
    429: "Too many requests; retry later.",
    503: "Busy or unavailable (database, read model, analysis workers); retry shortly.",
}

# What every operation can answer: bad input, and an outage of the database.
ANY = (422, 503)
SIGNED_IN = (401, 403, *ANY)  # 403: a personal access token on a JWT-only route
STAFF = (401, 403, *ANY)
WITH_BODY = (400, 413)  # a body that does not parse is refused before anything else
MULTIPART = WITH_BODY
READ_AFTER = (503,)  # X-Min-Position not reached in time, or too many waiting readers


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for these statuses, each with the {"error": ...} schema."""
    return {
        status: {
            "model": QuotaExceededBody if status == 402 else ErrorBody,
            "description": DESCRIPTIONS[status],
        }
        for status in sorted(set(statuses))
    }
