"""The Category aggregate: one stream per shop category of catalog models."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, InvalidInput

MAX_NAME = 60
MAX_ICON = 40
MAX_DESCRIPTION = 500
MAX_ORDER = 10_000


@dataclass(frozen=True)
class CategorySpec:
    """How a category shows in the storefront."""

    name: str
    icon: str = ""
    description: str = ""
    display_order: int = 0

    @classmethod
    def parse(cls, data: dict[str, Any]) -> CategorySpec:
        """A validated spec from primitives, or InvalidInput naming the field."""
        name = str(data.get("name") or "").strip()
        if not name or len(name) > MAX_NAME:
            raise InvalidInput(f"name: 1-{MAX_NAME} characters")
        icon = str(data.get("icon") or "").strip()
        if len(icon) > MAX_ICON:
            raise InvalidInput(f"icon: at most {MAX_ICON} characters")
        description = str(data.get("description") or "").strip()
        if len(description) > MAX_DESCRIPTION:
            raise InvalidInput(f"description: at most {MAX_DESCRIPTION} characters")
        order = data.get("display_order", 0)
        if isinstance(order, bool) or not isinstance(order, int) or not 0 <= order <= MAX_ORDER:
            raise InvalidInput(f"display_order must be a whole number from 0 to {MAX_ORDER}")
        return cls(name=name, icon=icon, description=description, display_order=order)

    def to_dict(self) -> dict[str, Any]:
        """Primitive form, safe to store in an event."""
        return asdict(self)


class Category(Aggregate):
    """A category; deleting keeps the stream (history) and is refused while models use it."""

    class Created(Aggregate.Created):
        """A category was created."""

        spec: dict[str, Any]
        actor: str

    @event(Created)
    def __init__(self, *, id: UUID, spec: dict[str, Any], actor: str) -> None:
        self.spec = spec
        self.deleted = False

    @classmethod
    def create(cls, category_id: UUID, spec: CategorySpec, *, actor: str) -> Category:
        """A new category under an id the caller chose."""
        return cls(id=category_id, spec=spec.to_dict(), actor=actor)

    @property
    def current(self) -> CategorySpec:
        """The category's spec now."""
        return CategorySpec.parse(self.spec)

    def update(self, spec: CategorySpec, *, actor: str) -> None:
        """Record a new spec (nothing when unchanged)."""
        self._refuse_if_deleted()
        if spec.to_dict() != self.spec:
            self._updated(spec=spec.to_dict(), actor=actor)

    @event("Updated")
    def _updated(self, spec: dict[str, Any], actor: str) -> None:
        self.spec = spec

    def delete(self, *, actor: str, models: int) -> None:
        """Remove the category, unless catalog models are filed under it."""
        self._refuse_if_deleted()
        if models:
            raise Conflict(
                f"category '{self.spec['name']}' cannot be deleted: {models} catalog model(s) "
                "use it; move them to another category first"
            )
        self._deleted(actor=actor)

    @event("Deleted")
    def _deleted(self, actor: str) -> None:
        self.deleted = True

    def _refuse_if_deleted(self) -> None:
        if self.deleted:
            raise Conflict("this category was deleted")
