"""TOTP two-factor authentication: enrol, complete a login, turn it off (/api/auth/*-2fa).

The flows (application/two_factor.py has the rules):

- 2FA on: POST /api/auth/login answers {interim_token, enrolment_required: false}; POST
  /api/auth/login-2fa exchanges it with a code (or a recovery code) for a session.
- Opt-in enrolment: with a session, GET setup-2fa (a secret and its QR code), then POST
  enable-2fa with the secret and a code from the app; the e-mail address must be verified.
- Enrolment the shop requires (two_factor_policy required, or required_staff for staff):
  login answers {interim_token, enrolment_required: true}; that token, as Bearer, is taken
  by setup-2fa and enable-2fa only, and enable-2fa answers the recovery codes with the
  session. No verified e-mail is asked for here: the shop's policy leaves no other way in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, ClassVar
from uuid import UUID

from fastapi import APIRouter, Depends
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import Field

from api.deps import JWT_ONLY, SESSION, CallerDep, ContainerDep, current_caller
from api.routers.auth import profile
from api.schemas.accounts import Session, TwoFactorStatus
from api.schemas.errors import SIGNED_IN, WITH_BODY, errors
from api.schemas.two_factor import TwoFactorEnabled, TwoFactorSetup
from api.text import TextBody
from domain.errors import Forbidden, Unauthorized
from domain.two_factor import COMPLETE_LOGIN, ENROL
from domain.users import User
from infra.bootstrap import Container

router = APIRouter(prefix="/api/auth", tags=["auth"])


class LoginTwoFactorBody(TextBody):
    secret: ClassVar[frozenset[str]] = frozenset({"interim_token", "code"})

    interim_token: str = Field(max_length=2000)
    code: str = Field(max_length=64, description="6-digit TOTP code, or a recovery code.")


class EnableBody(TextBody):
    secret: ClassVar[frozenset[str]] = frozenset({"totp_secret", "code"})

    # "secret" on the wire; another name here, since TextBody.secret lists the secret fields
    totp_secret: str = Field(alias="secret", max_length=64, description="From setup-2fa.")
    code: str = Field(max_length=64, description="The app's current 6-digit code.")


class DisableBody(TextBody):
    secret: ClassVar[frozenset[str]] = frozenset({"code", "password"})

    code: str = Field(max_length=64, description="A current TOTP code, or a recovery code.")
    password: str = Field(max_length=1024, description="The account's password.")


@dataclass(frozen=True)
class Enrolling:
    """Who is enrolling, and whether the shop's policy makes them (an enrolment token)."""

    user: User
    forced: bool


def _enrolling(
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(SESSION)],
) -> Enrolling:
    """A session's user, or the user of an enrolment interim token (policy-required);
    JWT only, like CallerDep."""
    if credentials is None:
        raise Unauthorized("missing bearer token")
    token = credentials.credentials.strip()
    if container.tokens.is_interim(token):
        claims = container.tokens.read_interim(token, ENROL)
        user = container.two_factor.interim_user(UUID(claims.user_id), claims.session_epoch)
        return Enrolling(user, forced=True)
    caller = current_caller(container=container, credentials=credentials)
    if caller.pat is not None:  # a personal access token never manages 2FA
        raise Forbidden(JWT_ONLY)
    return Enrolling(caller.user, forced=False)


EnrollingDep = Annotated[Enrolling, Depends(_enrolling)]


def _session(container: Container, user: User) -> Session:
    return Session(
        token=container.tokens.issue(str(user.id), user.role, user.session_epoch),
        expires_in=container.tokens.lifetime_seconds,
        user=profile(user),
    )


@router.post("/login-2fa", responses=errors(*SIGNED_IN, *WITH_BODY, 409, 429))
def login_two_factor(body: LoginTwoFactorBody, container: ContainerDep) -> Session:
    """Complete a 2FA login: the interim token from login and a code from the app (or one
    of the 10 recovery codes) answer a session token. Each code is good once.

    401: the interim token is invalid, expired (10 minutes), for enrolment, a session
    token, or the account's sessions ended since (a password change). 422: a wrong or used
    code. 429 (Retry-After): after 5 wrong codes in a row the step is locked for 30 s,
    doubling with each further wrong code up to 1 h; a right code resets the count."""
    claims = container.tokens.read_interim(body.interim_token.strip(), COMPLETE_LOGIN)
    user = container.two_factor.complete_login(
        UUID(claims.user_id), claims.session_epoch, body.code, now=datetime.now(UTC)
    )
    return _session(container, user)


@router.get("/setup-2fa", responses=errors(*SIGNED_IN, 403, 409))
def setup_two_factor(enrolling: EnrollingDep, container: ContainerDep) -> TwoFactorSetup:
    """Generate a TOTP secret and its QR code ("Scan this QR code with Google Authenticator
    or Authy"); nothing is stored until enable-2fa. Takes a session or an enrolment token.

    403: the e-mail address is not verified (opt-in enrolment), or a personal access token;
    409: 2FA is on already."""
    enrolment = container.two_factor.setup(enrolling.user, forced=enrolling.forced)
    return TwoFactorSetup(
        secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri, qr_png=enrolment.qr_png
    )


@router.post("/enable-2fa", responses=errors(*SIGNED_IN, *WITH_BODY, 403, 409))
def enable_two_factor(
    body: EnableBody, enrolling: EnrollingDep, container: ContainerDep
) -> TwoFactorEnabled:
    """Confirm and turn on 2FA with the secret from setup-2fa and the app's current code.

    Answers the 10 recovery codes (shown this once; each works once at login-2fa) and a
    fresh session token: every earlier session of the account ends. Takes a session or an
    enrolment token. 422: a wrong code or a secret setup-2fa did not make."""
    user, codes = container.two_factor.enable(
        enrolling.user.id,
        body.totp_secret,
        body.code,
        now=datetime.now(UTC),
        forced=enrolling.forced,
    )
    session = _session(container, user)
    return TwoFactorEnabled(
        enabled=True,
        recovery_codes=codes,
        token=session.token,
        expires_in=session.expires_in,
        user=session.user,
    )


@router.delete("/disable-2fa", responses=errors(*SIGNED_IN, *WITH_BODY, 409, 429))
def disable_two_factor(
    body: DisableBody, caller: CallerDep, container: ContainerDep
) -> TwoFactorStatus:
    """Turn off 2FA ("Enter your password to disable 2FA"): the password and a current code
    (or a recovery code) are both required; a wrong one is 422 and counts as a wrong code.

    409: 2FA is off, or the shop's two_factor_policy requires it for this account. 429: the
    wrong-code backoff of login-2fa (the same count) is running."""
    container.two_factor.disable(caller.user, body.code, body.password, now=datetime.now(UTC))
    return TwoFactorStatus(enabled=False)
