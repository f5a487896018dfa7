"""Events written exactly as an older release stored them (float money, no class_version)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from domain.orders import Order
from domain.pricing import PriceBreakdown


def insert_raw(app: Any, originator_id: UUID, version: int, topic: str, state: dict) -> None:
    """Store one event's state as given (timestamped now unless it says otherwise)."""
    encoded = app.mapper.transcoder.encode({"timestamp": datetime.now(UTC), **state})
    app.recorder.insert_events([StoredEvent(originator_id, version, topic, encoded)])


# Price lines added after version 1: a float-era breakdown never had them.
LATER_PRICE_KEYS = ("discount", "coupon", "coupon_code", "catalog_unit_price", "estimate")


def version_1_price(breakdown: PriceBreakdown) -> dict[str, Any]:
    """The breakdown as Order.Placed version 1 stored it: the API form of that release
    (rupee floats, gst_pct a float), without the lines added since."""
    return {k: v for k, v in breakdown.rupees().items() if k not in LATER_PRICE_KEYS}


def float_era_placed(
    template: Order, customer_id: str, old_price: dict[str, Any], **changes: Any
) -> dict[str, Any]:
    """An Order.Placed state of version 1 (rupee floats), modelled on a placed order."""
    return {
        "originator_topic": "domain.orders:Order",
        "customer_id": customer_id,
        "customer_email": "maker@example.com",
        "group_id": None,
        "model": template.model,
        "material": "PLA",
        "color": template.color,
        "quantity": 2,
        "infill_pct": 20,
        "fulfillment": "pickup",
        "priority": False,
        "shipping_address": None,
        "customer_notes": "",
        "price": old_price,
        "settings_version": 1,
        "actor": f"customer:{customer_id}",
        **changes,
    }
