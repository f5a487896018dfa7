"""Story: a customer orders a printed cube; staff fulfil it; an admin audits every step.

Runs unchanged on the in-memory store, SQLite files and a real PostgreSQL server.
"""

from __future__ import annotations

import pytest

from domain.errors import Conflict, InvalidInput, NotFound
from domain.orders import STATUSES
from infra.bootstrap import Container
from projections.orders import OrderQuery, list_orders
from projections.stats import read_stats
from tests.support.factories import pickup_request


@pytest.fixture
def customer_id(container: Container) -> str:
    user = container.identity.register(
        email="maker@example.com", username="maker", password="correct horse battery"
    )
    return str(user.id)


def test_an_order_goes_from_checkout_to_delivery_and_every_step_is_audited(
    container: Container, customer_id: str
) -> None:
    placed = container.checkout.place(pickup_request(customer_id))
    order = placed.order
    assert placed.created and order.status == "pending"
    assert order.tracking_number.startswith("FL-") and len(order.tracking_number) == 22
    assert order.model["triangle_count"] == 12 and order.model["volume_cm3"] == pytest.approx(8.0)
    assert order.price["quantity"] == 2 and order.price["total_paise"] > 0
    assert order.settings_version == 1

    ordering, staff = container.ordering, "admin:staff-1"
    ordering.confirm_payment(order.id, actor=staff)
    with pytest.raises(Conflict, match="from 'confirmed' to 'shipped'"):
        ordering.change_status(order.id, "shipped", actor=staff)
    for status in ("printing", "post_processing", "shipped", "delivered"):
        ordering.change_status(order.id, status, actor=staff)
    with pytest.raises(Conflict, match="'delivered'"):
        ordering.change_status(order.id, "cancelled", actor=staff)
    ordering.add_note(order.id, text="left on the front desk", is_internal=True, actor=staff)

    history = ordering.history(order.id)
    assert [e.type for e in history] == [
        "Placed",
        "PaymentConfirmed",
        "StatusChanged",
        "StatusChanged",
        "StatusChanged",
        "StatusChanged",
        "StatusChanged",
        "NoteAdded",
    ]
    assert [e.version for e in history] == list(range(1, 9))
    assert history[0].actor == f"customer:{customer_id}"
    assert {e.actor for e in history[1:]} == {staff}
    assert ordering.order_as_of(order.id, "1").status == "pending"
    assert ordering.order_as_of(order.id, "3").status == "confirmed"
    moment = history[4].timestamp.isoformat()
    assert ordering.order_as_of(order.id, moment).status == "post_processing"


def test_a_retried_checkout_returns_the_first_order(container: Container, customer_id: str) -> None:
    first = container.checkout.place(pickup_request(customer_id, idempotency_key="k-1"))
    again = container.checkout.place(pickup_request(customer_id, idempotency_key="k-1"))
    assert first.created and not again.created
    assert again.order.id == first.order.id
    assert again.order.tracking_number == first.order.tracking_number
    with pytest.raises(Conflict, match="Idempotency-Key"):
        container.checkout.place(pickup_request(customer_id, idempotency_key="k-1", quantity=5))


def test_cancelling_is_allowed_only_before_printing(container: Container, customer_id: str) -> None:
    ordering = container.ordering
    early = container.checkout.place(pickup_request(customer_id)).order
    ordering.change_status(early.id, "cancelled", actor="admin:a")
    late = container.checkout.place(pickup_request(customer_id)).order
    ordering.change_status(late.id, "confirmed", actor="admin:a")
    ordering.change_status(late.id, "printing", actor="admin:a")
    with pytest.raises(Conflict, match="from 'printing' to 'cancelled'"):
        ordering.change_status(late.id, "cancelled", actor="admin:a")
    with pytest.raises(InvalidInput, match="unknown status"):
        ordering.change_status(late.id, "teleported", actor="admin:a")
    with pytest.raises(Conflict, match="cancelled"):
        ordering.confirm_payment(early.id, actor="admin:a")


def test_read_models_follow_the_log_and_a_rebuild_equals_them(
    container: Container, customer_id: str
) -> None:
    orders = [container.checkout.place(pickup_request(customer_id)).order for _ in range(5)]
    container.ordering.confirm_payment(orders[0].id, actor="admin:a")
    container.ordering.change_status(orders[1].id, "cancelled", actor="admin:a")
    container.ordering.set_carrier_tracking(
        orders[0].id, tracking_number="EE123IN", tracking_url=None, shipping_id=None, actor="a"
    )
    for runner in container.projections.values():
        if runner.app is container.ordering:  # "usage" follows the developer log
            assert runner.catch_up() > 0
            assert runner.position() == container.ordering.position()

    with container.views.reading() as cur:
        rows, total = list_orders(cur, OrderQuery(customer_id=customer_id, limit=3))
        stats = read_stats(cur)
        by_tracking, _ = list_orders(cur, OrderQuery(q=orders[2].tracking_number.lower()))
    assert total == 5 and len(rows) == 3
    assert [r["id"] for r in by_tracking] == [str(orders[2].id)]
    counts = {status: n for status, n in stats["orders_by_status"].items() if n}
    assert counts == {"pending": 3, "confirmed": 1, "cancelled": 1}
    assert set(stats["orders_by_status"]) == set(STATUSES)
    assert stats["revenue"]["paid_orders"] == 1
    assert stats["revenue"]["paid_total"] == orders[0].price["total_paise"] / 100

    for runner in container.projections.values():
        runner.catch_up()  # the views of other logs (usage, users) too
        with container.views.reading() as cur:
            incremental = list(runner.projection.dump(cur))
        runner.rebuild()
        with container.views.reading() as cur:
            assert list(runner.projection.dump(cur)) == incremental


def test_unknown_orders_and_sessions_are_not_found(container: Container, customer_id: str) -> None:
    from uuid import uuid4

    with pytest.raises(NotFound):
        container.ordering.get_order(uuid4())
    with pytest.raises(NotFound):
        container.ordering.history(uuid4())
    with pytest.raises(NotFound, match="upload session"):
        container.checkout.place(pickup_request(customer_id, model_bytes=None, session_id="x" * 32))
