"""The EmailClaim aggregate: an address an account moved to after registering.

A user's stream id is derived from the address they registered with, which makes addresses
unique without an index. An address taken later by an e-mail change gets a claim stream
under the id that address would have had, pointing at the account: a registration with
it, or a second claim, then loses the same optimistic-concurrency race. Claimed addresses
stay reserved to their account, like registered ones.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.users import user_id_for


class EmailClaim(Aggregate):
    """An address claimed by an account through an e-mail change."""

    @event("Claimed")
    def __init__(self, *, id: UUID, email: str, user_id: str, actor: str) -> None:
        self.email = email
        self.user_id = user_id

    @classmethod
    def claim(cls, email: str, user_id: UUID, *, actor: str) -> EmailClaim:
        """A claim of `email` for the account `user_id`."""
        return cls(id=user_id_for(email), email=email, user_id=str(user_id), actor=actor)
