"""Stories of payments on every store: UPI with a UTR reconciled by staff, flagged amounts,
manual confirmation, the payment flow confirming a group's orders exactly once (also after a
crash mid-way), refunds of cancelled paid orders, and invoices numbered without gaps."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any
from uuid import UUID

import pytest

from application.cart_checkout import CartCheckout, CartItem, CartRequest
from application.price_preview import PricePreview
from domain.errors import Conflict, InvalidInput
from domain.orders import CANCELLED, CONFIRMED, PENDING, Order
from domain.payments import CONFIRMED as PAID
from domain.payments import OVER, SHORT, SUBMITTED, Payment
from domain.pricing import stored_total_paise
from infra.bootstrap import Container
from projections.payments import PaymentQuery, list_payments
from tests.support.factories import cube_stl, pickup_request

STAFF = "admin:staff-1"
UTR = "412345678901"


def _order(container: Container, customer: str = "cust-1") -> Order:
    return container.checkout.place(pickup_request(customer)).order


ADDRESS = {
    "name": "Asha Maker",
    "phone": "",
    "address": "12 Foundry Lane",
    "city": "Bengaluru",
    "state": "Karnataka",
    "zip": "560001",
}


def _group(
    container: Container,
    parts: int = 3,
    customer: str = "cust-1",
    shipped: bool = False,
    coupon: str | None = None,
) -> list[Order]:
    sessions = [
        container.checkout.upload(customer, cube_stl(10 + 5 * i), f"part{i}.stl").session_id
        for i in range(parts)
    ]
    items = [CartItem("PLA", None, 1 + i, 20, session_id=s) for i, s in enumerate(sessions)]
    request = CartRequest(
        customer_id=customer,
        customer_email="maker@example.com",
        items=items,
        fulfillment="shipping" if shipped else "pickup",
        priority=False,
        shipping_address=ADDRESS if shipped else None,
        notes="",
        coupon_code=coupon,
    )
    return CartCheckout(container.checkout).place(request).orders


def _events(container: Container, stream: UUID) -> list[str]:
    app = container.payments.app if container.payments.app.find(stream, Payment) else None
    store = app or container.ordering
    return [type(e).__name__ for e in store.events.get(stream)]


def _of_type(events: Any, name: str) -> list[Any]:
    return [e for e in events if type(e).__name__ == name]


def _settle_by_flow(container: Container) -> None:
    """What the background flows do, run now."""
    for runner in container.flows.values():
        runner.catch_up()


def test_a_utr_reconciled_for_the_exact_amount_confirms_the_order_once(
    container: Container,
) -> None:
    order = _order(container)
    payment = container.payments.open_for([order], actor="customer:cust-1")
    assert payment.amount_due_paise == stored_total_paise(order.price)
    assert container.payments.open_for([order], actor="customer:cust-1").id == payment.id

    container.payments.submit_utr(payment.id, UTR, customer_id="cust-1")
    assert container.payments.app.get_payment(payment.id).status == SUBMITTED
    container.payments.reconcile_utr(payment.id, payment.amount_due_paise, actor=STAFF)
    _settle_by_flow(container)
    _settle_by_flow(container)  # again: nothing new

    confirmed = container.ordering.get_order(order.id)
    assert (confirmed.status, confirmed.is_paid) == (CONFIRMED, True)
    assert Counter(_events(container, order.id))["PaymentConfirmed"] == 1
    paid = [
        e for e in container.ordering.events.get(order.id) if type(e).__name__ == "PaymentConfirmed"
    ]
    assert paid[0].actor == STAFF and paid[0].reference == payment.reference  # type: ignore[attr-defined]
    final = container.payments.app.get_payment(payment.id)
    assert final.status == PAID and final.invoice_number is not None
    assert _events(container, payment.id).count("InvoiceIssued") == 1


def test_a_short_payment_is_flagged_and_confirms_only_when_the_rest_arrives(
    container: Container,
) -> None:
    order = _order(container)
    payment = container.payments.open_for([order], actor="customer:cust-1")
    container.payments.submit_utr(payment.id, UTR, customer_id="cust-1")
    container.payments.reconcile_utr(payment.id, payment.amount_due_paise - 1, actor=STAFF)
    _settle_by_flow(container)

    flagged = container.payments.app.get_payment(payment.id)
    assert (flagged.status, flagged.outstanding_paise) == (SHORT, 1)
    assert container.ordering.get_order(order.id).status == PENDING
    intent = container.payments.upi_intent(flagged)
    assert intent is None  # no VPA set: the shop takes no UPI yet
    container.payments.shop.change("upi_vpa", "shop@okaxis", actor=STAFF)
    intent = container.payments.upi_intent(flagged)
    assert intent is not None and "am=0.01" in intent.link and flagged.reference in intent.link

    container.payments.submit_utr(payment.id, "412345678902", customer_id="cust-1")
    container.payments.reconcile_utr(payment.id, 1, actor=STAFF)
    _settle_by_flow(container)
    assert container.ordering.get_order(order.id).status == CONFIRMED


def test_an_over_payment_is_flagged_until_staff_accept_it_with_the_excess_due_back(
    container: Container,
) -> None:
    order = _order(container)
    payment = container.payments.open_for([order], actor="customer:cust-1")
    container.payments.submit_utr(payment.id, UTR, customer_id="cust-1")
    container.payments.reconcile_utr(payment.id, payment.amount_due_paise + 500, actor=STAFF)
    _settle_by_flow(container)
    assert container.payments.app.get_payment(payment.id).status == OVER
    assert not container.ordering.get_order(order.id).is_paid

    accepted, _ = container.payments.accept_difference(payment.id, actor=STAFF)
    _settle_by_flow(container)
    assert accepted.refunds["excess"]["amount_paise"] == 500
    assert container.ordering.get_order(order.id).is_paid


def test_a_utr_belongs_to_one_payment_and_must_be_12_digits(container: Container) -> None:
    first = container.payments.open_for([_order(container)], actor="customer:cust-1")
    second = container.payments.open_for([_order(container)], actor="customer:cust-1")
    container.payments.submit_utr(first.id, UTR, customer_id="cust-1")
    with pytest.raises(Conflict, match="another payment"):
        container.payments.submit_utr(second.id, UTR, customer_id="cust-1")
    for bad in ("12345", "41234567890a", "4123456789012"):
        with pytest.raises(InvalidInput, match="12 digits"):
            container.payments.submit_utr(second.id, bad, customer_id="cust-1")
    with pytest.raises(Exception, match="payment not found"):
        container.payments.submit_utr(second.id, "412345678909", customer_id="someone-else")


def test_manual_confirmation_is_a_payment_event_with_its_actor(container: Container) -> None:
    order = _order(container)
    payment, _ = container.payments.confirm_manually(
        order.id, method="cash", reference="counter", actor=STAFF
    )
    container.settlement.settle(payment.id)
    received = [
        e for e in container.payments.app.events.get(payment.id) if type(e).__name__ == "Received"
    ]
    assert received[0].actor == STAFF and received[0].amount_paise == payment.amount_due_paise  # type: ignore[attr-defined]
    assert container.ordering.get_order(order.id).status == CONFIRMED
    with pytest.raises(Conflict, match="already paid"):
        container.payments.confirm_manually(order.id, method="cash", reference="", actor=STAFF)


class _CrashAfter:
    """An ordering app whose confirm_payment fails after `n` calls (a crash mid-way)."""

    def __init__(self, real: Any, n: int) -> None:
        self.real, self.left = real, n

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def confirm_payment(self, *args: Any, **kwargs: Any) -> Any:
        if self.left == 0:
            raise RuntimeError("crash")
        self.left -= 1
        return self.real.confirm_payment(*args, **kwargs)


def test_the_flow_confirms_every_order_of_a_group_exactly_once_even_after_a_crash(
    container: Container,
) -> None:
    orders = _group(container)
    payment = container.payments.open_for(orders, actor="customer:cust-1")
    assert payment.amount_due_paise == sum(stored_total_paise(o.price) for o in orders)
    container.payments.submit_utr(payment.id, UTR, customer_id="cust-1")
    container.payments.reconcile_utr(payment.id, payment.amount_due_paise, actor=STAFF)

    real = container.payments.ordering
    container.payments.ordering = _CrashAfter(real, 1)  # type: ignore[assignment]
    with pytest.raises(RuntimeError):
        container.flows["payment_flow"].catch_up()
    assert [container.ordering.get_order(o.id).is_paid for o in orders] == [True, False, False]
    container.payments.ordering = real
    _settle_by_flow(container)
    _settle_by_flow(container)

    for order in orders:
        assert container.ordering.get_order(order.id).status == CONFIRMED
        assert _events(container, order.id).count("PaymentConfirmed") == 1
    assert _events(container, payment.id).count("InvoiceIssued") == 1


def test_cancelling_a_paid_order_records_its_refund_once(container: Container) -> None:
    orders = _group(container, parts=2)
    payment, _ = container.payments.confirm_manually(
        orders[0].id, method="manual", reference="", actor=STAFF
    )
    _settle_by_flow(container)
    container.ordering.change_status(orders[1].id, CANCELLED, actor=STAFF)
    _settle_by_flow(container)
    _settle_by_flow(container)

    refunds = container.payments.app.get_payment(payment.id).refunds
    assert list(refunds) == [str(orders[1].id)]
    assert refunds[str(orders[1].id)]["amount_paise"] == stored_total_paise(orders[1].price)
    assert _events(container, payment.id).count("RefundDue") == 1
    sent, _ = container.payments.app.change(
        payment.id, lambda p: p.refund_sent(str(orders[1].id), "UPI-REF-77", actor=STAFF)
    )
    assert sent.refunds[str(orders[1].id)]["reference"] == "UPI-REF-77"


def test_twenty_concurrent_confirmations_get_consecutive_invoice_numbers(
    container: Container,
) -> None:
    payments = []
    for i in range(20):
        order = _order(container, customer=f"cust-{i}")
        payment = container.payments.open_for([order], actor="customer")
        container.payments.app.change(
            payment.id,
            lambda p: p.receive(
                method="manual", reference="bench", amount_paise=p.amount_due_paise, actor=STAFF
            ),
        )
        payments.append(payment.id)
    numbers: list[str | None] = []
    errors: list[BaseException] = []
    start = threading.Barrier(20)

    def issue(payment_id: UUID) -> None:
        start.wait()
        try:
            numbers.append(container.invoices.issue(payment_id))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=issue, args=(p,)) for p in payments]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    sequences = sorted(int(str(n).rsplit("/", 1)[-1]) for n in numbers)
    assert sequences == list(range(1, 21))
    stored = {container.payments.app.get_payment(p).invoice_number for p in payments}
    assert stored == set(numbers)


def test_a_groups_events_rederive_its_prices_payment_and_invoice_to_the_paisa(
    container: Container,
) -> None:
    container.coupons.issue("GROUP-7", {"percent_off": 7}, actor=STAFF)
    orders = _group(container, parts=3, shipped=True, coupon="GROUP-7")
    assert [o.price["shipping_paise"] > 0 for o in orders] == [True, False, False]  # one parcel
    assert all(o.price["discount_paise"] > 0 for o in orders)  # the group's discount, shared
    payment, _ = container.payments.confirm_manually(
        orders[0].id, method="manual", reference="", actor=STAFF
    )
    _settle_by_flow(container)

    previewer = PricePreview(container.catalog)
    replayed = [container.ordering.get_order(o.id) for o in orders]  # from stored events
    repriced = previewer.reprice_group(replayed)
    assert [p.to_dict() for p in repriced] == [o.price for o in replayed]
    totals = sum(stored_total_paise(o.price) for o in replayed)
    paid = container.payments.app.get_payment(payment.id)  # from stored events
    assert paid.amount_due_paise == paid.received_paise == totals
    invoice = container.invoices.invoice_of(paid)
    assert invoice.total_paise == totals and invoice.due_paise == 0
    taxes = invoice.cgst_paise + invoice.sgst_paise + invoice.igst_paise
    assert invoice.taxable_paise + taxes == invoice.total_paise
    assert invoice.orders == tuple(o.tracking_number for o in replayed)
    assert not invoice.intra_state and invoice.place_of_supply == "29"  # to Karnataka: IGST
    assert invoice.igst_paise == taxes and [line.hsn for line in invoice.lines][-1] == "9968"
    shipping = invoice.lines[-1]
    assert shipping.taxable_paise + shipping.igst_paise == orders[0].price["shipping_paise"]


def test_the_payments_view_lists_what_staff_work_through_and_rebuilds_the_same(
    container: Container,
) -> None:
    waiting, short, refunded = (_order(container, customer=f"c{i}") for i in range(3))
    for order, utr in ((waiting, "412345678911"), (short, "412345678912")):
        payment = container.payments.open_for([order], actor="customer")
        container.payments.submit_utr(payment.id, utr, customer_id=order.customer_id)
    container.payments.reconcile_utr(
        container.payments.of_order(short, actor=STAFF).id, 100, actor=STAFF
    )
    paid, _ = container.payments.confirm_manually(
        refunded.id, method="manual", reference="", actor=STAFF
    )
    _settle_by_flow(container)
    container.ordering.change_status(refunded.id, CANCELLED, actor=STAFF)
    _settle_by_flow(container)

    runner = container.projections["payments"]
    runner.catch_up()
    with container.views.reading() as cur:
        submitted, _ = list_payments(cur, PaymentQuery(status=SUBMITTED))
        flagged, _ = list_payments(cur, PaymentQuery(status=SHORT))
        due, _ = list_payments(cur, PaymentQuery(refunds_due=True))
        incremental = list(runner.projection.dump(cur))
    assert [p["covers"] for p in submitted] == [str(waiting.id)]
    assert [(p["covers"], p["received_paise"]) for p in flagged] == [(str(short.id), 100)]
    assert [(p["id"], p["refunds_due_paise"]) for p in due] == [
        (str(paid.id), stored_total_paise(refunded.price))
    ]
    assert due[0]["invoice_number"] is not None
    runner.rebuild()
    with container.views.reading() as cur:
        assert list(runner.projection.dump(cur)) == incremental
