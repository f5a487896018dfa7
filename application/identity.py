"""Identity use cases: register, authenticate, create staff accounts, change roles."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application.base import FabApplication
from application.ports import PasswordHasher
from domain.errors import Conflict, InvalidInput, NotFound, Unauthorized
from domain.users import ADMIN, USER, User, check_password_rules, normalise_email, user_id_for

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

    def user_by_email(self, email: str) -> User | None:
        """The account with this e-mail, or None."""
        return self.find(user_id_for(email), User)

    def ensure_admin(
        self,
        *,
        email: str,
        username: str,
        password: str,
        reset_password: bool = False,
        actor: str = "cli",
    ) -> User:
        """Create an admin; an existing account only with reset_password (set it, promote).

        A password is never taken and then ignored: for an existing account without
        reset_password this refuses, so the caller knows the password did not change.
        """
        existing = self.user_by_email(email)
        if existing is None:
            if reset_password:
                raise NotFound(f"no account with e-mail {normalise_email(email)} to reset")
            return self.register(
                email=email, username=username, password=password, role=ADMIN, actor=actor
            )
        if not reset_password:
            raise Conflict(f"an account with e-mail {existing.email} already exists")
        check_password_rules(password)
        existing.change_password(self.hasher.hash(password), actor=actor)
        existing.change_role(ADMIN, actor=actor)
        self.save(existing)  # both events in one atomic write
        return existing

    def change_role(self, *, email: str, role: str, actor: str) -> tuple[User, str]:
        """Give the account with this e-mail a role; (the user, their previous role)."""
        user = self.user_by_email(email)
        if user is None:
            raise NotFound(f"no account with e-mail {normalise_email(email)}")
        previous = user.role
        if user.change_role(role, actor=actor):
            self.save(user)
        return user, previous
