"""The User aggregate: identity, role and credentials of a customer or staff member."""

from __future__ import annotations

import hmac
import re
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, InvalidInput

USER = "user"
MODERATOR = "moderator"
ADMIN = "admin"
ROLES = (USER, MODERATOR, ADMIN)
STAFF_ROLES = (MODERATOR, ADMIN)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,40}$")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024


def normalise_email(email: str) -> str:
    """Lower-case and trim an e-mail address, refusing one that is not an address."""
    email = email.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise InvalidInput("email must be a valid e-mail address")
    return email


def user_id_for(email: str) -> UUID:
    """The stream id of an e-mail's user: one stream per address makes e-mails unique."""
    return uuid5(NAMESPACE_URL, f"fabledger:user:{normalise_email(email)}")


def check_password_rules(password: str) -> None:
    """Refuse passwords too short to resist guessing, or too long to hash cheaply."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"password must be at most {MAX_PASSWORD_LENGTH} characters")


class User(Aggregate):
    """A person who can sign in; the role decides what they may do."""

    # Streams written before these existed replay with the defaults.
    session_epoch: int = 0  # sessions carry it; SessionsEnded bumps it, ending every one
    display_name: str | None = None
    reset_token_hash: str | None = None  # SHA-256 hex of the one live reset token
    reset_expires_at: datetime | None = None
    verify_token_hash: str | None = None  # SHA-256 hex of the live e-mail verification token
    verify_expires_at: datetime | None = None

    @event("Registered")
    def __init__(
        self,
        *,
        id: UUID,  # derived from the e-mail: see user_id_for
        email: str,
        username: str,
        password_hash: str,
        role: str,
        actor: str,
    ) -> None:
        self.email = email
        self.username = username
        self.password_hash = password_hash
        self.role = role
        self.is_active = True
        self.email_verified = False

    @classmethod
    def register(
        cls, *, email: str, username: str, password_hash: str, role: str, actor: str
    ) -> User:
        """Register a user, checking the address, name and role first."""
        email = normalise_email(email)
        if not _USERNAME.match(username):
            raise InvalidInput("username must be 3-40 letters, digits, '.', '_' or '-'")
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
        return cls(
            id=user_id_for(email),
            email=email,
            username=username,
            password_hash=password_hash,
            role=role,
            actor=actor,
        )

    @property
    def is_staff(self) -> bool:
        """Moderators and admins run fulfilment."""
        return self.role in STAFF_ROLES

    def change_role(self, role: str, *, actor: str) -> bool:
        """Promote or demote the user; False (and no event) when they already have the role."""
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
        if role == self.role:
            return False
        self._role_changed(role=role, actor=actor)
        return True

    def change_password(self, password_hash: str, *, actor: str) -> None:
        """Set a new password, given as its hash: the password itself never enters an event."""
        if not password_hash:
            raise InvalidInput("a password hash is required")
        self._password_changed(password_hash=password_hash, actor=actor)

    def change_password_ending_sessions(
        self, password_hash: str, *, actor: str, reason: str = "password changed"
    ) -> None:
        """Set a new password and end every session issued before (the epoch moves)."""
        self.change_password(password_hash, actor=actor)
        self.end_sessions(reason=reason, actor=actor)

    def end_sessions(self, *, reason: str, actor: str) -> None:
        """End every session of this user: tokens carry the epoch, and it moves on."""
        self._sessions_ended(reason=reason, actor=actor)

    def request_password_reset(self, token_hash: str, expires_at: datetime, *, actor: str) -> None:
        """Remember the hash of a new reset token (replacing any earlier one) and its expiry."""
        if len(token_hash) != 64:
            raise InvalidInput("a SHA-256 hex digest is required")
        self._password_reset_requested(token_hash=token_hash, expires_at=expires_at, actor=actor)

    def reset_password(
        self, token_hash: str, password_hash: str, *, now: datetime, actor: str
    ) -> None:
        """Use the reset token (once, before it expires) to set a new password."""
        live = self.reset_token_hash
        if live is None or not hmac.compare_digest(live, token_hash):
            raise InvalidInput("token: this reset link is invalid or was already used")
        if self.reset_expires_at is None or now >= self.reset_expires_at:
            raise InvalidInput("token: this reset link has expired; request a new one")
        self._password_reset(password_hash=password_hash, actor=actor)
        self.end_sessions(reason="password reset", actor=actor)

    def request_email_verification(
        self, token_hash: str, expires_at: datetime, *, actor: str
    ) -> None:
        """Remember the hash of a new verification token (replacing any earlier one)."""
        if self.email_verified:
            raise Conflict("email is already verified")
        if len(token_hash) != 64:
            raise InvalidInput("a SHA-256 hex digest is required")
        self._email_verification_requested(
            token_hash=token_hash, expires_at=expires_at, actor=actor
        )

    def verify_email_with(self, token_hash: str, *, now: datetime, actor: str) -> None:
        """Verify the address with the mailed token (once, before it expires)."""
        live = self.verify_token_hash
        if self.email_verified or live is None or not hmac.compare_digest(live, token_hash):
            raise InvalidInput("token: this verification link is invalid or was already used")
        if self.verify_expires_at is None or now >= self.verify_expires_at:
            raise InvalidInput("token: this verification link has expired; request a new one")
        self.verify_email(actor=actor)

    def update_profile(self, *, username: str | None, display_name: str | None, actor: str) -> bool:
        """Change the username and/or display name; False (and no event) when nothing changes."""
        username = self.username if username is None else username
        if not _USERNAME.match(username):
            raise InvalidInput("username must be 3-40 letters, digits, '.', '_' or '-'")
        if display_name is not None:
            display_name = display_name.strip()
            if not display_name or len(display_name) > 80:
                raise InvalidInput("display_name must be 1-80 characters")
        else:
            display_name = self.display_name
        if (username, display_name) == (self.username, self.display_name):
            return False
        self._profile_updated(username=username, display_name=display_name, actor=actor)
        return True

    def rehash_password(self, password_hash: str, *, actor: str) -> None:
        """Replace the stored hash of the same password (stronger KDF parameters)."""
        self._password_changed(password_hash=password_hash, actor=actor)

    def deactivate(self, *, actor: str) -> bool:
        """Stop the user signing in (and end their sessions); False when already inactive."""
        if not self.is_active:
            return False
        self._deactivated(actor=actor)
        return True

    def reactivate(self, *, actor: str) -> bool:
        """Let a deactivated user sign in again; False when already active."""
        if self.is_active:
            return False
        self._reactivated(actor=actor)
        return True

    def verify_email(self, *, actor: str) -> bool:
        """Mark the e-mail address verified; False (and no event) when it already is."""
        if self.email_verified:
            return False
        self._email_verified(actor=actor)
        return True

    @event("Deactivated")
    def _deactivated(self, actor: str) -> None:
        self.is_active = False
        self.session_epoch += 1  # a reactivated user signs in afresh

    @event("Reactivated")
    def _reactivated(self, actor: str) -> None:
        self.is_active = True

    @event("EmailVerified")
    def _email_verified(self, actor: str) -> None:
        self.email_verified = True

    @event("RoleChanged")
    def _role_changed(self, role: str, actor: str) -> None:
        self.role = role

    @event("PasswordChanged")
    def _password_changed(self, password_hash: str, actor: str) -> None:
        self.password_hash = password_hash

    @event("SessionsEnded")
    def _sessions_ended(self, reason: str, actor: str) -> None:
        self.session_epoch += 1

    @event("PasswordResetRequested")
    def _password_reset_requested(self, token_hash: str, expires_at: datetime, actor: str) -> None:
        self.reset_token_hash = token_hash
        self.reset_expires_at = expires_at

    @event("PasswordReset")
    def _password_reset(self, password_hash: str, actor: str) -> None:
        self.password_hash = password_hash
        self.reset_token_hash = None
        self.reset_expires_at = None

    @event("ProfileUpdated")
    def _profile_updated(self, username: str, display_name: str | None, actor: str) -> None:
        self.username = username
        self.display_name = display_name

    @event("EmailVerificationRequested")
    def _email_verification_requested(
        self, token_hash: str, expires_at: datetime, actor: str
    ) -> None:
        self.verify_token_hash = token_hash
        self.verify_expires_at = expires_at
