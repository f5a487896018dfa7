"""Story: which printers can make an order, why the others cannot, and who comes first."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import Conflict
from domain.fleet.eligibility import (
    UNKNOWN_DISTANCE_KM,
    FleetPrinter,
    OrderNeeds,
    rank,
    refusals,
    score,
)
from domain.fleet.printers import PrinterSpec
from domain.orders import Order
from domain.pricing import PartGeometry

BASE: dict[str, Any] = {
    "name": "Line",
    "brand": "Prusa",
    "materials": ["PLA", "PETG"],
    "bed_x_mm": 250,
    "bed_y_mm": 210,
    "bed_z_mm": 210,
    "nozzle_mm": 0.4,
    "wattage_w": 120,
    "print_speed_cm3_hr": 20,
    "printer_pincode": "560001",
}
CUBE = PartGeometry(dim_x_mm=20, dim_y_mm=20, dim_z_mm=20, volume_cm3=8, surface_area_cm2=24)


def _spec(**changes: Any) -> FleetPrinter:
    printer_id = changes.pop("printer_id", "p")
    return FleetPrinter.of(printer_id, PrinterSpec.parse({**BASE, **changes}))


def _needs(**changes: Any) -> OrderNeeds:
    values: dict[str, Any] = {
        "material": "PLA",
        "color": "Black",
        "geometry": CUBE,
        "destination_pincode": "560001",
        "own_hours": 2.0,
        "printer_id": None,
    }
    values.update(changes)
    return OrderNeeds(**values)


def test_a_printer_that_meets_every_need_is_compatible() -> None:
    assert refusals(_needs(), _spec()) == []
    assert refusals(_needs(), _spec(loaded_colors=["black"])) == []  # any case
    assert refusals(_needs(color=""), _spec(loaded_colors=["White"])) == []  # no colour asked


@pytest.mark.parametrize(
    ("changes", "needs", "reason"),
    [
        ({"active": False}, {}, "the printer is inactive"),
        ({"materials": ["PETG"]}, {}, "not set up for PLA (prints PETG)"),
        ({"loaded_colors": ["White", "Red"]}, {}, "Black is not loaded (loaded: White, Red)"),
        ({"bed_x_mm": 10}, {}, "does not fit the bed (10 x 210 x 210 mm)"),
        (
            {"nozzle_mm": 1.0, "layer_height_mm": 0.5},
            {
                "geometry": PartGeometry(
                    dim_x_mm=20, dim_y_mm=20, dim_z_mm=0.5, volume_cm3=0.2, surface_area_cm2=8.4
                )
            },
            "nozzle",
        ),
    ],
)
def test_each_failed_check_is_a_reason(
    changes: dict[str, Any], needs: dict[str, Any], reason: str
) -> None:
    found = refusals(_needs(**needs), _spec(**changes))
    assert len(found) == 1 and reason in found[0], found


def test_a_part_that_fits_only_turned_on_its_side_fits() -> None:
    tall = PartGeometry(dim_x_mm=20, dim_y_mm=20, dim_z_mm=240, volume_cm3=90)
    assert refusals(_needs(geometry=tall), _spec()) == []  # 240 along the 250 mm axis
    assert refusals(_needs(geometry=None), _spec(bed_x_mm=1, bed_y_mm=1, bed_z_mm=1)) == []


def test_every_reason_is_listed_together() -> None:
    found = refusals(_needs(), _spec(active=False, materials=["ABS"], loaded_colors=["Red"]))
    assert len(found) == 3


def test_ranking_puts_compatible_first_then_the_lowest_score() -> None:
    printers = [
        _spec(printer_id="busy-near", name="Busy near"),
        _spec(printer_id="idle-far", name="Idle far", printer_pincode="110001"),
        _spec(printer_id="idle-near", name="Idle near"),
        _spec(printer_id="wrong", name="Wrong", materials=["ABS"]),
        _spec(printer_id="nowhere", name="Nowhere", printer_pincode="999999"),
    ]
    km = {"560001": 0.0, "110001": 1740.0}
    loads = {"busy-near": 20.0, "wrong": 0.0}
    ranked = rank(_needs(), printers, loads, lambda a, b: km.get(b))
    assert [c.printer_id for c in ranked] == [
        "idle-near",  # 0 h + 0 km
        "idle-far",  # 0 h + 17.4
        "busy-near",  # 20 h + 0 km
        "nowhere",  # unknown distance counts as the length of India: 30
        "wrong",  # incompatible: last, whatever its score
    ]
    assert ranked[-1].verdict == "incompatible" and ranked[0].verdict == "compatible"
    assert ranked[1].score == 17.4 and ranked[3].distance_km is None
    assert ranked[3].score == UNKNOWN_DISTANCE_KM / 100
    assert ranked[0].to_dict()["queued_hours"] == 0.0


def test_the_orders_own_hours_leave_its_current_printer() -> None:
    printers = [_spec(printer_id="mine", name="Mine"), _spec(printer_id="other", name="Other")]
    ranked = rank(_needs(printer_id="mine"), printers, {"mine": 5.0}, lambda a, b: 0.0)
    mine = next(c for c in ranked if c.printer_id == "mine")
    assert mine.current and mine.load_hours == 3.0


def test_ties_go_by_name() -> None:
    printers = [_spec(printer_id="b", name="beta"), _spec(printer_id="a", name="Alpha")]
    assert [c.name for c in rank(_needs(), printers, {}, lambda a, b: 0.0)] == ["Alpha", "beta"]
    assert score(1.5, 250.0) == 4.0


def _order(**changes: Any) -> Order:
    details: dict[str, Any] = {
        "customer_id": "c",
        "customer_email": "c@example.com",
        "tracking_number": "FL-1",
        "group_id": None,
        "model": {"dim_x_mm": 20, "dim_y_mm": 20, "dim_z_mm": 20, "volume_cm3": 8},
        "material": "PLA",
        "color": "Black",
        "quantity": 1,
        "infill_pct": 20,
        "fulfillment": "pickup",
        "priority": False,
        "shipping_address": None,
        "customer_notes": "",
        "price": {"print_hours_total": 1.25},
        "settings_version": 1,
        "request_fingerprint": "x",
        "actor": "user:c",
    }
    details.update(changes)
    from uuid import uuid4

    return Order.place(order_id=uuid4(), **details)


def test_an_orders_needs_come_from_its_stream() -> None:
    pickup = OrderNeeds.of(_order(), shop_pincode="560001")
    assert pickup.destination_pincode == "560001" and pickup.own_hours == 1.25
    assert pickup.geometry is not None and pickup.geometry.dim_x_mm == 20
    address = {"name": "A", "address": "1 Road", "city": "Delhi", "zip": "110001"}
    shipped = OrderNeeds.of(
        _order(fulfillment="shipping", shipping_address=address, model={}),
        shop_pincode="560001",
    )
    assert shipped.destination_pincode == "110001" and shipped.geometry is None


def test_assigning_is_an_event_and_the_same_printer_again_is_not() -> None:
    order = _order()
    assert order.assign_printer("p1", actor="admin:a") is True
    assert order.assign_printer("p1", actor="admin:a") is False
    assert order.assign_printer("p2", actor="admin:a") is True
    assert order.assign_printer(None, actor="admin:a") is True
    kinds = [type(e).__name__ for e in order.collect_events()]
    assert kinds == ["Placed", "PrinterAssigned", "PrinterAssigned", "PrinterAssigned"]
    with pytest.raises(Conflict, match="cannot make this order: too small; wrong"):
        order.assign_printer("p3", actor="admin:a", refusals=["too small", "wrong"])
    order.change_status("cancelled", actor="admin:a")
    with pytest.raises(Conflict, match="'cancelled'"):
        order.assign_printer("p1", actor="admin:a")
