"""What a projection is: a named view built from an application's events in batches."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


class Cursor(Protocol):
    """The DB-API subset projections use; SQL is written with '?' placeholders."""

    @property
    def rowcount(self) -> int:
        """Rows changed by the last statement."""
        ...

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> Any:
        """Run one statement."""
        ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]], /) -> Any:
        """Run one statement for many rows (batched by the driver)."""
        ...

    def fetchone(self) -> Any:
        """The next row, or None."""
        ...

    def fetchall(self) -> list[Any]:
        """All remaining rows."""
        ...


class ViewDatabase(Protocol):
    """Where views live; one transaction commits a batch's view changes and its position."""

    dialect: str

    def transaction(self) -> AbstractContextManager[Cursor]:
        """A cursor whose work commits together when the block exits without error."""
        ...

    def schema_change(self) -> AbstractContextManager[Cursor]:
        """A transaction that no other process's schema change runs beside."""
        ...

    def reading(self) -> AbstractContextManager[Cursor]:
        """A cursor for queries."""
        ...


@dataclass(frozen=True)
class EventRecord:
    """A stored event as projections see it: its position, stream, kind and data."""

    position: int
    originator_id: str
    version: int
    type: str
    timestamp: datetime
    data: dict[str, Any]

    @property
    def actor(self) -> str:
        """Who caused the event."""
        return str(self.data.get("actor", ""))


class Projection(ABC):
    """A read model: owns its tables and folds a batch of events into them."""

    name: str = ""
    # Folding a batch allocates many objects that stay alive until it is written: the
    # runner pauses the (process-wide) cyclic collector meanwhile. Followers that issue
    # commands (flows) wait on I/O instead and must not hold it off for the whole process.
    pauses_gc: bool = True

    @abstractmethod
    def create(self, cur: Cursor) -> None:
        """Create the view's tables if they do not exist."""

    @abstractmethod
    def drop(self, cur: Cursor) -> None:
        """Drop the view's tables (a rebuild starts from nothing)."""

    @abstractmethod
    def apply(self, cur: Cursor, events: Sequence[EventRecord]) -> None:
        """Fold a batch of events into the view, inside the caller's transaction."""

    @abstractmethod
    def dump(self, cur: Cursor) -> Iterator[tuple[Any, ...]]:
        """Every row of the view in a stable order (to compare two builds)."""
