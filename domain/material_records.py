"""The MaterialRecord aggregate: one stream per material the shop offers."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event


def material_id_for(code: str) -> UUID:
    """The stream id of a material code: one stream per code keeps codes unique."""
    return uuid5(NAMESPACE_URL, f"fabledger:material:{code.upper()}")


class MaterialRecord(Aggregate):
    """A material with its physical properties, cost and colours (see domain.catalog.Material)."""

    class Added(Aggregate.Created):
        """A material was added to the catalog."""

        spec: dict[str, Any]
        actor: str

    @event(Added)
    def __init__(self, *, id: UUID, spec: dict[str, Any], actor: str) -> None:
        self.spec = spec

    @classmethod
    def add(cls, spec: dict[str, Any], *, actor: str) -> MaterialRecord:
        """Add a material under the stream id of its code."""
        return cls(id=material_id_for(spec["code"]), spec=spec, actor=actor)

    def update(self, spec: dict[str, Any], *, actor: str) -> None:
        """Replace the material's properties (the code stays)."""
        self._updated(spec={**spec, "code": self.spec["code"]}, actor=actor)

    @event("Updated")
    def _updated(self, spec: dict[str, Any], actor: str) -> None:
        self.spec = spec
