"""The admin guard: one stream every admin-removing change writes to, so that two such
changes racing each other cannot both pass the "at least one active admin" check."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

ADMIN_GUARD_ID: UUID = uuid5(NAMESPACE_URL, "fabledger:admin-guard")


class AdminGuard(Aggregate):
    """Versioned once per demotion or deactivation of an admin (saved with that change)."""

    @event("Created")
    def __init__(self, *, id: UUID) -> None:  # always ADMIN_GUARD_ID
        self.removals = 0

    @classmethod
    def create(cls) -> AdminGuard:
        """The guard, created on the first admin removal."""
        return cls(id=ADMIN_GUARD_ID)

    @event("AdminRemoved")
    def admin_removed(self, user_id: str, change: str, actor: str) -> None:
        """Record that an admin lost the role or was deactivated (and by whom)."""
        self.removals += 1
