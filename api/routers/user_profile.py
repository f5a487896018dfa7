"""The signed-in user's own account: profile, password, 2FA status (/api/user/...)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from api.deps import CallerDep, ContainerDep
from api.routers.auth import profile
from api.schemas.accounts import FullProfile, Session, TwoFactorStatus
from api.schemas.errors import SIGNED_IN, WITH_BODY, errors
from api.text import TextBody
from domain.users import User

router = APIRouter(prefix="/api/user", tags=["user"])


class ChangePasswordBody(TextBody):
    secret = frozenset({"current_password", "new_password"})

    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class ProfileBody(TextBody):
    username: str | None = Field(default=None, max_length=40)
    display_name: str | None = Field(default=None, max_length=80)


def full_profile(user: User) -> FullProfile:
    """Everything the user may see of their own account."""
    return FullProfile(
        id=str(user.id),
        username=user.username,
        display_name=user.display_name,
        email=user.email,
        role=user.role,
        email_verified=bool(getattr(user, "email_verified", False)),
        two_factor_enabled=False,  # 2FA does not exist yet (issue 9, item 4)
        created_at=user.created_on.isoformat(),
    )


@router.get("/profile", responses=errors(*SIGNED_IN))
def get_profile(caller: CallerDep) -> FullProfile:
    """The caller's profile."""
    return full_profile(caller.user)


@router.patch("/profile", responses=errors(*SIGNED_IN, *WITH_BODY, 409))
def patch_profile(body: ProfileBody, caller: CallerDep, container: ContainerDep) -> FullProfile:
    """Change the caller's username and/or display name."""
    user = container.accounts.update_profile(
        caller.user.id, username=body.username, display_name=body.display_name
    )
    return full_profile(user)


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
    """Whether 2FA is on; always false until 2FA exists (issue 9, item 4)."""
    return TwoFactorStatus(enabled=False)
