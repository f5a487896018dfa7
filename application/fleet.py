"""The printer fleet: one Printer stream each, and cached listings of small stream kinds.

Read side: these lists are small (tens of records) and every quote reads the printers, so
they are read from the aggregates themselves and cached in memory, like the catalog's
materials. A cache is rebuilt whenever its application's log head has moved, so a change
made by another process is seen on the next read (one indexed MAX query per read), and
there is nothing to rebuild or drift.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any, Generic, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from application.base import FabApplication
from domain.catalog import PrinterProfile
from domain.errors import Conflict, NotFound
from domain.fleet.eligibility import FleetPrinter
from domain.fleet.printers import DEFAULT_PRINTER_ID, Printer, default_printer_spec

A = TypeVar("A", bound=Aggregate)
MAX_LISTED = 10_000  # streams of one kind read into a cache; far above any real shop


class StreamListing(Generic[A]):
    """Every live (not deleted) aggregate of one kind, cached until the app's log moves."""

    def __init__(self, app: FabApplication, created: type[Any], kind: type[A]) -> None:
        self.app, self.topic, self.kind = app, get_topic(created), kind
        self._lock = threading.Lock()
        self._cache: tuple[int, list[A]] | None = None
        self.rebuilds = 0  # how many times the cache was (re)built: derived caches key on it
        self._checked_at = 0.0  # monotonic time of the last head read; 0: check next time
        app.add_listener(self._saved)

    def _saved(self, _position: int) -> None:
        """A save in this process: the next read checks the head, whatever its max_age."""
        self._checked_at = 0.0

    def all(self) -> list[A]:
        """The live aggregates (read-only copies shared by every reader)."""
        return self.snapshot()[1]

    def snapshot(self, max_age: float = 0.0) -> tuple[int, list[A]]:
        """The live aggregates and the rebuild count that names this list.

        max_age > 0 trusts the list for that many seconds without reading the log's head
        (a quote's hot path: the head read is most of its cost on PostgreSQL); changes made in
        this process are seen at once, another process's within max_age.
        """
        now = time.monotonic()
        if max_age and self._cache is not None and now - self._checked_at < max_age:
            return self.rebuilds, list(self._cache[1])
        head = self.app.position()  # read first: a write after it makes the next read reload
        self._checked_at = now
        with self._lock:
            if self._cache is None or self._cache[0] != head:
                found = []
                for n in self.app.recorder.select_notifications(
                    start=None, limit=MAX_LISTED, topics=[self.topic]
                ):
                    aggregate = self.app.find(UUID(str(n.originator_id)), self.kind)
                    if aggregate is not None and not getattr(aggregate, "deleted", False):
                        found.append(aggregate)
                self._cache = (head, found)
                self.rebuilds += 1
            return self.rebuilds, list(self._cache[1])


QUOTE_MAX_AGE_SECONDS = 1.0


class FleetApp(FabApplication):
    """The printer fleet: one Printer stream each."""

    name = "fleet"

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self._printers = StreamListing(self, Printer.Registered, Printer)
        self._derived_lock = threading.Lock()
        self._derived: tuple[int, list[tuple[PrinterProfile, str]]] | None = None
        self._specs: tuple[int, list[FleetPrinter]] | None = None

    def seed_defaults(self) -> None:
        """Add today's built-in printer when the fleet has never had it (safe to repeat)."""
        if self.find(DEFAULT_PRINTER_ID, Printer) is None:
            printer = Printer.register(
                DEFAULT_PRINTER_ID, default_printer_spec(), actor="system:seed"
            )
            with contextlib.suppress(Conflict):  # another process seeded it first: theirs stands
                self.save_new(printer)

    def printers(self) -> list[Printer]:
        """Every printer (active or not), by name. Read-only: commands load their own copy."""
        return sorted(
            self._printers.all(), key=lambda p: (str(p.spec["name"]).casefold(), str(p.id))
        )

    def active_printers(self) -> list[tuple[PrinterProfile, str]]:
        """Each active printer's machine figures and PIN code: what quotes choose from.

        Another process's fleet change reaches quotes within a second, as cost settings do
        (CatalogApp.pricing); this process's own changes at once.
        """
        built, printers = self._printers.snapshot(max_age=QUOTE_MAX_AGE_SECONDS)
        with self._derived_lock:
            if self._derived is None or self._derived[0] != built:
                specs = [p.current for p in printers]
                active = [(s.profile(), s.printer_pincode) for s in specs if s.active]
                self._derived = (built, active)
            return list(self._derived[1])

    def printer_specs(self) -> list[FleetPrinter]:
        """Every printer (active or not) as ranking reads it, by name: what assignment ranks."""
        built, printers = self._printers.snapshot()
        with self._derived_lock:
            if self._specs is None or self._specs[0] != built:
                ordered = sorted(
                    printers, key=lambda p: (str(p.spec["name"]).casefold(), str(p.id))
                )
                self._specs = (built, [FleetPrinter.of(str(p.id), p.current) for p in ordered])
            return list(self._specs[1])

    def get_printer(self, printer_id: UUID) -> Printer:
        """A fresh copy of the printer to change, or NotFound."""
        printer = self.find(printer_id, Printer)
        if printer is None or printer.deleted:
            raise NotFound("printer not found")
        return printer
