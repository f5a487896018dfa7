"""The Payment aggregate's rules: money adds up to the paisa or is flagged, references are
reversible, refunds are recorded once and never exceed what arrived."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.errors import Conflict, InvalidInput
from domain.payments import (
    AWAITING,
    CONFIRMED,
    DUPLICATE,
    EXCESS,
    OVER,
    SHORT,
    SUBMITTED,
    Payment,
    payment_id_for,
    payment_id_of_reference,
    reference_of,
)

ACTOR = "admin:1"


def _payment(amount: int = 10_000, orders: int = 1) -> Payment:
    return Payment.request(
        str(uuid4()),
        [str(uuid4()) for _ in range(orders)],
        customer_id="c1",
        customer_email="c1@example.com",
        amount_paise=amount,
        actor="customer:c1",
    )


def test_a_reference_names_its_payment_and_fits_upi() -> None:
    payment_id = payment_id_for("order-1")
    reference = reference_of(payment_id)
    assert len(reference) == 28 and reference.isalnum() and reference.isupper()
    assert payment_id_of_reference(reference) == payment_id
    assert payment_id_of_reference(reference.lower()) == payment_id
    for other in ("", "FL", "XX" + reference[2:], reference + "A", "FL" + "1" * 26):
        assert payment_id_of_reference(other) is None


def test_exact_money_confirms_and_anything_else_is_flagged() -> None:
    exact = _payment()
    exact.receive(method="upi", reference="412345678901", amount_paise=10_000, actor=ACTOR)
    assert (exact.status, exact.confirmed_by) == (CONFIRMED, ACTOR)

    short = _payment()
    short.receive(method="upi", reference="u1", amount_paise=9_999, actor=ACTOR)
    assert (short.status, short.outstanding_paise) == (SHORT, 1)
    short.receive(method="upi", reference="u2", amount_paise=1, actor=ACTOR)
    assert short.status == CONFIRMED

    over = _payment()
    over.receive(method="upi", reference="u1", amount_paise=10_001, actor=ACTOR)
    assert over.status == OVER
    over.accept_difference(actor=ACTOR)
    assert over.status == CONFIRMED and over.refunds[EXCESS]["amount_paise"] == 1


def test_money_after_confirmation_is_owed_back() -> None:
    payment = _payment()
    payment.receive(method="upi", reference="u1", amount_paise=10_000, actor=ACTOR)
    payment.receive(method="stripe", reference="pi_1", amount_paise=10_000, actor=ACTOR)
    assert payment.refunds[DUPLICATE + "pi_1"]["amount_paise"] == 10_000


def test_bad_amounts_and_methods_are_refused() -> None:
    payment = _payment()
    for amount in (0, -1):
        with pytest.raises(InvalidInput):
            payment.receive(method="upi", reference="u", amount_paise=amount, actor=ACTOR)
    with pytest.raises(InvalidInput):
        payment.receive(method=" ", reference="u", amount_paise=1, actor=ACTOR)
    with pytest.raises(InvalidInput):
        _payment(amount=0)
    with pytest.raises(Conflict):
        payment.accept_difference(actor=ACTOR)  # nothing flagged


def test_a_utr_waits_for_staff_and_a_rejection_reopens_the_payment() -> None:
    payment = _payment()
    payment.submit_utr("412345678901", actor="customer:c1")
    assert payment.status == SUBMITTED
    with pytest.raises(Conflict):
        payment.submit_utr("412345678901", actor="customer:c1")
    payment.reject_utr("not on the statement", actor=ACTOR)
    assert (payment.status, payment.utr) == (AWAITING, None)
    with pytest.raises(Conflict):
        payment.reject_utr("again", actor=ACTOR)


def test_refunds_are_recorded_once_and_never_exceed_what_arrived() -> None:
    payment = _payment(orders=2)
    first, second = payment.order_ids
    assert not payment.refund_due(first, 5_000, "cancelled", actor=ACTOR)  # nothing arrived
    payment.receive(method="upi", reference="u1", amount_paise=10_000, actor=ACTOR)
    assert payment.refund_due(first, 6_000, "cancelled", actor=ACTOR)
    assert not payment.refund_due(first, 6_000, "cancelled", actor=ACTOR)
    assert payment.refund_due(second, 6_000, "cancelled", actor=ACTOR)
    assert payment.refunds[second]["amount_paise"] == 4_000  # only what is left
    with pytest.raises(InvalidInput):
        payment.refund_due(str(uuid4()), 1, "not ours", actor=ACTOR)
    payment.refund_sent(first, "RFND-1", actor=ACTOR)
    with pytest.raises(Conflict):
        payment.refund_sent(first, "RFND-2", actor=ACTOR)


def test_an_invoice_needs_a_confirmed_payment_and_is_issued_once() -> None:
    payment = _payment()
    with pytest.raises(Conflict):
        payment.issue_invoice("FL/26-27/00001", {}, actor=ACTOR)
    payment.receive(method="manual", reference="cash", amount_paise=10_000, actor=ACTOR)
    payment.issue_invoice("FL/26-27/00001", {}, actor=ACTOR)
    with pytest.raises(Conflict):
        payment.issue_invoice("FL/26-27/00002", {}, actor=ACTOR)
