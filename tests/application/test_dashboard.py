"""Story: an admin reads the dashboard: revenue by day, top materials, and it rebuilds exactly.

Runs unchanged on the in-memory store, SQLite files and a real PostgreSQL server. The stats
view folds every command in its own batch here (as a live shop does), then is rebuilt from
the log in one batch: both must be the same rows to the paisa, old float-era events included.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from domain.pricing import PriceBreakdown
from infra.bootstrap import Container
from projections.stats import read_stats
from tests.support.factories import pickup_request
from tests.support.legacy_events import float_era_placed, insert_raw

ADMIN = "admin:asha"


@pytest.fixture
def customer_id(container: Container) -> str:
    user = container.identity.register(
        email="maker@example.com", username="maker", password="correct horse battery"
    )
    return str(user.id)


def _place_float_era_order(container: Container, customer_id: str, template: Any) -> int:
    """An ABS order stored with rupee floats, placed three days ago and paid two days ago."""
    old_price = PriceBreakdown.from_dict(template.price).rupees()
    now = datetime.now(UTC)
    order_id = uuid4()
    placed = float_era_placed(
        template,
        customer_id,
        old_price,
        timestamp=now - timedelta(days=3),
        tracking_number="FL-OLD-0000000000000002",
        material="ABS",
        request_fingerprint="e" * 64,
    )
    ordering = container.ordering
    insert_raw(ordering, order_id, 1, "domain.orders:Order.Placed", placed)
    container.projections["stats"].catch_up()  # the payment folds in a later batch
    paid = {
        "timestamp": now - timedelta(days=2),
        "method": "upi",
        "reference": "UPI-OLD",
        "amount": old_price["total"],
        "actor": ADMIN,
    }
    insert_raw(ordering, order_id, 2, "domain.orders:Order.PaymentConfirmed", paid)
    return PriceBreakdown.from_dict(template.price).to_dict()["total_paise"]


def test_revenue_by_day_and_top_materials_fold_live_and_rebuild_to_the_same_rows(
    container: Container, customer_id: str
) -> None:
    runner, ordering = container.projections["stats"], container.ordering

    def do(command: Any) -> Any:
        result = command()
        runner.catch_up()  # one batch per command, like the live follower
        return result

    pla = [do(lambda: container.checkout.place(pickup_request(customer_id)).order) for _ in "ab"]
    petg = do(
        lambda: (
            container.checkout.place(pickup_request(customer_id, material="PETG", quantity=5)).order
        )
    )
    do(lambda: ordering.confirm_payment(pla[0].id, actor=ADMIN))
    do(lambda: ordering.confirm_payment(petg.id, actor=ADMIN))
    do(lambda: ordering.change_status(pla[1].id, "cancelled", actor=ADMIN))
    old_total = _place_float_era_order(container, customer_id, pla[0])
    runner.catch_up()

    # What the dashboard must say, worked out from the orders' own events.
    ordered: Counter[tuple[str, str]] = Counter()
    paid: Counter[tuple[str, str]] = Counter()
    for order in (*pla, petg):
        for event in ordering.history(order.id):
            day = event.timestamp.astimezone(UTC).date().isoformat()
            if event.type == "Placed":
                ordered[(day, "n")] += 1
                ordered[(day, "p")] += order.price["total_paise"]
            elif event.type == "PaymentConfirmed":
                paid[(day, "n")] += 1
                paid[(day, "p")] += order.price["total_paise"]
    now = datetime.now(UTC)
    ordered[((now - timedelta(days=3)).date().isoformat(), "n")] += 1
    ordered[((now - timedelta(days=3)).date().isoformat(), "p")] += old_total
    paid[((now - timedelta(days=2)).date().isoformat(), "n")] += 1
    paid[((now - timedelta(days=2)).date().isoformat(), "p")] += old_total
    today = max(date.fromisoformat(day) for day, _ in ordered + paid)

    with container.views.reading() as cur:
        stats = read_stats(cur, days=30, today=today)
        narrow = read_stats(cur, days=1, top_materials=1, today=today)

    by_day = stats["revenue_by_day"]
    assert len(by_day) == 30 and by_day[-1]["date"] == today.isoformat()
    assert [d["date"] for d in by_day] == sorted(d["date"] for d in by_day)
    for entry in by_day:
        day = entry["date"]
        assert entry["ordered_orders"] == ordered[(day, "n")]
        assert entry["ordered_total"] == ordered[(day, "p")] / 100
        assert entry["paid_orders"] == paid[(day, "n")]
        assert entry["paid_total"] == paid[(day, "p")] / 100
    assert sum(d["ordered_orders"] for d in by_day) == stats["total_orders"] == 4
    assert sum(d["paid_orders"] for d in by_day) == stats["revenue"]["paid_orders"] == 3

    materials = {m["material"]: m for m in stats["top_materials"]}
    pla_paise = pla[0].price["total_paise"] + pla[1].price["total_paise"]
    assert materials["PLA"] == {
        "material": "PLA",
        "ordered_orders": 2,
        "ordered_total": pla_paise / 100,
        "paid_orders": 1,
        "paid_total": pla[0].price["total_paise"] / 100,
    }
    assert materials["PETG"]["paid_total"] == petg.price["total_paise"] / 100
    assert materials["ABS"]["ordered_total"] == materials["ABS"]["paid_total"] == old_total / 100
    ranked = sorted(materials.values(), key=lambda m: (-m["ordered_total"], m["material"]))
    assert stats["top_materials"] == ranked
    assert narrow["top_materials"] == ranked[:1]
    assert [d["date"] for d in narrow["revenue_by_day"]] == [today.isoformat()]

    with container.views.reading() as cur:
        incremental = list(runner.projection.dump(cur))
    runner.rebuild()
    with container.views.reading() as cur:
        assert list(runner.projection.dump(cur)) == incremental
        assert read_stats(cur, days=30, today=today) == stats
    assert any(row[0] == "d" for row in incremental) and any(row[0] == "m" for row in incremental)
