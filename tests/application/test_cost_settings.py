"""Story: an admin reprices the shop; every order keeps, and can prove, the price it was given.

Runs unchanged on the in-memory store, SQLite files and a real PostgreSQL server.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from uuid import uuid4

import pytest

from api.presenters import staff_order
from application.catalog import CatalogApp
from application.price_preview import PreviewRequest, PricePreview
from domain.errors import InvalidInput
from domain.pricing import PriceBreakdown
from domain.pricing_settings import PRICING_SETTINGS_ID, PricingSettings
from infra.bootstrap import Container
from projections.orders import OrderQuery, list_orders
from projections.stats import read_stats
from tests.support.factories import pickup_request
from tests.support.legacy_events import float_era_placed, insert_raw, version_1_price

ADMIN = "admin:asha"


@pytest.fixture
def customer_id(container: Container) -> str:
    user = container.identity.register(
        email="maker@example.com", username="maker", password="correct horse battery"
    )
    return str(user.id)


def test_an_order_is_repriced_to_the_paisa_from_its_recorded_settings_version(
    container: Container, customer_id: str
) -> None:
    first = container.checkout.place(pickup_request(customer_id)).order
    settings, position = container.catalog.change_cost_settings(
        {"margin_pct": "42.5", "setup_fee": "45.50", "electricity_rate_per_kwh": 9.25}, actor=ADMIN
    )
    second = container.checkout.place(pickup_request(customer_id)).order

    assert position > 0 and settings.version == 2
    assert (first.settings_version, second.settings_version) == (1, 2)
    previewer = PricePreview(container.catalog)
    for placed in (first, second):
        replayed = container.ordering.get_order(placed.id)  # rebuilt from its stored events
        recomputed = previewer.reprice(replayed)
        assert recomputed.to_dict() == replayed.price  # every line, to the paisa
        assert recomputed.settings_version == replayed.settings_version
    assert second.price["total_paise"] > first.price["total_paise"]
    assert second.price["setup_fee_paise"] == 4550 and first.price["setup_fee_paise"] == 3000


def test_an_order_made_on_a_fleet_printer_reprices_to_the_paisa_after_the_material_changes(
    container: Container, customer_id: str
) -> None:
    """The order records the printer and material that priced it, not just the settings."""
    container.print_config.add_printer(
        {
            "name": "Frugal",
            "brand": "Prusa",
            "materials": ["PLA"],
            "bed_x_mm": 250,
            "bed_y_mm": 210,
            "bed_z_mm": 220,
            "nozzle_mm": 0.4,
            "wattage_w": 60,  # half the default's draw: it prints every PLA part now
            "print_speed_cm3_hr": 15,
            "printer_pincode": "110001",
        },
        actor=ADMIN,
    )
    placed = container.checkout.place(pickup_request(customer_id)).order
    assert placed.price["printer"]["name"] == "Frugal"
    pla = next(m for m in container.print_config.materials() if m.material.code == "PLA")
    container.print_config.update_material(pla.id, {"cost_per_kg": "1999.99"}, actor=ADMIN)

    replayed = container.ordering.get_order(placed.id)
    recomputed = PricePreview(container.catalog).reprice(replayed)

    assert recomputed.to_dict() == replayed.price  # every line, to the paisa
    assert replayed.price["material_spec"]["cost_per_kg_paise"] == 120000


def test_every_settings_change_is_a_version_with_its_actor_and_previous_values(
    container: Container,
) -> None:
    catalog = container.catalog
    catalog.change_cost_settings({"gst_pct": 12}, actor=ADMIN)
    _, unchanged = catalog.change_cost_settings({"gst_pct": "12.00"}, actor="admin:ravi")
    catalog.change_cost_settings({"display_printing_share_pct": 75}, actor="admin:ravi")

    versions = catalog.cost_settings_versions()
    assert unchanged == 0  # same values: no version for orders to point at
    assert [(v.settings.version, v.actor) for v in versions] == [
        (1, "system:seed"),
        (2, ADMIN),
        (3, "admin:ravi"),
    ]
    assert versions[1].changes == {"gst_pct": (Decimal(18), Decimal(12))}
    assert versions[2].changes == {"display_printing_share_pct": (Decimal(60), Decimal(75))}
    assert catalog.pricing()[0].gst_pct == 12 and catalog.pricing_at(1)[0].gst_pct == 18
    event = next(iter(catalog.events.get(PRICING_SETTINGS_ID, gt=2)))
    assert event.previous["display_printing_share_pct"] == "60"
    assert event.settings["display_printing_share_pct"] == "75"


def test_invalid_settings_are_refused_naming_the_field_and_record_nothing(
    container: Container,
) -> None:
    catalog = container.catalog
    refusals = {
        "gst_pct": 29,
        "margin_pct": -1,
        "setup_fee": "10.005",
        "display_printing_share_pct": 101,
        "electricity_rate_per_kwh": "NaN",
    }
    for field, value in refusals.items():
        with pytest.raises(InvalidInput, match=field):
            catalog.change_cost_settings({field: value}, actor=ADMIN)
    with pytest.raises(InvalidInput, match="cannot change currency"):
        catalog.change_cost_settings({"currency": "USD"}, actor=ADMIN)
    with pytest.raises(InvalidInput, match="at least one"):
        catalog.change_cost_settings({}, actor=ADMIN)
    with pytest.raises(InvalidInput, match="does not exist"):
        catalog.pricing_at(2)
    assert [v.settings.version for v in catalog.cost_settings_versions()] == [1]


def test_a_preview_prices_against_any_version_and_a_wattage_override(
    container: Container,
) -> None:
    catalog = container.catalog
    catalog.change_cost_settings({"electricity_rate_per_kwh": 20}, actor=ADMIN)
    previewer = PricePreview(catalog)
    request = PreviewRequest(
        material="PLA",
        volume_cm3=8.0,
        quantity=2,
        infill_pct=20,
        fulfillment="shipping",
        priority=True,
    )

    now = previewer.preview(request)
    before = previewer.preview(PreviewRequest(**{**request.__dict__, "settings_version": 1}))
    hungry = previewer.preview(PreviewRequest(**{**request.__dict__, "wattage_w": 1200}))

    assert now.price.settings_version == 2 and before.price.settings_version == 1
    assert now.price.electricity_cost > before.price.electricity_cost
    assert hungry.price.electricity_cost > now.price.electricity_cost and hungry.wattage_w == 1200
    assert now.price.shipping == 0  # quoted separately, never by the cost engine
    assert now.geometry.dim_x_mm == pytest.approx(20.0)  # a cube of the volume
    with pytest.raises(InvalidInput, match="settings_version"):
        previewer.preview(PreviewRequest(**{**request.__dict__, "settings_version": 9}))
    with pytest.raises(InvalidInput, match="volume_cm3"):
        previewer.preview(PreviewRequest(**{**request.__dict__, "volume_cm3": 0}))
    with pytest.raises(InvalidInput, match="does not fit"):
        previewer.preview(PreviewRequest(**{**request.__dict__, "volume_cm3": 30_000}))


# --- events stored before money was exact --------------------------------------------------


def test_orders_stored_with_float_money_load_exact_and_count_exactly(
    container: Container, customer_id: str
) -> None:
    template = container.checkout.place(pickup_request(customer_id)).order
    # Version 1 prices were made before estimates were recorded (the shell model).
    exact = replace(PriceBreakdown.from_dict(template.price), estimate=None)
    old_price = version_1_price(exact)  # version 1 stored exactly this: rupee floats
    assert isinstance(old_price["total"], float) and isinstance(old_price["gst_pct"], float)
    order_id = uuid4()
    placed = float_era_placed(
        template,
        customer_id,
        old_price,
        tracking_number="FL-OLD-0000000000000001",
        request_fingerprint="f" * 64,
    )
    ordering = container.ordering
    insert_raw(ordering, order_id, 1, "domain.orders:Order.Placed", placed)
    paid = {"method": "upi", "reference": "UPI-1", "amount": old_price["total"], "actor": ADMIN}
    insert_raw(ordering, order_id, 2, "domain.orders:Order.PaymentConfirmed", paid)

    order = ordering.get_order(order_id)
    assert order.price == exact.to_dict()  # upcast: integer paise, gst_pct "18"
    assert order.is_paid
    history = ordering.history(order_id)
    assert history[1].data["amount_paise"] == exact.to_dict()["total_paise"]
    assert staff_order(order)["price"]["total"] == old_price["total"]
    assert PricePreview(container.catalog).reprice(order).to_dict() == order.price
    ordering.change_status(order_id, "cancelled", actor=ADMIN)  # new events append as usual

    for runner in container.projections.values():
        if runner.app is ordering:
            runner.catch_up()
    with container.views.reading() as cur:
        rows, _ = list_orders(cur, OrderQuery(q="fl-old"))
        stats = read_stats(cur)
    assert rows[0]["total"] == old_price["total"]
    total_paise = exact.to_dict()["total_paise"]
    assert stats["revenue"]["paid_total"] == total_paise / 100
    assert stats["revenue"]["ordered_total"] == 2 * total_paise / 100


def test_settings_stored_with_floats_load_exact(container: Container) -> None:
    catalog = container.catalog
    insert_raw(
        catalog,
        PRICING_SETTINGS_ID,
        2,
        "domain.pricing_settings:PricingSettings.Changed",
        {
            "settings": {"version": 1, "setup_fee": 45.5, "margin_pct": 32.5, "gst_pct": 18.0},
            "actor": "admin:old",
        },
    )
    elsewhere = uuid4()
    insert_raw(
        catalog,
        elsewhere,
        1,
        "domain.pricing_settings:PricingSettings.Defined",
        {
            "originator_topic": "domain.pricing_settings:PricingSettings",
            "settings": {"setup_fee": 30.1, "electricity_rate_per_kwh": 7.3},
            "printer": {"name": "old"},
            "actor": "system:seed",
        },
    )

    settings, _ = catalog.pricing_at(2)
    assert settings.setup_fee == Decimal("45.50") and settings.margin_pct == Decimal("32.5")
    latest = catalog.cost_settings_versions()[-1]
    assert latest.actor == "admin:old"
    assert latest.changes == {
        "setup_fee": (Decimal("30.00"), Decimal("45.50")),
        "margin_pct": (Decimal(30), Decimal("32.5")),
    }
    old = catalog.repository.get(elsewhere)
    assert isinstance(old, PricingSettings)
    assert old.settings["setup_fee_paise"] == 3010
    assert old.settings["electricity_rate_per_kwh"] == "7.3"


def test_another_process_prices_with_a_change_within_the_recheck_interval(
    container: Container, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    if "memory" in request.node.name:
        pytest.skip("an in-memory store is not shared between processes")
    monkeypatch.setattr("application.catalog.PRICING_RECHECK_SECONDS", 3600.0)
    other = CatalogApp(env=container.settings.event_store_env("catalog"))
    try:
        assert other.pricing()[0].version == 1  # cached in the other process
        container.catalog.change_cost_settings({"margin_pct": 33}, actor=ADMIN)
        assert other.pricing()[0].version == 1  # within the interval: the cache stands
        monkeypatch.setattr("application.catalog.PRICING_RECHECK_SECONDS", 0.0)
        assert other.pricing()[0].margin_pct == 33 and other.pricing()[0].version == 2
    finally:
        other.close()
