"""The SlugClaim aggregate: which catalog model a product-page slug belongs to.

Slugs are unique without an index: each slug has one stream under an id derived from it
(as e-mail addresses do, domain.email_claims). Two models taking one slug at once both
write that stream's next version, so one of them loses the optimistic-concurrency race;
the model's change and the claim are saved together, so neither is kept without the other.
A released slug's stream stays, and a later claim continues it.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict


def slug_claim_id(slug: str) -> UUID:
    """The stream id of a slug's claim."""
    return uuid5(NAMESPACE_URL, f"fabledger:catalog-slug:{slug}")


def taken(slug: str) -> Conflict:
    """The refusal when another model holds the slug."""
    return Conflict(f"slug '{slug}' is already used by another catalog model")


class SlugClaim(Aggregate):
    """A slug and the model holding it (None once released)."""

    @event("SlugClaimed")
    def __init__(self, *, id: UUID, slug: str, model_id: str, actor: str) -> None:
        self.slug = slug
        self.model_id: str | None = model_id

    @classmethod
    def first(cls, slug: str, model_id: UUID, *, actor: str) -> SlugClaim:
        """The first claim ever of a slug."""
        return cls(id=slug_claim_id(slug), slug=slug, model_id=str(model_id), actor=actor)

    def claim(self, model_id: UUID, *, actor: str) -> None:
        """Take a released slug (nothing when this model holds it already)."""
        if self.model_id == str(model_id):
            return
        if self.model_id is not None:
            raise taken(self.slug)
        self._claimed_again(model_id=str(model_id), actor=actor)

    @event("SlugReclaimed")
    def _claimed_again(self, model_id: str, actor: str) -> None:
        self.model_id = model_id

    def release(self, *, actor: str) -> None:
        """Free the slug for any model."""
        if self.model_id is not None:
            self._released(previous_model_id=self.model_id, actor=actor)

    @event("SlugReleased")
    def _released(self, previous_model_id: str, actor: str) -> None:
        self.model_id = None
