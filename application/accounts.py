"""Account self-service: change a password, reset a forgotten one by mail, edit the profile.

Reset tokens: `base64url(user id) + "." + 32 random bytes (base64url)`. The first part names
the user's stream, so a token is checked without any scan or lookup table; only the SHA-256
of the whole token is stored (`PasswordResetRequested`), compared in constant time, good for
one use and one hour. A password change or reset moves the user's session epoch
(`SessionsEnded`), which ends every session issued before it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application.identity import IdentityApp
from application.notifications import Mail, Mailer
from domain.errors import Conflict, InvalidInput, NotFound
from domain.users import User, check_password_rules

RESET_LIFETIME = timedelta(hours=1)
VERIFY_LIFETIME = timedelta(hours=24)
ATTEMPTS = 3  # a concurrent write to the same user stream: reload and decide again
INVALID_LINK = "token: this reset link is invalid or was already used"
WRONG_CURRENT = "current_password: wrong password"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def reset_token_for(user_id: UUID) -> str:
    """A fresh reset (or verification) token naming its user."""
    return f"{_b64(user_id.bytes)}.{_b64(secrets.token_bytes(32))}"


def user_of_token(token: str) -> UUID | None:
    """The user id a token names, or None for anything that is not one of ours."""
    head, dot, tail = token.partition(".")
    if not dot or len(head) != 22 or len(tail) != 43:
        return None
    try:
        return UUID(bytes=base64.urlsafe_b64decode(head + "=="))
    except (binascii.Error, ValueError):
        return None


@dataclass
class Accounts:
    """The signed-in user's own account, and the forgotten-password flow."""

    identity: IdentityApp
    mailer: Mailer
    public_url: str  # where the reset link points, e.g. https://shop.example

    def change_password(self, user: User, current: str, new: str) -> User:
        """Set a new password (the current one is required); ends every other session."""
        hasher = self.identity.hasher
        if not hasher.verify(user.password_hash, current):
            raise InvalidInput(WRONG_CURRENT)
        check_password_rules(new)
        password_hash = hasher.hash(new)
        return self._change(
            user.id,
            lambda u: u.change_password_ending_sessions(password_hash, actor=f"self:{u.id}"),
        )

    def forgot_password(self, email: str, *, now: datetime) -> Mail | None:
        """Record a reset token if the address has an account, and the mail carrying its
        link (None for an unknown address). The caller sends it after answering, so a slow
        mail server cannot tell known addresses from unknown ones; both pay one slow hash."""
        try:
            user = self.identity.user_by_email(email)
        except InvalidInput:
            user = None
        self.identity.hasher.verify(self.identity._decoy_hash, email)
        if user is None or not user.is_active:
            return None
        token = reset_token_for(user.id)
        token_hash, expires_at = _hash(token), now + RESET_LIFETIME
        try:
            user = self._change(
                user.id,
                lambda u: u.request_password_reset(token_hash, expires_at, actor=f"self:{u.id}"),
            )
        except Conflict:  # kept busy by concurrent writes: no mail, and the same answer
            return None
        link = f"{self.public_url.rstrip('/')}/reset-password?token={token}"
        return Mail(
            key=f"password-reset:{user.id}:{user.version}",
            to=user.email,
            subject="Reset your password",
            body=(
                "Someone asked to reset the password of your account. If it was you,"
                f" open this link within an hour:\n\n{link}\n\nIf not, ignore this mail."
            ),
        )

    def reset_password(self, token: str, new: str, *, now: datetime) -> User:
        """Set a new password with a mailed token (one use, one hour); ends every session."""
        user_id = user_of_token(token)
        user = self.identity.get_user(user_id) if user_id else None
        if user is None:
            raise InvalidInput(INVALID_LINK)
        check_password_rules(new)
        password_hash, token_hash = self.identity.hasher.hash(new), _hash(token)
        return self._change(
            user.id,
            lambda u: u.reset_password(token_hash, password_hash, now=now, actor=f"self:{u.id}"),
        )

    def verification_mail(self, user_id: UUID, *, now: datetime) -> Mail:
        """Record a fresh e-mail verification token (24 hours, one use) and compose its mail
        (the caller sends it); a verified address is a Conflict."""
        token = reset_token_for(user_id)
        token_hash, expires_at = _hash(token), now + VERIFY_LIFETIME
        user = self._change(
            user_id,
            lambda u: u.request_email_verification(token_hash, expires_at, actor=f"self:{u.id}"),
        )
        link = f"{self.public_url.rstrip('/')}/api/auth/verify-email/{token}"
        return Mail(
            key=f"verify-email:{user.id}:{user.version}",
            to=user.email,
            subject="Verify your e-mail address",
            body=(
                f"Open this link within 24 hours to verify your e-mail address:\n\n{link}\n\n"
                "If you did not sign up, ignore this mail."
            ),
        )

    def verify_email(self, token: str, *, now: datetime) -> User:
        """Verify the address the mailed token was sent to."""
        user_id = user_of_token(token)
        if user_id is None or self.identity.get_user(user_id) is None:
            raise InvalidInput("token: this verification link is invalid or was already used")
        token_hash = _hash(token)
        return self._change(
            user_id, lambda u: u.verify_email_with(token_hash, now=now, actor=f"self:{u.id}")
        )

    def update_profile(
        self, user_id: UUID, *, username: str | None, display_name: str | None
    ) -> User:
        """Change the caller's username and/or display name."""
        return self._change(
            user_id,
            lambda u: u.update_profile(
                username=username, display_name=display_name, actor=f"{u.role}:{u.id}"
            ),
        )

    def _change(self, user_id: UUID, change: Callable[[User], object]) -> User:
        """Apply a change to the user as stored now and save it; a concurrent write to the
        stream makes it reload and decide again (a used token is then refused)."""
        for _ in range(ATTEMPTS):
            user = self.identity.get_user(user_id)
            if user is None:
                raise NotFound("user not found")
            change(user)
            if not user.pending_events:
                return user
            try:
                self.identity.save(user)
            except IntegrityError:
                continue
            return user
        raise Conflict("the account changed at the same time; try again")
