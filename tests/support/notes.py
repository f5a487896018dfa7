"""A minimal aggregate and application for tests of the event stores themselves."""

from __future__ import annotations

from eventsourcing.domain import Aggregate, event

from application.base import FabApplication


class Note(Aggregate):
    """A stream of notes, each event naming its actor."""

    @event("Written")
    def __init__(self, actor: str) -> None:
        self.actor = actor

    @event("Amended")
    def amend(self, actor: str) -> None:
        """One more event on the stream."""
        self.actor = actor


class NoteApp(FabApplication):
    """Notes, on their own table or file ("notes")."""
