"""Staff management: the admins' view of accounts (never a password hash)."""

from __future__ import annotations

from pydantic import BaseModel


class UserRow(BaseModel):
    """One account in the admins' user list (from the users view)."""

    id: str
    email: str
    username: str
    role: str
    is_active: bool
    email_verified: bool
    created_at: str
    updated_at: str


class UserPage(BaseModel):
    """A page of the user list and the total that match the filters."""

    users: list[UserRow]
    page: int
    limit: int
    total: int


class ManagedUser(BaseModel):
    """An account as it stands after a staff change (read from its stream)."""

    id: str
    email: str
    username: str
    role: str
    is_active: bool
    email_verified: bool
    created_at: str
    updated_at: str


class ChangedUser(BaseModel):
    """A staff change's resulting account, whether it changed, and the log position:
    send it as X-Min-Position to read the change back from the user list."""

    user: ManagedUser
    changed: bool
    position: int
