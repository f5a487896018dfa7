"""Printer assignment use cases: rank the fleet for an order, put it on a printer, queues.

Assignments are events on the order's stream (Order.PrinterAssigned); the printer-load
view (projections.printer_load) follows them and answers, through the PrinterLoads port,
how many hours each printer already has and which orders a printer's queue holds.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol
from uuid import UUID

from application.catalog import CatalogApp
from application.fleet import FleetApp
from application.ordering import OrderingApp
from application.ports import PinDirectory
from domain.errors import Forbidden
from domain.fleet.eligibility import Candidate, FleetPrinter, OrderNeeds, rank, refusals
from domain.fleet.printers import PrinterSpec
from domain.orders import Order

_DISTANCE_CACHE = 200_000  # PIN pairs remembered (a few MB); cleared whole when full


class PrinterLoads(Protocol):
    """What the printer-load view answers."""

    def load_hours(self) -> dict[str, float]:
        """Each printer's outstanding print hours (assigned, pending/confirmed/printing)."""
        ...

    def queue(self, printer_ids: list[str]) -> list[dict[str, Any]]:
        """Orders assigned to these printers that still need them, oldest first."""
        ...


class OrderSlices(Protocol):
    """The slice job each order needs (application.slicing.OrderSlicing)."""

    def of_orders(self, order_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Job state and figures by order id (orders without a job left out)."""
        ...


class PrinterAssignment:
    """Staff choose which printer makes an order."""

    def __init__(
        self,
        ordering: OrderingApp,
        fleet: FleetApp,
        catalog: CatalogApp,
        pins: PinDirectory,
        loads: PrinterLoads,
        slices: OrderSlices | None = None,
    ) -> None:
        self.ordering, self.fleet, self.catalog = ordering, fleet, catalog
        self.pins, self.loads = pins, loads
        self.slices = slices  # firm print times in the queue (None: estimates only)
        self._distances: dict[tuple[str, str], float | None] = {}
        self._lock = threading.Lock()

    def eligible(self, order_id: UUID) -> list[Candidate]:
        """Every printer (active or not) ranked for the order: domain.fleet.eligibility."""
        needs = self._needs(self.ordering.get_order(order_id))
        return rank(needs, self.fleet.printer_specs(), self.loads.load_hours(), self.distance_km)

    def assign(self, order_id: UUID, printer_id: UUID | None, *, actor: str) -> tuple[Order, int]:
        """Put the order on a printer (None: take it off). The same printer again writes
        nothing and answers the log's current position."""
        order = self.ordering.get_order(order_id)
        reasons: list[str] = []
        if printer_id is not None:
            spec = self.fleet.get_printer(printer_id).current  # NotFound for unknown/deleted
            reasons = refusals(self._needs(order), FleetPrinter.of(str(printer_id), spec))
        changed = order.assign_printer(
            None if printer_id is None else str(printer_id), actor=actor, refusals=reasons
        )
        position = self.ordering.save_new(order) if changed else self.ordering.position()
        return order, position

    def printer_name(self, printer_id: str | None) -> str | None:
        """The printer's name now (None when unassigned or the printer was deleted)."""
        if printer_id is None:
            return None
        for printer in self.fleet.printer_specs():
            if printer.printer_id == printer_id:
                return printer.spec.name
        return None

    def queue(
        self, viewer_id: str, *, is_admin: bool, printer_id: UUID | None = None
    ) -> tuple[list[str], list[dict[str, Any]]]:
        """A printer's queue (its owners and admins only), or every printer the viewer owns:
        the printers' ids and their orders."""
        specs = {p.printer_id: p.spec for p in self.fleet.printer_specs()}
        if printer_id is not None:
            spec = self.fleet.get_printer(printer_id).current  # NotFound first
            if not is_admin and viewer_id not in spec.owners:
                raise Forbidden("only the printer's owners (or an admin) see its queue")
            ids = [str(printer_id)]
        else:
            ids = [pid for pid, spec in specs.items() if viewer_id in spec.owners]
        items = self.loads.queue(ids)
        jobs = self.slices.of_orders([i["order_id"] for i in items]) if self.slices else {}
        for item in items:
            owner = specs.get(item["printer_id"])
            item["printer_name"] = owner.name if owner else None
            item.update(_firm_hours(jobs.get(item["order_id"]), owner, item["quantity"]))
        return ids, items

    def _needs(self, order: Order) -> OrderNeeds:
        settings, _ = self.catalog.pricing()
        return OrderNeeds.of(order, shop_pincode=settings.origin_pincode)

    def distance_km(self, a: str, b: str) -> float | None:
        """Great-circle km between two PINs (None if unknown), cached per pair."""
        key = (a, b) if a <= b else (b, a)
        try:
            return self._distances[key]
        except KeyError:
            pass
        km = self.pins.distance_km(a, b)
        with self._lock:
            if len(self._distances) >= _DISTANCE_CACHE:
                self._distances.clear()
            self._distances[key] = km
        return km


def _firm_hours(
    job: dict[str, Any] | None, printer: PrinterSpec | None, quantity: int
) -> dict[str, Any]:
    """The slice state, and the firm hours when it was sliced for this printer's profile."""
    if job is None:
        return {"slice_status": None, "firm_print_hours": None}
    result = job["result"]
    firm = None
    # A slice for another printer (before a reassignment) is not this printer's time.
    if result and printer is not None and job["printer"] == printer.profile().name:
        firm = round(int(result["print_seconds"]) * quantity / 3600, 2)
    return {"slice_status": job["status"], "firm_print_hours": firm}
