"""Registration, login and the signed-in user's profile."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path
from pydantic import Field

from api.deps import CallerDep, ContainerDep
from api.schemas.accounts import Accepted, Registered, Session, UserProfile
from api.schemas.errors import ANY, SIGNED_IN, WITH_BODY, errors
from api.schemas.two_factor import TwoFactorChallenge
from api.text import TextBody
from domain.two_factor import ENROL
from domain.users import User
from infra.tokens import INTERIM_SECONDS

router = APIRouter(prefix="/api/auth", tags=["auth"])


class RegisterBody(TextBody):
    username: str = Field(max_length=40)
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)


class LoginBody(TextBody):
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)


class ForgotPasswordBody(TextBody):
    email: str = Field(max_length=254)


class ResetPasswordBody(TextBody):
    secret = frozenset({"new_password"})

    token: str = Field(max_length=200)
    new_password: str = Field(max_length=1024)


FORGOT_ANSWER = "if an account has this address, a reset link is on its way"


def profile(user: User) -> UserProfile:
    """The public fields of a user."""
    return UserProfile(
        id=str(user.id),
        username=user.username,
        email=user.email,
        role=user.role,
        created_at=user.created_on.isoformat(),
    )


@router.post("/register", status_code=201, responses=errors(*ANY, *WITH_BODY, 409))
def register(
    body: RegisterBody, container: ContainerDep, background: BackgroundTasks
) -> Registered:
    """Create a customer account, sign it in, and mail it a verification link (24 hours).

    When the shop's two_factor_policy requires 2FA of everyone, the answer carries an
    enrolment interim token instead of a session (as login would)."""
    new = container.accounts.register(
        email=body.email, username=body.username, password=body.password, now=datetime.now(UTC)
    )
    user = new.user
    background.add_task(container.accounts.mailer.send, new.mail)
    if container.two_factor.next_step(user) == ENROL:  # the shop requires 2FA of everyone
        interim = container.tokens.issue_interim(str(user.id), user.session_epoch, ENROL)
        return Registered(user=profile(user), interim_token=interim, enrolment_required=True)
    token = container.tokens.issue(str(user.id), user.role, user.session_epoch)
    return Registered(user=profile(user), token=token)


@router.post("/login", responses=errors(*SIGNED_IN, *WITH_BODY))
def login(body: LoginBody, container: ContainerDep) -> Session | TwoFactorChallenge:
    """Exchange e-mail and password for a session token (8 hours), or, when a second step
    is due, for a 10-minute interim token: with 2FA on, `enrolment_required: false` (send it
    and a code to /api/auth/login-2fa); when the shop's two_factor_policy requires 2FA of an
    account without it, `enrolment_required: true` (enrol with it as Bearer: setup-2fa,
    then enable-2fa, which answers the session)."""
    user = container.identity.authenticate(body.email, body.password)
    step = container.two_factor.next_step(user)
    if step is not None:
        return TwoFactorChallenge(
            interim_token=container.tokens.issue_interim(str(user.id), user.session_epoch, step),
            expires_in=INTERIM_SECONDS,
            enrolment_required=step == ENROL,
        )
    return Session(
        token=container.tokens.issue(str(user.id), user.role, user.session_epoch),
        expires_in=container.tokens.lifetime_seconds,
        user=profile(user),
    )


@router.get("/me", responses=errors(*SIGNED_IN))
def me(caller: CallerDep) -> UserProfile:
    """The signed-in user's profile."""
    return profile(caller.user)


@router.post("/forgot-password", responses=errors(*ANY, *WITH_BODY))
def forgot_password(
    body: ForgotPasswordBody, container: ContainerDep, background: BackgroundTasks
) -> Accepted:
    """Mail a password reset link (one hour, one use); the same answer for any address."""
    mail = container.accounts.forgot_password(body.email, now=datetime.now(UTC))
    if mail is not None:  # sent after the answer: its time must not tell the address exists
        background.add_task(container.accounts.mailer.send, mail)
    return Accepted(message=FORGOT_ANSWER)


@router.post("/reset-password", responses=errors(*ANY, *WITH_BODY, 409))
def reset_password(body: ResetPasswordBody, container: ContainerDep) -> Accepted:
    """Set a new password with the mailed token; every session of the user ends."""
    container.accounts.reset_password(body.token, body.new_password, now=datetime.now(UTC))
    return Accepted(message="password changed; sign in with the new password")


@router.get("/verify-email/{token}", responses=errors(*ANY, 409))
def verify_email(token: Annotated[str, Path(max_length=200)], container: ContainerDep) -> Accepted:
    """Verify the e-mail address with the mailed token (24 hours, one use)."""
    container.accounts.verify_email(token, now=datetime.now(UTC))
    return Accepted(message="email verified")


@router.post("/resend-verify", responses=errors(*SIGNED_IN, 409))
def resend_verify(
    caller: CallerDep, container: ContainerDep, background: BackgroundTasks
) -> Accepted:
    """Mail a fresh verification link (the older one stops working); 409 once verified."""
    mail = container.accounts.verification_mail(caller.user.id, now=datetime.now(UTC))
    background.add_task(container.accounts.mailer.send, mail)
    return Accepted(message="a verification link is on its way")
