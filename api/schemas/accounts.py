"""Accounts: the public profile and session answers."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.addresses import SavedAddress


class UserProfile(BaseModel):
    """The public fields of a user."""

    id: str
    username: str
    email: str
    role: str
    created_at: str


class Registered(BaseModel):
    """A new account, signed in; or, when the shop requires 2FA of it, its enrolment step."""

    user: UserProfile
    token: str | None = Field(default=None, description="Absent while enrolment is due.")
    interim_token: str | None = Field(
        default=None,
        description="Only when the shop requires 2FA: enrol with it as Bearer (GET"
        " /api/auth/setup-2fa, then POST /api/auth/enable-2fa, which answers the session).",
    )
    enrolment_required: bool = False


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
    pending_email: str | None = None  # asked for; becomes `email` when its link is opened
    two_factor_enabled: bool
    created_at: str
    addresses: list[SavedAddress] = Field(default_factory=list, description="Saved addresses.")


class TwoFactorStatus(BaseModel):
    """Whether 2FA is on for the caller."""

    enabled: bool


class Accepted(BaseModel):
    """A request taken in; the message says what happens next."""

    message: str
