"""Story: a redemption loses a version race, reloads and decides again; the usage view is
rebuilt from the log exactly. On the in-memory store, SQLite files and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from application.coupons import Coupons
from domain.coupons import Coupon, coupon_id_for
from domain.errors import InvalidInput
from domain.orders import Order
from domain.pricing import PriceBreakdown
from infra.bootstrap import Container
from projections.coupons import COLUMNS
from tests.support.factories import order_builder, pickup_request

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


@pytest.fixture
def customer_id(container: Container) -> str:
    user = container.identity.register(
        email="maker@example.com", username="maker", password="correct horse battery"
    )
    return str(user.id)


def price_of(container: Container, customer_id: str) -> PriceBreakdown:
    """The price of a placed order without a coupon (its stored breakdown)."""
    order = container.checkout.place(pickup_request(customer_id)).order
    return PriceBreakdown.from_dict(order.price)


def builder(customer_id: str, order_id: UUID) -> Callable[[PriceBreakdown], Order]:
    """A customer's pickup order, priced at save."""
    return order_builder(
        order_id,
        customer_id,
        email="maker@example.com",
        tracking_number=f"FL-{order_id.hex[:8]}",
        model={},
        actor=f"customer:{customer_id}",
        fingerprint="test",
    )


def racing(container: Container, price: PriceBreakdown, code: str) -> Coupons:
    """Coupons as another process would run them, whose clock lets a rival redeem first.

    The clock is read after the coupon is loaded and before the save: the rival's use lands
    in between, so the first save loses the version race.
    """
    rival = Coupons(container.ordering, clock=lambda: NOW)  # no lock shared with `racer`
    raced: list[UUID] = []

    def clock() -> datetime:
        if not raced:
            raced.append(uuid4())
            placed = rival.redeem_with(
                price,
                code,
                customer_id="rival",
                order_id=raced[0],
                build=builder("rival", raced[0]),
            )
            assert placed is not None
        return NOW

    return Coupons(container.ordering, clock=clock)


def test_a_lost_race_reloads_and_redeems_when_a_use_is_left(
    container: Container, customer_id: str
) -> None:
    price = price_of(container, customer_id)
    container.coupons.issue("RACE-2", {"percent_off": 10, "max_uses": 2}, actor="admin:1")
    racer = racing(container, price, "RACE-2")
    order_id = uuid4()

    placed = racer.redeem_with(
        price,
        "race-2",
        customer_id=customer_id,
        order_id=order_id,
        build=builder(customer_id, order_id),
    )

    assert placed is not None and racer.conflicts == 1
    coupon = container.ordering.find(coupon_id_for("RACE-2"), Coupon)
    assert coupon is not None and coupon.uses == 2
    assert str(order_id) in coupon.redemptions
    assert container.ordering.get_order(order_id).price["coupon"]["code"] == "RACE-2"


def test_a_lost_race_for_the_last_use_is_refused_as_used_up_and_places_nothing(
    container: Container, customer_id: str
) -> None:
    price = price_of(container, customer_id)
    container.coupons.issue("RACE-1", {"percent_off": 10, "max_uses": 1}, actor="admin:1")
    racer = racing(container, price, "RACE-1")
    order_id = uuid4()

    with pytest.raises(InvalidInput, match="is used up"):
        racer.redeem_with(
            price,
            "RACE-1",
            customer_id=customer_id,
            order_id=order_id,
            build=builder(customer_id, order_id),
        )

    assert racer.conflicts == 1
    assert container.ordering.find(order_id, Order) is None
    coupon = container.ordering.find(coupon_id_for("RACE-1"), Coupon)
    assert coupon is not None and coupon.uses == 1


def test_the_usage_view_is_rebuilt_from_the_log_exactly(
    container: Container, customer_id: str
) -> None:
    coupons = container.coupons
    kept, _ = coupons.issue("KEEP", {"amount_off": 12.5, "max_uses_per_customer": None}, actor="a")
    gone, _ = coupons.issue("GONE", {"percent_off": 5}, actor="a")
    placed = [
        container.checkout.place(pickup_request(customer_id, coupon_code=code)).order
        for code in ("KEEP", "KEEP", "GONE")
    ]
    container.ordering.change_status(placed[0].id, "cancelled", actor="admin:1")
    coupons.change(kept.id, {"min_order_value": 1}, actor="a")
    coupons.withdraw(gone.id, actor="a")
    runner = container.projections["coupons"]
    runner.catch_up()
    with container.views.reading() as cur:
        live = list(runner.projection.dump(cur))
    runner.rebuild()
    with container.views.reading() as cur:
        assert list(runner.projection.dump(cur)) == live
    by_code = {row[1]: row for row in live if len(row) == len(COLUMNS)}
    assert by_code["KEEP"][COLUMNS.index("uses")] == 1
    assert by_code["KEEP"][COLUMNS.index("discount_paise")] == 12_50
    assert by_code["GONE"][COLUMNS.index("deleted")]
