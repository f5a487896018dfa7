"""JWT session tokens: HS256, signed with the configured secret, 8 hours by default."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import jwt

from domain.errors import Unauthorized

ALGORITHM = "HS256"


@dataclass(frozen=True)
class Claims:
    """Who a session token speaks for."""

    user_id: str
    role: str
    session_epoch: int = 0  # the user's epoch when issued; tokens from before it existed: 0


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
        return _claims(payload)


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
