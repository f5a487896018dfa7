"""Personal access tokens (Admin → API Tokens): create, list, revoke, delete, access logs.

Seed: managing tokens is JWT only (a PAT cannot mint, list or revoke PATs); the two log
reads take `admin:read`. The plaintext token is in the creation answer only.

Bulk revoke/delete: 1-100 ids, one atomic write (all or none; 409 if another change to
one of them raced it). Every id is answered: revoked (or deleted) now, already revoked,
or not found (unknown, deleted, or not a UUID); repeats count once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import Field

from api.deps import AdminDep, AdminReadDep, ContainerDep, parse_id, read_after
from api.schemas.errors import READ_AFTER, STAFF, WITH_BODY, errors
from api.schemas.tokens import (
    AccessLogList,
    BulkDeleted,
    BulkRevoked,
    ChangedToken,
    CreatedToken,
    DeletedToken,
    TokenList,
)
from api.text import TextBody
from application.access_tokens import MAX_BULK
from application.ports import AccessLogEntry
from domain.access_token_format import PREFIX
from domain.access_tokens import MAX_DESCRIPTION, MAX_EXPIRES_DAYS, MAX_NAME, SCOPES, AccessToken
from projections.access_tokens import list_tokens

router = APIRouter(prefix="/api/admin", tags=["access tokens"], responses=errors(*STAFF))

Scope = Annotated[str, Field(max_length=40)]
Id = Annotated[str, Field(max_length=64)]


class NewTokenBody(TextBody):
    multiline = frozenset({"description"})

    name: str = Field(max_length=MAX_NAME)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    permissions: list[Scope] = Field(
        max_length=len(SCOPES), description=f"Any of: {', '.join(SCOPES)}."
    )
    expires_in_days: int | None = Field(
        default=None, ge=1, le=MAX_EXPIRES_DAYS, description="null: the token never expires."
    )


class IdsBody(TextBody):
    ids: list[Id] = Field(min_length=1, max_length=MAX_BULK)


def _status(revoked_at: str | None, expires_at: str | None, now: str) -> str:
    if revoked_at is not None:
        return "revoked"
    return "expired" if expires_at is not None and now >= expires_at else "active"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _info(token: AccessToken, last_used: dict[str, str]) -> dict[str, Any]:
    """A token as admins see it, from its stream."""
    now = datetime.now(UTC)
    return {
        "id": str(token.id),
        "name": token.name,
        "description": token.description,
        "permissions": list(token.scopes),
        "hint": f"{PREFIX}{token.public_id}...{token.last_four}",
        "owner_id": token.owner_id,
        "status": token.status(now),
        "created_at": token.created_on.isoformat(),
        "expires_at": _iso(token.expires_at),
        "first_used_at": _iso(token.first_used_at),
        "last_used_at": last_used.get(str(token.id)),
        "revoked_at": _iso(token.revoked_at),
    }


def _row_info(row: dict[str, Any], last_used: dict[str, str], now: str) -> dict[str, Any]:
    """A token as admins see it, from the view (ISO times compare as text)."""
    return {
        "id": row["id"],
        "name": row["name"],
        "description": row["description"],
        "permissions": row["scopes"],
        "hint": f"{PREFIX}{row['public_id']}...{row['last_four']}",
        "owner_id": row["owner_id"],
        "status": _status(row["revoked_at"], row["expires_at"], now),
        "created_at": row["created_at"],
        "expires_at": row["expires_at"],
        "first_used_at": row["first_used_at"],
        "last_used_at": last_used.get(row["id"]),
        "revoked_at": row["revoked_at"],
    }


def _logs(entries: list[AccessLogEntry]) -> dict[str, Any]:
    return {"logs": [vars(e) for e in entries]}


@router.get(
    "/tokens",
    response_model=TokenList,
    responses=errors(*READ_AFTER),
    dependencies=[read_after("access_tokens", AdminDep)],
)
def tokens(_: AdminDep, container: ContainerDep) -> dict[str, Any]:
    """Every token, newest first; the token value itself is never shown again. JWT only."""
    with container.views.reading() as cur:
        rows = list_tokens(cur)
    last_used = container.access_tokens.last_used()
    now = datetime.now(UTC).isoformat()
    return {"tokens": [_row_info(row, last_used, now) for row in rows]}


@router.post("/tokens", status_code=201, response_model=CreatedToken, responses=errors(*WITH_BODY))
def create_token(
    body: NewTokenBody, caller: AdminDep, container: ContainerDep, response: Response
) -> dict[str, Any]:
    """Create a token acting as you, limited to its permissions; its plaintext is shown once.

    JWT only.
    """
    issued = container.access_tokens.issue(
        owner=caller.user,
        name=body.name,
        description=body.description,
        scopes=body.permissions,
        expires_in_days=body.expires_in_days,
        actor=caller.actor,
    )
    response.headers["X-Position"] = str(issued.position)
    return {**_info(issued.token, {}), "token": issued.plaintext, "position": issued.position}


@router.get("/tokens/logs", response_model=AccessLogList)
def all_logs(_: AdminReadDep, container: ContainerDep) -> dict[str, Any]:
    """Every token's requests, newest first (the last 500). Scope: admin:read."""
    return _logs(container.access_tokens.logs())


@router.post("/tokens/bulk-revoke", response_model=BulkRevoked, responses=errors(*WITH_BODY, 409))
def bulk_revoke(
    body: IdsBody, caller: AdminDep, container: ContainerDep, response: Response
) -> dict[str, Any]:
    """Revoke up to 100 tokens at once (atomically). JWT only."""
    outcome = container.access_tokens.revoke_many(body.ids, actor=caller.actor)
    response.headers["X-Position"] = str(outcome.position)
    return {
        "revoked": outcome.done,
        "already_revoked": outcome.unchanged,
        "not_found": outcome.not_found,
        "position": outcome.position,
    }


@router.post("/tokens/bulk-delete", response_model=BulkDeleted, responses=errors(*WITH_BODY, 409))
def bulk_delete(
    body: IdsBody, caller: AdminDep, container: ContainerDep, response: Response
) -> dict[str, Any]:
    """Delete up to 100 tokens and their logs for good (atomically). JWT only."""
    outcome = container.access_tokens.delete_many(body.ids, actor=caller.actor)
    response.headers["X-Position"] = str(outcome.position)
    return {"deleted": outcome.done, "not_found": outcome.not_found, "position": outcome.position}


@router.patch("/tokens/{token_id}/revoke", response_model=ChangedToken, responses=errors(404, 409))
def revoke_token(
    token_id: str, caller: AdminDep, container: ContainerDep, response: Response
) -> dict[str, Any]:
    """Disable the token, keeping its record for the audit (again: no change). JWT only."""
    tokens_ = container.access_tokens
    change = tokens_.revoke(parse_id(token_id, "access token"), actor=caller.actor)
    response.headers["X-Position"] = str(change.position)
    return {
        "token": _info(change.token, tokens_.last_used()),
        "changed": change.changed,
        "position": change.position,
    }


@router.delete("/tokens/{token_id}", response_model=DeletedToken, responses=errors(404, 409))
def delete_token(
    token_id: str, caller: AdminDep, container: ContainerDep, response: Response
) -> dict[str, Any]:
    """Delete the token and its access log for good. JWT only."""
    token_uuid = parse_id(token_id, "access token")
    position = container.access_tokens.delete(token_uuid, actor=caller.actor)
    response.headers["X-Position"] = str(position)
    return {"id": str(token_uuid), "deleted": True, "position": position}


@router.get("/tokens/{token_id}/logs", response_model=AccessLogList, responses=errors(404))
def token_logs(token_id: str, _: AdminReadDep, container: ContainerDep) -> dict[str, Any]:
    """One token's requests, newest first (the last 200). Scope: admin:read."""
    token_uuid = parse_id(token_id, "access token")
    return _logs(container.access_tokens.logs(token_uuid))
