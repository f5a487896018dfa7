"""Staff management for admins: list accounts, change roles, (de)activate, verify e-mails.

Scopes per the seed's Users table: the list is `admin:read` (an admin JWT, or a PAT with
that scope); both PATCH routes are "JWT only" (a personal access token gets 403).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import Field

from api.deps import AdminDep, AdminReadDep, ContainerDep, parse_id, read_after
from api.schemas.errors import READ_AFTER, STAFF, WITH_BODY, errors
from api.schemas.users import ChangedUser, UserPage
from api.text import TextBody
from application.staff import StaffChange
from domain.errors import InvalidInput
from domain.users import ROLES
from projections.users import MAX_PAGE, MAX_PAGE_SIZE, UserQuery, list_users

router = APIRouter(prefix="/api/admin", tags=["staff management"], responses=errors(*STAFF))


class UserChangeBody(TextBody):
    role: str | None = Field(default=None, max_length=20, description="user, moderator or admin")
    is_active: bool | None = None


def user_query(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    q: Annotated[str | None, Query(max_length=100)] = None,
    role: Annotated[str | None, Query(max_length=20)] = None,
) -> UserQuery:
    """Validated list filters."""
    if role is not None and role not in ROLES:
        raise InvalidInput(f"unknown role '{role}'; expected one of {', '.join(ROLES)}")
    return UserQuery(page=page, limit=limit, q=q, role=role)


def _changed(response: Response, change: StaffChange) -> dict[str, Any]:
    user = change.user
    response.headers["X-Position"] = str(change.position)
    return {
        "user": {
            "id": str(user.id),
            "email": user.email,
            "username": user.username,
            "role": user.role,
            "is_active": user.is_active,
            "email_verified": user.email_verified,
            "created_at": user.created_on.isoformat(),
            "updated_at": user.modified_on.isoformat(),
        },
        "changed": change.changed,
        "position": change.position,
    }


@router.get(
    "/users",
    response_model=UserPage,
    responses=errors(*READ_AFTER),
    dependencies=[read_after("users", AdminReadDep)],
)
def users(
    _: AdminReadDep, container: ContainerDep, query: Annotated[UserQuery, Depends(user_query)]
) -> dict[str, Any]:
    """Accounts, newest first; q searches e-mail and username literally, role filters.

    Seed scope: admin:read.
    """
    with container.views.reading() as cur:
        items, total = list_users(cur, query)
    return {"users": items, "page": query.page, "limit": query.limit, "total": total}


@router.patch(
    "/users/{user_id}", response_model=ChangedUser, responses=errors(404, 409, *WITH_BODY)
)
def change_user(
    user_id: str,
    body: UserChangeBody,
    caller: AdminDep,
    container: ContainerDep,
    response: Response,
) -> dict[str, Any]:
    """Change the role and/or the active flag; deactivating ends the user's sessions at once.

    Seed: JWT only. 409 when the change would leave no active admin.
    """
    change = container.staff.update(
        parse_id(user_id, "user"), role=body.role, is_active=body.is_active, actor=caller.actor
    )
    return _changed(response, change)


@router.patch(
    "/users/{user_id}/verify", response_model=ChangedUser, responses=errors(404, *WITH_BODY)
)
def verify_user(
    user_id: str, caller: AdminDep, container: ContainerDep, response: Response
) -> dict[str, Any]:
    """Mark the user's e-mail verified (a repeat changes nothing). Seed: JWT only."""
    change = container.staff.verify_email(parse_id(user_id, "user"), actor=caller.actor)
    return _changed(response, change)
