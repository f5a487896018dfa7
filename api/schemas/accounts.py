"""Accounts: the public profile and session answers."""

from __future__ import annotations

from pydantic import BaseModel


class UserProfile(BaseModel):
    """The public fields of a user."""

    id: str
    username: str
    email: str
    role: str
    created_at: str


class Registered(BaseModel):
    """A new account, already signed in."""

    user: UserProfile
    token: str


class Session(BaseModel):
    """A session token and who it speaks for."""

    token: str
    expires_in: int
    user: UserProfile


class FullProfile(BaseModel):
    """The signed-in user's own account (GET/PATCH /api/user/profile)."""

    id: str
    username: str
    display_name: str | None
    email: str
    role: str
    email_verified: bool
    two_factor_enabled: bool
    created_at: str


class TwoFactorStatus(BaseModel):
    """Whether 2FA is on for the caller."""

    enabled: bool


class Accepted(BaseModel):
    """A request taken in; the message says what happens next."""

    message: str
