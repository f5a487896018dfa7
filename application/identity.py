"""Identity use cases: register, authenticate, create staff accounts, change roles."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from application.base import FabApplication
from application.ports import PasswordHasher
from domain.email_claims import EmailClaim
from domain.errors import Conflict, InvalidInput, NotFound, Unauthorized
from domain.users import ADMIN, USER, User, check_password_rules, normalise_email, user_id_for

INVALID_LOGIN = "invalid email or password"
ATTEMPTS = 3  # a concurrent write to the same user stream: reload and decide again
BUSY = "the account changed at the same time; try again"


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
        self,
        *,
        email: str,
        username: str,
        password: str,
        role: str = USER,
        actor: str = "",
        prepare: Callable[[User], object] | None = None,
    ) -> User:
        """Create an account; an e-mail can be registered once. `prepare` adds events to the
        new user before its one write (a verification token, for a self-registration)."""
        check_password_rules(password)
        email = normalise_email(email)
        user = User.register(
            email=email,
            username=username,
            password_hash=self.hasher.hash(password),
            role=role,
            actor=actor or f"self:{user_id_for(email)}",
        )
        if prepare is not None:
            prepare(user)
        try:
            self.save(user)
        except IntegrityError as error:
            raise Conflict("an account with this email already exists") from error
        return user

    def authenticate(self, email: str, password: str) -> User:
        """The user with these credentials, or Unauthorized (same answer for both mistakes)."""
        try:
            user = self.user_by_email(email)
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
        """The account whose address this is now, or None (an address the account has
        since changed away from names nobody)."""
        email = normalise_email(email)
        found = self.find(user_id_for(email), Aggregate)  # one read: a user or a claim
        if isinstance(found, EmailClaim):
            found = self.get_user(UUID(found.user_id))
        return found if isinstance(found, User) and found.email == email else None

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
        # A reset password ends the account's sessions, as every password change does.
        existing.change_password_ending_sessions(
            self.hasher.hash(password), actor=actor, reason="password reset by the CLI"
        )
        existing.change_role(ADMIN, actor=actor)
        self.save(existing)  # both events in one atomic write
        return existing

    def change_user(self, user_id: UUID, change: Callable[[User], object]) -> User:
        """Apply a change to the user as stored now and save it; a concurrent write to the
        stream makes it reload and decide again (so a token or code used meanwhile is
        refused). A change may return a list of further aggregates to save in the same
        atomic write."""

        def load() -> User:
            user = self.get_user(user_id)
            if user is None:
                raise NotFound("user not found")
            return user

        user, _ = self.update(load, change, busy=BUSY, attempts=ATTEMPTS)
        return user
