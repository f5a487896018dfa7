"""Identity use cases: register, authenticate, create staff accounts."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application.base import FabApplication
from application.ports import PasswordHasher
from domain.errors import Conflict, InvalidInput, Unauthorized
from domain.users import USER, User, check_password_rules, normalise_email, user_id_for

INVALID_LOGIN = "invalid email or password"


class IdentityApp(FabApplication):
    """Users and their credentials; one stream per e-mail address."""

    name = "identity"

    def __init__(self, hasher: PasswordHasher, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self.hasher = hasher
        # A real hash to verify against when the e-mail is unknown, so that an
        # unknown address costs as much time as a wrong password.
        self._decoy_hash = hasher.hash("decoy password for timing")

    def register(
        self, *, email: str, username: str, password: str, role: str = USER, actor: str = ""
    ) -> User:
        """Create an account; an e-mail can be registered once."""
        check_password_rules(password)
        email = normalise_email(email)
        user = User.register(
            email=email,
            username=username,
            password_hash=self.hasher.hash(password),
            role=role,
            actor=actor or f"self:{user_id_for(email)}",
        )
        try:
            self.save(user)
        except IntegrityError as error:
            raise Conflict("an account with this email already exists") from error
        return user

    def authenticate(self, email: str, password: str) -> User:
        """The user with these credentials, or Unauthorized (same answer for both mistakes)."""
        try:
            user = self.find(user_id_for(email), User)
        except InvalidInput:
            user = None
        if user is None:
            self.hasher.verify(self._decoy_hash, password)
            raise Unauthorized(INVALID_LOGIN)
        if not self.hasher.verify(user.password_hash, password) or not user.is_active:
            raise Unauthorized(INVALID_LOGIN)
        if self.hasher.needs_rehash(user.password_hash):
            user.rehash_password(self.hasher.hash(password), actor=f"system:rehash:{user.id}")
            self.save(user)
        return user

    def get_user(self, user_id: UUID) -> User | None:
        """The user with this id, or None."""
        return self.find(user_id, User)

    def ensure_admin(self, *, email: str, username: str, password: str) -> User:
        """Create an admin, or promote the existing account with that e-mail."""
        existing = self.find(user_id_for(email), User)
        if existing is None:
            return self.register(
                email=email, username=username, password=password, role="admin", actor="cli"
            )
        existing.change_role("admin", actor="cli")
        self.save(existing)
        return existing
