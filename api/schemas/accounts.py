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
