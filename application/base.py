"""What every fabledger application shares: positions, listeners, safe lookups."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Recording

from domain.errors import Conflict

A = TypeVar("A", bound=Aggregate)


class FabApplication(Application[UUID]):
    """An eventsourcing Application whose commands report the position they wrote."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self._listeners: list[Callable[[int], None]] = []

    def add_listener(self, listener: Callable[[int], None]) -> None:
        """Call `listener(position)` after each save (wakes in-process projections)."""
        self._listeners.append(listener)

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        if recordings:
            position = last_position(recordings)
            for listener in self._listeners:
                listener(position)

    def save_new(self, *aggregates: Aggregate) -> int:
        """Save, turning a lost race for the same stream into a Conflict."""
        try:
            return last_position(self.save(*aggregates))
        except IntegrityError as error:
            raise Conflict("this record was changed by someone else; reload and retry") from error

    def find(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        """The aggregate with this id if it exists and is of this kind, else None."""
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, kind) else None

    def position(self) -> int:
        """The newest notification position of this application's log."""
        return self.recorder.max_notification_id() or 0


def last_position(recordings: list[Recording[Any]]) -> int:
    """The notification id of the last recording of a save."""
    return max(r.notification.id for r in recordings)
