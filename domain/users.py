"""The User aggregate: identity, role and credentials of a customer or staff member."""

from __future__ import annotations

import re
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput

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

    def rehash_password(self, password_hash: str, *, actor: str) -> None:
        """Replace the stored hash of the same password (stronger KDF parameters)."""
        self._password_changed(password_hash=password_hash, actor=actor)

    @event("RoleChanged")
    def _role_changed(self, role: str, actor: str) -> None:
        self.role = role

    @event("PasswordChanged")
    def _password_changed(self, password_hash: str, actor: str) -> None:
        self.password_hash = password_hash
