"""The signed-in user's own account: profile, password, 2FA status (/api/user/...)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, BackgroundTasks
from pydantic import Field

from api.deps import CallerDep, ContainerDep
from api.routers.auth import profile
from api.schemas.accounts import Accepted, FullProfile, Session, TwoFactorStatus
from api.schemas.addresses import SavedAddress
from api.schemas.errors import SIGNED_IN, WITH_BODY, errors
from api.text import TextBody
from domain.users import User

router = APIRouter(prefix="/api/user", tags=["user"])


class ChangePasswordBody(TextBody):
    secret = frozenset({"current_password", "new_password"})

    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class EmailChangeBody(TextBody):
    secret = frozenset({"password"})

    new_email: str = Field(max_length=254)
    password: str = Field(max_length=1024, description="The current password.")


class ProfileBody(TextBody):
    username: str | None = Field(default=None, max_length=40)
    display_name: str | None = Field(default=None, max_length=80)


def full_profile(user: User, addresses: list[dict[str, Any]]) -> FullProfile:
    """Everything the user may see of their own account, with their saved addresses."""
    return FullProfile(
        id=str(user.id),
        username=user.username,
        display_name=user.display_name,
        email=user.email,
        role=user.role,
        email_verified=bool(getattr(user, "email_verified", False)),
        pending_email=user.pending_email,
        two_factor_enabled=user.two_factor_enabled,
        created_at=user.created_on.isoformat(),
        addresses=[SavedAddress(**address) for address in addresses],
    )


@router.get("/profile", responses=errors(*SIGNED_IN))
def get_profile(caller: CallerDep, container: ContainerDep) -> FullProfile:
    """The caller's profile, with their saved addresses."""
    return full_profile(caller.user, container.addresses.list(caller.user.id))


@router.patch("/profile", responses=errors(*SIGNED_IN, *WITH_BODY, 409))
def patch_profile(body: ProfileBody, caller: CallerDep, container: ContainerDep) -> FullProfile:
    """Change the caller's username and/or display name."""
    user = container.accounts.update_profile(
        caller.user.id, username=body.username, display_name=body.display_name
    )
    return full_profile(user, container.addresses.list(user.id))


@router.post("/change-password", responses=errors(*SIGNED_IN, *WITH_BODY, 409))
def change_password(
    body: ChangePasswordBody, caller: CallerDep, container: ContainerDep
) -> Session:
    """Set a new password (the current one required); every other session ends, and this
    answer carries the caller's fresh session token."""
    user = container.accounts.change_password(caller.user, body.current_password, body.new_password)
    return Session(
        token=container.tokens.issue(str(user.id), user.role, user.session_epoch),
        expires_in=container.tokens.lifetime_seconds,
        user=profile(user),
    )


@router.get("/2fa-status", responses=errors(*SIGNED_IN))
def two_factor_status(caller: CallerDep) -> TwoFactorStatus:
    """Whether TOTP 2FA is on for the caller (setup-2fa and enable-2fa turn it on)."""
    return TwoFactorStatus(enabled=caller.user.two_factor_enabled)


@router.post("/request-email-change", responses=errors(*SIGNED_IN, *WITH_BODY, 409))
def request_email_change(
    body: EmailChangeBody, caller: CallerDep, container: ContainerDep, background: BackgroundTasks
) -> Accepted:
    """Mail a link to the new address (24 hours, one use); the account's address changes only
    when it is opened. 409 when another account has that address."""
    mail = container.accounts.request_email_change(
        caller.user, body.new_email, body.password, now=datetime.now(UTC)
    )
    background.add_task(container.accounts.mailer.send, mail)
    return Accepted(message=f"a confirmation link is on its way to {mail.to}")
