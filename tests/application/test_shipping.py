"""Story: staff keep the shop's carriers; every quoting process prices with today's tariff.

Runs unchanged on the in-memory store, SQLite files and a real PostgreSQL server.
"""

from __future__ import annotations

from typing import Any

import pytest

from application.shipping import ShippingApp
from domain.errors import Conflict, InvalidInput, NotFound
from domain.fleet.shipping_partners import DEFAULT_SLUG, partner_id_for
from infra.bootstrap import Container
from infra.pincodes import OfflinePinDirectory

ADMIN = "admin:asha"
FLAT = {
    "name": "Flat Courier",
    "tracking_url_template": "https://t.example.in/{tracking_number}",
    "rate_table": {
        "slabs_g": [1000],
        "step_g": 1000,
        "bands": [{"up_to_km": None, "prices_paise": [10000], "extra_step_paise": 4000}],
    },
}


def to_delhi(app: ShippingApp, method: str | None = None, grams: float = 48.4) -> int:
    return app.shipping_paise(
        fulfillment="shipping",
        weight_g=grams,
        origin_pincode="560001",
        destination_pincode="110001",
        method=method,
    )


def test_speed_post_is_seeded_once_and_prices_bengaluru_to_delhi(container: Container) -> None:
    shipping = container.shipping
    shipping.seed_defaults()  # a second process starting: nothing new

    (speed_post,) = shipping.partners()
    assert speed_post.id == partner_id_for(DEFAULT_SLUG)
    assert len(speed_post.collect_events()) == 0  # read back, not made here
    assert shipping.distance_km("560001", "110001") == pytest.approx(1739.7, abs=0.05)
    # ~148 g parcel, 1001-2000 km: ₹72 + 18 % GST, in paise.
    assert to_delhi(shipping) == 8496
    assert to_delhi(shipping, grams=1400) == 16756  # 1.5 kg: ₹86 + 2 x ₹28 steps, + 18 %


def test_a_partner_is_added_changed_and_removed_with_its_actor(container: Container) -> None:
    shipping = container.shipping
    partner, added_at = shipping.add_partner(dict(FLAT), actor=ADMIN)
    assert to_delhi(shipping, "flat_courier") == 11800
    assert to_delhi(shipping, str(partner.id)) == 11800

    changed: dict[str, Any] = {**FLAT, "active": False}
    _, changed_at = shipping.update_partner(partner.id, changed, actor="admin:ravi")
    assert changed_at > added_at
    with pytest.raises(InvalidInput, match="not available"):
        to_delhi(shipping, "flat_courier")

    shipping.remove_partner(partner.id, actor=ADMIN)
    with pytest.raises(NotFound):
        shipping.partner(partner.id)
    with pytest.raises(InvalidInput, match="choose one of india_post"):
        to_delhi(shipping, "flat_courier")

    stored = list(shipping.events.get(partner.id))  # type: ignore[attr-defined]
    assert [type(e).__name__ for e in stored] == ["Registered", "Updated", "Removed"]
    assert [e.actor for e in stored] == [ADMIN, "admin:ravi", ADMIN]
    assert stored[1].previous["active"] is True


def test_a_slug_is_unique(container: Container) -> None:
    container.shipping.add_partner(dict(FLAT), actor=ADMIN)
    with pytest.raises(Conflict, match="flat_courier"):
        container.shipping.add_partner({**FLAT, "name": "FLAT courier"}, actor=ADMIN)


def test_another_process_sees_a_change_at_once(container: Container) -> None:
    if container.settings.database_url == "memory://":
        pytest.skip("an in-memory store is not shared between processes")
    other = ShippingApp(OfflinePinDirectory(), env=container.settings.event_store_env("shipping"))
    try:
        assert to_delhi(other) == 8496  # warms its partner cache
        partner, _ = container.shipping.add_partner(dict(FLAT), actor=ADMIN)
        assert to_delhi(other, "flat_courier") == 11800
        container.shipping.update_partner(partner.id, {**FLAT, "active": False}, actor=ADMIN)
        with pytest.raises(InvalidInput, match="not available"):
            to_delhi(other, "flat_courier")
    finally:
        other.close()
