"""Staff management: admins change roles, (de)activate accounts and verify e-mails.

The last active admin is protected: no change may leave zero active admins. The count is
made from the users' own streams (the users view only names the candidates, and a view
that trails the log can only make the count smaller, never let a removal through), and
every change that removes an admin is saved together with the next version of one guard
stream (domain.staff.AdminGuard), so two such changes racing each other cannot both
commit: the later one loses the version race and is answered 409.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from application.identity import IdentityApp
from domain.errors import Conflict, InvalidInput, NotFound
from domain.staff import ADMIN_GUARD_ID, AdminGuard
from domain.users import ADMIN, ROLES, User, normalise_email

LAST_ADMIN = "this change would leave no active admin; make another admin first"


class AdminDirectory(Protocol):
    """Who the users view lists as admins (candidates; each is re-read from its stream)."""

    def admin_ids(self) -> list[str]:
        """Ids of the users listed as admins."""
        ...


@dataclass(frozen=True)
class StaffChange:
    """The user after a staff change and the log position written (the current one if none)."""

    user: User
    position: int
    changed: bool


class StaffManagement:
    """The admins' user-management commands over the identity application."""

    def __init__(self, identity: IdentityApp, admins: AdminDirectory) -> None:
        self.identity = identity
        self.admins = admins

    def _user(self, user_id: UUID) -> User:
        user = self.identity.get_user(user_id)
        if user is None:
            raise NotFound("user not found")
        return user

    def update(
        self, user_id: UUID, *, role: str | None, is_active: bool | None, actor: str
    ) -> StaffChange:
        """Change the role and/or the active flag in one atomic write; 409 for the last admin."""
        if role is None and is_active is None:
            raise InvalidInput("give role or is_active (or both)")
        if role is not None and role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
        guard = self._guard()  # read before the admins: any later removal bumps its version
        user = self._user(user_id)
        was_active_admin = user.role == ADMIN and user.is_active
        changed = False
        if role is not None:
            changed |= user.change_role(role, actor=actor)
        if is_active is False:
            if user.deactivate(actor=actor):
                # Sessions end at once (current_caller refuses an inactive user) and stay
                # ended after a reactivation: the session epoch moves on too.
                user.end_sessions(reason="deactivated", actor=actor)
                changed = True
        elif is_active is True:
            changed |= user.reactivate(actor=actor)
        if not changed:
            return StaffChange(user, self.identity.position(), False)
        to_save: list[User | AdminGuard] = [user]
        if was_active_admin and not (user.role == ADMIN and user.is_active):
            if not self._other_active_admins(user.id):
                raise Conflict(LAST_ADMIN)
            what = "deactivated" if not user.is_active else f"role {user.role}"
            guard.admin_removed(user_id=str(user.id), change=what, actor=actor)
            to_save.append(guard)
        return StaffChange(user, self._save(*to_save), True)

    def change_role_by_email(self, email: str, role: str, *, actor: str) -> tuple[StaffChange, str]:
        """Give the account with this e-mail a role (the CLI's way), under the same last-admin
        rule as every other role change; (the change, the previous role)."""
        user = self.identity.user_by_email(email)
        if user is None:
            raise NotFound(f"no account with e-mail {normalise_email(email)}")
        return self.update(user.id, role=role, is_active=None, actor=actor), user.role

    def verify_email(self, user_id: UUID, *, actor: str) -> StaffChange:
        """Mark the e-mail verified; a repeat writes nothing."""
        user = self._user(user_id)
        if not user.verify_email(actor=actor):
            return StaffChange(user, self.identity.position(), False)
        return StaffChange(user, self._save(user), True)

    def _guard(self) -> AdminGuard:
        return self.identity.find(ADMIN_GUARD_ID, AdminGuard) or AdminGuard.create()

    def _other_active_admins(self, user_id: UUID) -> int:
        """Active admins other than this user, each read from their own stream."""
        count = 0
        for raw in self.admins.admin_ids():
            other = UUID(raw)
            if other == user_id:
                continue
            found = self.identity.get_user(other)
            if found is not None and found.role == ADMIN and found.is_active:
                count += 1
        return count

    def _save(self, *aggregates: User | AdminGuard) -> int:
        try:
            return self.identity.save_new(*aggregates)
        except Conflict as error:
            raise Conflict(
                "another change to this account or to the admins happened at the same time;"
                " reload and retry"
            ) from error
