"""JWT session tokens: HS256, signed with the configured secret, 8 hours by default."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

from domain.errors import Unauthorized

ALGORITHM = "HS256"


@dataclass(frozen=True)
class Claims:
    """Who a session token speaks for."""

    user_id: str
    role: str


class SessionTokens:
    """Issues and checks session tokens."""

    def __init__(self, secret: str, hours: int = 8) -> None:
        self._secret = secret
        self.lifetime_seconds = hours * 3600

    def issue(self, user_id: str, role: str) -> str:
        """A signed token that expires after the configured lifetime."""
        now = int(time.time())
        payload = {"sub": user_id, "role": role, "iat": now, "exp": now + self.lifetime_seconds}
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def read(self, token: str) -> Claims:
        """The claims of a valid token, or Unauthorized."""
        try:
            payload = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
            )
        except jwt.ExpiredSignatureError as error:
            raise Unauthorized("session expired; sign in again") from error
        except jwt.PyJWTError as error:
            raise Unauthorized("invalid session token") from error
        return Claims(user_id=str(payload["sub"]), role=str(payload.get("role", "user")))
