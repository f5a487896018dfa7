"""Story: staff put orders on printers; the printer-load view keeps every queue's hours.

Runs unchanged on the in-memory store, SQLite files and a real PostgreSQL server; the view
is folded a few events at a time and then rebuilt in one batch, and both agree.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from domain.errors import Conflict, NotFound
from domain.orders import Order
from infra.bootstrap import Container
from projections.printer_load import printer_utilisation
from tests.support.factories import pickup_request

ADMIN = "admin:boss"
PRINTER: dict[str, Any] = {
    "name": "Line 1",
    "brand": "Prusa",
    "materials": ["PLA"],
    "bed_x_mm": 250,
    "bed_y_mm": 210,
    "bed_z_mm": 210,
    "nozzle_mm": 0.4,
    "wattage_w": 120,
    "print_speed_cm3_hr": 20,
    "printer_pincode": "560001",
}


@pytest.fixture
def customer_id(container: Container) -> str:
    user = container.identity.register(
        email="maker@example.com", username="maker", password="correct horse battery"
    )
    return str(user.id)


def _printer(container: Container, **changes: Any) -> UUID:
    printer, _ = container.print_config.add_printer({**PRINTER, **changes}, actor=ADMIN)
    return UUID(str(printer.id))


def _fold(container: Container) -> list[dict[str, Any]]:
    container.projections["printer_load"].catch_up()
    with container.views.reading() as cur:
        return printer_utilisation(cur)


def _hours(order: Order) -> float:
    return float(order.price["print_hours_total"])


def test_assignments_fill_queues_and_a_rebuild_equals_the_incremental_view(
    container: Container, customer_id: str
) -> None:
    line1, line2 = _printer(container), _printer(container, name="Line 2")
    orders = [container.checkout.place(pickup_request(customer_id)).order for _ in range(4)]
    a, b, c, d = (o.id for o in orders)
    hours = _hours(orders[0])  # the same cube, so the same hours each

    container.assignment.assign(a, line1, actor=ADMIN)
    container.assignment.assign(b, line1, actor=ADMIN)
    assert _fold(container) == [
        {
            "printer_id": str(line1),
            "queued_orders": 2,
            "queued_hours": round(2 * hours, 2),
            "printing_orders": 0,
            "printing_hours": 0.0,
        }
    ]
    container.ordering.confirm_payment(b, actor=ADMIN)
    container.ordering.change_status(b, "printing", actor=ADMIN)
    container.assignment.assign(c, line2, actor=ADMIN)
    container.assignment.assign(a, line2, actor=ADMIN)  # moved: leaves line 1's queue
    container.ordering.change_status(d, "cancelled", actor=ADMIN)
    loads = {row["printer_id"]: row for row in _fold(container)}
    assert loads[str(line1)]["queued_orders"] == 0 and loads[str(line1)]["printing_orders"] == 1
    assert loads[str(line1)]["printing_hours"] == hours
    assert loads[str(line2)]["queued_orders"] == 2

    ours = {str(line1), str(line2)}  # the built-in printer is ranked too
    ranked = [x for x in container.assignment.eligible(d) if x.printer_id in ours]
    assert [x.printer_id for x in ranked] == [str(line1), str(line2)]  # less load first
    assert ranked[0].load_hours == hours and ranked[1].load_hours == round(2 * hours, 2)
    with pytest.raises(Conflict, match="cancelled"):
        container.assignment.assign(d, line1, actor=ADMIN)

    with pytest.raises(Conflict, match="2 order"):
        container.print_config.delete_printer(line2, actor=ADMIN)
    container.assignment.assign(a, None, actor=ADMIN)
    container.assignment.assign(c, None, actor=ADMIN)
    _fold(container)
    container.print_config.delete_printer(line2, actor=ADMIN)
    with pytest.raises(NotFound):
        container.assignment.assign(a, line2, actor=ADMIN)

    runner = container.projections["printer_load"]
    with container.views.reading() as cur:
        incremental = list(runner.projection.dump(cur))
    runner.rebuild()
    with container.views.reading() as cur:
        assert list(runner.projection.dump(cur)) == incremental


def test_one_batch_folds_placement_assignment_and_progress_together(
    container: Container, customer_id: str
) -> None:
    line = _printer(container)
    order = container.checkout.place(pickup_request(customer_id)).order
    container.assignment.assign(order.id, line, actor=ADMIN)
    container.ordering.confirm_payment(order.id, actor=ADMIN)
    container.ordering.change_status(order.id, "printing", actor=ADMIN)
    (row,) = _fold(container)  # every event above in one batch
    assert row["printing_orders"] == 1 and row["queued_orders"] == 0
    assert container.print_config.assignments.assigned_to(line) == 1
    history = [e.type for e in container.ordering.history(order.id)]
    assert history.count("PrinterAssigned") == 1
    _, position = container.assignment.assign(order.id, line, actor=ADMIN)  # no-op
    assert position == container.ordering.position()
    assert [e.type for e in container.ordering.history(order.id)] == history
