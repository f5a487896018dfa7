"""JWT session tokens: HS256, signed with the configured secret, 8 hours by default.

Interim tokens (2FA) are JWTs of the same key with an audience (`aud`) and a purpose
(`pur`): a session reader refuses any token with either, and the interim reader requires
both, so neither kind passes for the other. They last 10 minutes and carry the session
epoch, so a password change ends the pending ones too.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import jwt

from domain.errors import Unauthorized
from domain.two_factor import COMPLETE_LOGIN, ENROL

ALGORITHM = "HS256"
INTERIM_AUDIENCE = "fabledger:2fa"
INTERIM_SECONDS = 600
INTERIM_INVALID = "interim_token: invalid; sign in again"
INTERIM_EXPIRED = "interim_token: expired (they last 10 minutes); sign in again"
WRONG_STEP = {
    COMPLETE_LOGIN: "interim_token: this token only completes a login at /api/auth/login-2fa",
    ENROL: "interim_token: this token only enrols 2FA (setup-2fa, then enable-2fa)",
}


@dataclass(frozen=True)
class Claims:
    """Who a session token speaks for."""

    user_id: str
    role: str
    session_epoch: int = 0  # the user's epoch when issued; tokens from before it existed: 0


@dataclass(frozen=True)
class InterimClaims:
    """Who an interim token speaks for, and the one 2FA step it allows."""

    user_id: str
    purpose: str  # domain.two_factor.COMPLETE_LOGIN or ENROL
    session_epoch: int


class SessionTokens:
    """Issues and checks session tokens."""

    def __init__(self, secret: str, hours: int = 8) -> None:
        self._secret = secret
        self.lifetime_seconds = hours * 3600

    def issue(self, user_id: str, role: str, session_epoch: int = 0) -> str:
        """A signed token that expires after the configured lifetime, carrying the epoch."""
        now = int(time.time())
        payload = {
            "sub": user_id,
            "role": role,
            "se": session_epoch,
            "iat": now,
            "exp": now + self.lifetime_seconds,
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def read(self, token: str) -> Claims:
        """The claims of a valid token, or Unauthorized (a malformed claim included)."""
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                options={"require": ["exp", "sub", "role"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise Unauthorized("session expired; sign in again") from error
        except (jwt.PyJWTError, ValueError, TypeError, OverflowError) as error:
            raise Unauthorized("invalid session token") from error
        if "pur" in payload:  # an interim token (PyJWT refuses its `aud` already)
            raise Unauthorized("invalid session token")
        return _claims(payload)

    def issue_interim(
        self, user_id: str, session_epoch: int, purpose: str, *, now: float | None = None
    ) -> str:
        """A 10-minute token that only lets its bearer take the 2FA step named by purpose."""
        issued = int(time.time() if now is None else now)
        payload = {
            "sub": user_id,
            "pur": purpose,
            "se": session_epoch,
            "aud": INTERIM_AUDIENCE,
            "iat": issued,
            "exp": issued + INTERIM_SECONDS,
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def read_interim(self, token: str, purpose: str) -> InterimClaims:
        """The claims of a valid interim token for this purpose, else Unauthorized."""
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=INTERIM_AUDIENCE,
                options={"require": ["exp", "sub", "pur", "aud"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise Unauthorized(INTERIM_EXPIRED) from error
        except (jwt.PyJWTError, ValueError, TypeError, OverflowError) as error:
            raise Unauthorized(INTERIM_INVALID) from error
        subject, epoch = payload["sub"], payload.get("se", 0)
        if not isinstance(subject, str) or isinstance(epoch, bool) or not isinstance(epoch, int):
            raise Unauthorized(INTERIM_INVALID)
        try:
            user_id = UUID(subject)
        except ValueError as error:
            raise Unauthorized(INTERIM_INVALID) from error
        if payload["pur"] != purpose:
            raise Unauthorized(WRONG_STEP.get(payload["pur"], INTERIM_INVALID))
        return InterimClaims(user_id=str(user_id), purpose=purpose, session_epoch=epoch)

    @staticmethod
    def is_interim(token: str) -> bool:
        """Whether a token claims to be an interim token (unverified: only to pick a reader)."""
        try:
            payload = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return False
        return isinstance(payload, dict) and "pur" in payload


def _claims(payload: dict[str, Any]) -> Claims:
    """Typed claims; a signed token can still carry junk (a leaked or misused secret)."""
    subject, role, expires = payload["sub"], payload["role"], payload["exp"]
    epoch = payload.get("se", 0)
    if (
        not isinstance(subject, str)
        or not isinstance(role, str)
        or isinstance(epoch, bool)
        or not isinstance(epoch, int)
        or isinstance(expires, bool)
        or not isinstance(expires, int | float)
        or not math.isfinite(expires)
    ):
        raise Unauthorized("invalid session token")
    try:
        user_id = UUID(subject)
    except ValueError as error:
        raise Unauthorized("invalid session token") from error
    return Claims(user_id=str(user_id), role=role, session_epoch=epoch)
