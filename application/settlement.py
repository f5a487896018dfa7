"""What follows a payment: its orders confirmed, its invoice issued, refunds given back.

Every step is idempotent and decided from the streams themselves (an order already paid is
skipped, an invoice already issued is kept, a refund due is recorded once per order), so the
flows that run these (projections.payment_flow) may run a step again after a crash, or in
two processes at once, and nothing happens twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol
from uuid import UUID

import structlog

from application.payments import PROVIDER_ACTOR, Payments
from domain.errors import Conflict
from domain.orders import CANCELLED, Order
from domain.payments import STRIPE, Payment, payment_id_for
from domain.pricing import stored_total_paise

SYSTEM_ACTOR = "system:payments"
log = structlog.get_logger("fabledger.payments")


class InvoiceIssuer(Protocol):
    """Issues the tax invoice of a confirmed payment (application.invoices)."""

    def issue(self, payment_id: UUID) -> str | None:
        """Allot the invoice number and record it on the payment, once; the number."""
        ...


class Settlement:
    """Carries out what a confirmed payment or a cancelled paid order entails."""

    def __init__(self, payments: Payments, invoices: InvoiceIssuer) -> None:
        self.payments = payments
        self.invoices = invoices

    def settle(self, payment_id: UUID) -> None:
        """Confirm every order a confirmed payment covers, then issue its invoice."""
        payment = self.payments.app.get_payment(payment_id)
        if not payment.is_confirmed:
            return
        for order_id in payment.order_ids:
            self._confirm_order(payment, UUID(order_id))
        self.invoices.issue(payment_id)

    def _confirm_order(self, payment: Payment, order_id: UUID) -> None:
        ordering = self.payments.ordering
        order = ordering.get_order(order_id)
        if order.is_paid:
            return
        if order.status == CANCELLED:  # cancelled while the money was on its way
            self._refund(payment.id, order, "order cancelled before its payment arrived")
            return
        try:
            ordering.confirm_payment(
                order_id,
                actor=payment.confirmed_by or SYSTEM_ACTOR,
                method=payment.method or "manual",
                reference=payment.reference,
            )
        except Conflict:
            # The flow in another thread or process confirmed it first: that is the goal.
            if not ordering.get_order(order_id).is_paid:
                raise

    def order_cancelled(self, order_id: UUID) -> None:
        """A paid order was cancelled: its money is due back to the customer."""
        order = self.payments.ordering.get_order(order_id)
        if order.status != CANCELLED or not order.is_paid:
            return
        covers = order.group_id or str(order.id)
        if self.payments.app.find(payment_id_for(covers), Payment) is None:
            # Paid before payments had streams: open one so the refund has a home.
            self.payments.of_order(order, actor=SYSTEM_ACTOR)
        self._refund(payment_id_for(covers), order, "order cancelled after payment")

    def _refund(self, payment_id: UUID, order: Order, reason: str) -> None:
        amount = stored_total_paise(order.price)
        self.payments.app.change(
            payment_id,
            lambda p: p.refund_due(str(order.id), amount, reason, actor=SYSTEM_ACTOR),
        )

    def send_card_refunds(self, payment_id: UUID) -> None:
        """Give card money back through the provider for every refund due not yet sent."""
        cards = self.payments.cards
        payment = self.payments.app.get_payment(payment_id)
        if cards is None or payment.method != STRIPE or payment.intent_id is None:
            return  # UPI and manual refunds are sent by staff, who record the reference
        for key, refund in payment.refunds.items():
            if refund["reference"] is not None:
                continue
            refund_id = cards.refund(
                intent_id=payment.intent_id,
                amount_paise=refund["amount_paise"],
                idempotency_key=f"refund:{payment.id}:{key}",
            )
            try:
                self.payments.app.change(payment_id, _sent(key, refund_id))
            except Conflict:
                log.info("refund_already_recorded", payment_id=str(payment_id), key=key)


def _sent(key: str, refund_id: str) -> Callable[[Payment], None]:
    """The change recording a refund the provider made."""
    return lambda payment: payment.refund_sent(key, refund_id, actor=PROVIDER_ACTOR)
