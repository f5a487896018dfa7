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
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.identity import IdentityApp
from application.notifications import Mail, Mailer
from domain.email_claims import EmailClaim
from domain.errors import Conflict, InvalidInput
from domain.users import User, check_password_rules, normalise_email, user_id_for

RESET_LIFETIME = timedelta(hours=1)
VERIFY_LIFETIME = timedelta(hours=24)
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


@dataclass(frozen=True)
class Register:
    """A new account and the verification mail to send it."""

    user: User
    mail: Mail


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
        return self.identity.change_user(
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
            user = self.identity.change_user(
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
        return self.identity.change_user(
            user.id,
            lambda u: u.reset_password(token_hash, password_hash, now=now, actor=f"self:{u.id}"),
        )

    def register(self, *, email: str, username: str, password: str, now: datetime) -> Register:
        """Create a customer account with a live verification token, in one write; the
        caller sends the mail (after answering, like every account mail)."""
        mails: list[Mail] = []
        user = self.identity.register(
            email=email,
            username=username,
            password=password,
            prepare=lambda new: mails.append(self._request_verification(new, now)),
        )
        return Register(user, mails[-1])

    def verification_mail(self, user_id: UUID, *, now: datetime) -> Mail:
        """Record a fresh e-mail verification token (24 hours, one use) and compose its mail
        (the caller sends it); a verified address is a Conflict."""
        mails: list[Mail] = []
        self.identity.change_user(
            user_id, lambda u: mails.append(self._request_verification(u, now))
        )
        return mails[-1]

    def _request_verification(self, user: User, now: datetime) -> Mail:
        """Give the (unsaved) user a fresh verification token; the mail carrying its link."""
        token = reset_token_for(user.id)
        user.request_email_verification(
            _hash(token), now + VERIFY_LIFETIME, actor=f"self:{user.id}"
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
        """Open a mailed link: verify the address, or move to the new address it was sent to."""
        user_id = user_of_token(token)
        if user_id is None or self.identity.get_user(user_id) is None:
            raise InvalidInput("token: this verification link is invalid or was already used")
        token_hash = _hash(token)

        def confirm(user: User) -> list[Aggregate]:
            if not user.confirm_email_change(token_hash, now=now, actor=f"self:{user.id}"):
                user.verify_email_with(token_hash, now=now, actor=f"self:{user.id}")
                return []
            if self._taken(user.email, user.id):  # unsaved: the account keeps its address
                raise Conflict("new_email: another account took this address meanwhile")
            owned = self.identity.find(user_id_for(user.email), EmailClaim) is not None
            if user_id_for(user.email) == user.id or owned:  # back to an address it had
                return []
            return [EmailClaim.claim(user.email, user.id, actor=f"self:{user.id}")]

        return self.identity.change_user(user_id, confirm)

    def request_email_change(
        self, user: User, new_email: str, password: str, *, now: datetime
    ) -> Mail:
        """Mail a link to the new address (24 hours, one use); the address changes only when
        it is opened. The current password is required: a stolen session alone cannot
        move the account to another inbox."""
        if not self.identity.hasher.verify(user.password_hash, password):
            raise InvalidInput("password: wrong password")
        try:
            address = normalise_email(new_email)
        except InvalidInput as error:
            raise InvalidInput("new_email: must be a valid e-mail address") from error
        if self._taken(address, user.id):
            raise Conflict("new_email: an account with this email already exists")
        token = reset_token_for(user.id)
        expires_at = now + VERIFY_LIFETIME
        mails: list[Mail] = []

        def ask(u: User) -> None:
            u.request_email_change(address, _hash(token), expires_at, actor=f"self:{u.id}")
            link = f"{self.public_url.rstrip('/')}/api/auth/verify-email/{token}"
            mails.append(
                Mail(
                    key=f"email-change:{u.id}:{u.version}",
                    to=address,
                    subject="Confirm your new e-mail address",
                    body=(
                        f"Open this link within 24 hours to make {address} the address of"
                        f" your account:\n\n{link}\n\nIf you did not ask, ignore this mail:"
                        " nothing changes."
                    ),
                )
            )

        self.identity.change_user(user.id, ask)
        return mails[-1]

    def _taken(self, email: str, user_id: UUID) -> bool:
        """Whether the address names another account (its own old or claimed ones are free)."""
        found = self.identity.find(user_id_for(email), Aggregate)
        if found is None or found.id == user_id:
            return False
        return not (isinstance(found, EmailClaim) and found.user_id == str(user_id))

    def update_profile(
        self, user_id: UUID, *, username: str | None, display_name: str | None
    ) -> User:
        """Change the caller's username and/or display name."""
        return self.identity.change_user(
            user_id,
            lambda u: u.update_profile(
                username=username, display_name=display_name, actor=f"{u.role}:{u.id}"
            ),
        )
