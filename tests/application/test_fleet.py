"""Story: staff keep the print config; every change is an event naming its actor; quotes
use the whole fleet.

Runs unchanged on the in-memory store, SQLite files and a real PostgreSQL server.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from application.fleet import QUOTE_MAX_AGE_SECONDS, FleetApp
from application.print_config import PrintConfig
from application.quoting import QuoteRequest
from domain.errors import Conflict, InvalidInput, NotFound
from domain.fleet.printers import DEFAULT_PRINTER_ID
from domain.material_records import material_id_for
from domain.pricing import PartGeometry
from infra.bootstrap import Container
from projections.fleet import OpenOrdersView

ADMIN = "admin:boss"
PRINTER: dict[str, Any] = {
    "name": "Big",
    "brand": "Voron",
    "materials": ["PLA"],
    "bed_x_mm": 350,
    "bed_y_mm": 350,
    "bed_z_mm": 340,
    "nozzle_mm": 0.4,
    "wattage_w": 300,
    "print_speed_cm3_hr": 40,
    "printer_pincode": "110001",
}


def _stored(app: Any, aggregate_id: UUID) -> list[tuple[str, str]]:
    """Each stored event of a stream: its kind and actor."""
    events = app.repository.event_store.get(aggregate_id)
    return [(type(e).__name__, e.actor) for e in events]


def _quote(container: Container, x: float, y: float, z: float, material: str = "PLA") -> Any:
    geometry = PartGeometry(dim_x_mm=x, dim_y_mm=y, dim_z_mm=z, volume_cm3=x * y * z / 4000)
    request = QuoteRequest(
        geometry=geometry,
        material=material,
        color=None,
        quantity=1,
        infill_pct=20,
        priority=False,
        fulfillment="pickup",
        shipping_zip=None,
    )
    return container.quoter.quote(request)


def test_materials_change_by_events_that_name_their_actor(container: Container) -> None:
    config = container.print_config
    entry, _ = config.add_material(
        {
            "code": "asa",
            "display_name": "ASA",
            "density_g_cm3": 1.07,
            "cost_per_kg": "1650.25",
            "colors": ["Black"],
        },
        actor=ADMIN,
    )
    assert entry.material.code == "ASA" and entry.material.cost_per_kg == Decimal("1650.25")
    config.update_material(entry.id, {"cost_per_kg": Decimal("1700")}, actor="moderator:m1")
    config.update_material(entry.id, {"active": False}, actor=ADMIN)
    assert not container.catalog.materials()["ASA"].active
    with pytest.raises(InvalidInput, match="unknown material"):
        container.catalog.material("ASA")
    config.delete_material(entry.id, actor=ADMIN)
    assert "ASA" not in container.catalog.materials()
    with pytest.raises(NotFound):
        config.update_material(entry.id, {"notes": "x"}, actor=ADMIN)
    assert _stored(container.catalog, entry.id) == [
        ("Added", ADMIN),
        ("Updated", "moderator:m1"),
        ("Deactivated", ADMIN),
        ("Deleted", ADMIN),
    ]
    stored = container.catalog.repository.get(entry.id).spec
    assert stored["cost_per_kg_paise"] == 170_000  # exact money in the event


def test_printers_change_by_events_and_their_owners_are_staff(container: Container) -> None:
    moderator = container.identity.register(
        email="floor@example.com",
        username="floor",
        password="correct horse battery",
        role="moderator",
    )
    customer = container.identity.register(
        email="maker@example.com", username="maker", password="correct horse battery"
    )
    config = container.print_config
    printer, _ = config.add_printer({**PRINTER, "owners": [str(moderator.id)]}, actor=ADMIN)
    with pytest.raises(InvalidInput, match="moderators or admins"):
        config.add_printer({**PRINTER, "owners": [str(customer.id)]}, actor=ADMIN)
    with pytest.raises(InvalidInput, match="unknown material"):
        config.add_printer({**PRINTER, "materials": ["WOOD"]}, actor=ADMIN)
    config.update_printer(printer.id, {"loaded_colors": ["Black"]}, actor="moderator:m1")
    config.update_printer(printer.id, {"active": False}, actor=ADMIN)
    config.update_printer(printer.id, {"active": True, "notes": "serviced"}, actor=ADMIN)
    assert _stored(container.fleet, printer.id) == [
        ("Registered", ADMIN),
        ("Updated", "moderator:m1"),
        ("Deactivated", ADMIN),
        ("Updated", ADMIN),
        ("Reactivated", ADMIN),
    ]
    assert [p.id for p in config.printers()] == [printer.id, DEFAULT_PRINTER_ID]


def test_deletes_are_refused_while_something_uses_the_record(container: Container) -> None:
    class Busy:
        def assigned_to(self, printer_id: UUID) -> int:
            return 3

        def in_category(self, category_id: UUID) -> int:
            return 2

    busy = PrintConfig(
        container.catalog,
        container.fleet,
        container.identity,
        OpenOrdersView(container.views),
        assignments=Busy(),
        models=Busy(),
    )
    with pytest.raises(Conflict, match="3 order"):
        busy.delete_printer(DEFAULT_PRINTER_ID, actor=ADMIN)
    category, _ = busy.add_category({"name": "Toys"}, actor=ADMIN)
    with pytest.raises(Conflict, match="2 catalog model"):
        busy.delete_category(category.id, actor=ADMIN)
    with pytest.raises(Conflict, match="Standard FDM 250"):
        busy.delete_material(material_id_for("PLA"), actor=ADMIN)
    # Today's ports answer none, so the same deletes go through (material aside: printers).
    container.print_config.delete_category(category.id, actor=ADMIN)
    container.print_config.delete_printer(DEFAULT_PRINTER_ID, actor=ADMIN)
    container.print_config.delete_material(material_id_for("PLA"), actor=ADMIN)


def test_a_quote_is_made_by_the_fleet_printer_that_can_make_it(container: Container) -> None:
    small = _quote(container, 40, 30, 20)
    with pytest.raises(InvalidInput, match=r"does not fit the build volume \(250 x 210 x 220"):
        _quote(container, 300, 300, 300)
    container.print_config.add_printer(PRINTER, actor=ADMIN)
    big = _quote(container, 300, 300, 300)
    # 300 W at 40 cm3/h prints the big part; the small one stays on the frugal 120 W printer.
    assert big.print_hours_per_unit > 0 and _quote(container, 40, 30, 20) == small
    with pytest.raises(InvalidInput, match=r"does not fit the build volume \(250"):  # PETG: one
        _quote(container, 300, 300, 300, material="PETG")


def test_another_process_sees_a_new_printer_on_its_next_read(container: Container) -> None:
    if container.settings.database_url == "memory://":
        pytest.skip("the in-memory store is private to its process")
    other = FleetApp(env=container.settings.event_store_env("fleet"))
    try:
        assert len(other.active_printers()) == 1
        container.print_config.add_printer(PRINTER, actor=ADMIN)
        # Quotes trust their fleet list for up to a second (QUOTE_MAX_AGE_SECONDS), then read.
        deadline = time.monotonic() + QUOTE_MAX_AGE_SECONDS + 1
        while len(other.active_printers()) == 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sorted(p.name for p, _ in other.active_printers()) == ["Big", "Standard FDM 250"]
        assert sorted(p.current.name for p in other.printers()) == ["Big", "Standard FDM 250"]
    finally:
        other.close()


def test_seeding_twice_keeps_one_default_printer(container: Container) -> None:
    container.fleet.seed_defaults()
    assert [p.id for p in container.fleet.printers()] == [DEFAULT_PRINTER_ID]
    ((profile, pincode),) = container.fleet.active_printers()
    assert (profile.name, pincode) == ("Standard FDM 250", "560001")


def test_a_printer_whose_owner_left_staff_can_still_be_switched_off(container: Container) -> None:
    moderator = container.identity.register(
        email="gone@example.com",
        username="gone",
        password="correct horse battery",
        role="moderator",
    )
    config = container.print_config
    printer, _ = config.add_printer({**PRINTER, "owners": [str(moderator.id)]}, actor=ADMIN)
    container.staff.change_role_by_email("gone@example.com", "user", actor=ADMIN)
    changed, _ = config.update_printer(printer.id, {"active": False}, actor=ADMIN)
    assert not changed.current.active and changed.current.owners == (str(moderator.id),)
    with pytest.raises(InvalidInput, match="owners"):  # but nobody new who is not staff
        config.update_printer(printer.id, {"owners": [str(moderator.id), ADMIN_ID]}, actor=ADMIN)


ADMIN_ID = "00000000-0000-4000-8000-000000000000"
