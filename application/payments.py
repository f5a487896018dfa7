"""Payment use cases: open a payment for an order or group, take UPI and card money, refund.

Payments have their own log ("payments"). Confirming the orders a payment covers happens
after its Confirmed event is saved, in `Settlement` (application.settlement), which the
payment flow (projections.payment_flow) runs for every Confirmed event exactly once in
effect: each step is idempotent, so a crash mid-way is finished by the next run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from uuid import UUID

from application.base import FabApplication
from application.cart_checkout import order_id_in_group
from application.ordering import OrderingApp
from application.ports import CardIntent, CardPayments, ProviderEvent, QrImages
from application.shop import ShopApp
from domain.cart_pricing import MAX_CART_ITEMS
from domain.errors import Conflict, NotFound
from domain.orders import CANCELLED, Order
from domain.payments import (
    FLAGGED,
    MANUAL,
    STRIPE,
    UPI,
    Payment,
    ProviderEventHandled,
    UtrClaim,
    payment_id_for,
    payment_id_of_reference,
    provider_event_id,
    utr_claim_id,
)
from domain.pricing import stored_total_paise
from domain.upi import upi_link, validate_utr

SAVE_RETRIES = 20  # a payment races its webhook, staff and the flow: reload and decide again
PROVIDER_ACTOR = "system:stripe"  # who records what the provider reports


class PaymentsApp(FabApplication):
    """Payments, UTR claims, handled webhook events and invoice series: one log."""

    name = "payments"

    def get_payment(self, payment_id: UUID) -> Payment:
        """The payment, or NotFound."""
        payment = self.find(payment_id, Payment)
        if payment is None:
            raise NotFound("payment not found")
        return payment

    def change(self, payment_id: UUID, change: Callable[[Payment], object]) -> tuple[Payment, int]:
        """Apply `change` to the payment as stored now and save (reloading on a lost race);
        a change that records nothing answers the log's head."""
        payment, position = self.update(
            lambda: self.get_payment(payment_id), change, busy="the payment is busy; retry"
        )
        return payment, self.position() if position is None else position


@dataclass(frozen=True)
class UpiIntent:
    """What a UPI app needs to pay: the link (also drawn as the QR) and its parts."""

    link: str
    vpa: str
    payee_name: str
    amount_paise: int
    reference: str


class Payments:
    """Opens payments and records money as it arrives from UPI, cards and staff."""

    def __init__(
        self,
        app: PaymentsApp,
        ordering: OrderingApp,
        shop: ShopApp,
        qr: QrImages,
        cards: CardPayments | None = None,
    ) -> None:
        self.app = app
        self.ordering = ordering
        self.shop = shop
        self.qr = qr
        self.cards = cards

    # --- opening ------------------------------------------------------------------

    def open_for(self, orders: Sequence[Order], *, actor: str) -> Payment:
        """The payment of these orders (one order, or every order of one group), opened once."""
        first = orders[0]
        covers = first.group_id or str(first.id)
        existing = self.app.find(payment_id_for(covers), Payment)
        if existing is not None:
            return existing
        payment = Payment.request(
            covers,
            [str(o.id) for o in orders],
            customer_id=first.customer_id,
            customer_email=first.customer_email,
            amount_paise=sum(stored_total_paise(o.price) for o in orders),
            actor=actor,
        )
        try:
            self.app.save_new(payment)
        except Conflict:  # opened meanwhile by a retry or the flow
            return self.app.get_payment(payment.id)
        return payment

    def of_order(self, order: Order, *, actor: str) -> Payment:
        """The payment covering an order, opened now for orders older than payments."""
        covers = order.group_id or str(order.id)
        payment = self.app.find(payment_id_for(covers), Payment)
        if payment is not None:
            return payment
        siblings = [order] if order.group_id is None else self._group(order.group_id)
        return self.open_for(siblings, actor=actor)

    def _group(self, group_id: str) -> list[Order]:
        """The orders of a group: their ids follow from the group's, item by item."""
        orders = []
        for index in range(MAX_CART_ITEMS):
            order = self.ordering.find(order_id_in_group(UUID(group_id), index), Order)
            if order is None:
                break
            orders.append(order)
        if not orders:
            raise NotFound("order group not found")
        return orders

    def customers_payment(self, payment_id: UUID, customer_id: str) -> Payment:
        """The caller's own payment; another customer's is not found."""
        payment = self.app.find(payment_id, Payment)
        if payment is None or payment.customer_id != customer_id:
            raise NotFound("payment not found")
        return payment

    # --- UPI ----------------------------------------------------------------------

    def upi_intent(self, payment: Payment) -> UpiIntent | None:
        """The UPI link for what is outstanding; None when the shop has no VPA set."""
        vpa = self.shop.value("upi_vpa")
        if not vpa or payment.outstanding_paise == 0:
            return None
        payee = str(self.shop.value("upi_payee_name"))
        link = upi_link(
            vpa=vpa,
            payee_name=payee,
            amount_paise=payment.outstanding_paise,
            reference=payment.reference,
            note=f"Order {payment.reference[-8:]}",
        )
        return UpiIntent(link, vpa, payee, payment.outstanding_paise, payment.reference)

    def upi_qr(self, payment: Payment, kind: str) -> bytes | str:
        """The UPI link as a QR code, PNG bytes or SVG text; 409 when there is nothing to pay."""
        intent = self.upi_intent(payment)
        if intent is None:
            raise Conflict("nothing to pay by UPI (paid already, or the shop takes no UPI)")
        return self.qr.png(intent.link) if kind == "png" else self.qr.svg(intent.link)

    def submit_utr(self, payment_id: UUID, utr: str, *, customer_id: str) -> tuple[Payment, int]:
        """The payer's UPI reference, claimed for this payment only, for staff to reconcile."""
        utr = validate_utr(utr)
        actor = f"customer:{customer_id}"

        def submit(payment: Payment) -> list[UtrClaim]:
            claim = self.app.find(utr_claim_id(utr), UtrClaim)
            if claim is not None and claim.payment_id != str(payment.id):
                raise Conflict("this UTR was already submitted for another payment")
            payment.submit_utr(utr, actor=actor)
            return [UtrClaim.claim(utr, payment.id, actor=actor)] if claim is None else []

        payment, position = self.app.update(
            lambda: self.customers_payment(payment_id, customer_id),
            submit,
            busy="the payment is busy; retry",
        )
        return payment, position or self.app.position()

    def reconcile_utr(
        self, payment_id: UUID, amount_paise: int, *, actor: str
    ) -> tuple[Payment, int]:
        """Staff found the UTR's transfer on the statement, for this amount."""

        def receive(payment: Payment) -> None:
            if payment.utr is None:
                raise Conflict(f"no UTR is waiting to be checked (payment is '{payment.status}')")
            payment.receive(
                method=UPI, reference=payment.utr, amount_paise=amount_paise, actor=actor
            )

        return self.app.change(payment_id, receive)

    def reject_utr(self, payment_id: UUID, reason: str, *, actor: str) -> tuple[Payment, int]:
        """Staff found no such transfer."""
        return self.app.change(payment_id, lambda p: p.reject_utr(reason, actor=actor))

    def accept_difference(self, payment_id: UUID, *, actor: str) -> tuple[Payment, int]:
        """Staff accept a flagged payment; an excess is recorded as a refund due."""
        return self.app.change(payment_id, lambda p: p.accept_difference(actor=actor))

    def confirm_manually(
        self, order_id: UUID, *, method: str, reference: str, actor: str
    ) -> tuple[Payment, int]:
        """Staff confirm by hand that what is outstanding on the order's payment arrived."""
        order = self.ordering.get_order(order_id)
        if order.is_paid:
            raise Conflict("order is already paid")
        if order.status == CANCELLED:
            raise Conflict("cannot take payment for an order in state 'cancelled'")
        payment = self.of_order(order, actor=actor)

        def receive(payment: Payment) -> None:
            if payment.is_confirmed:
                raise Conflict("order is already paid")
            if payment.status in FLAGGED:  # the money is in; staff accept what arrived
                payment.accept_difference(actor=actor)
                return
            payment.receive(
                method=method.strip() or MANUAL,
                reference=reference.strip() or f"confirmed by {actor}",
                amount_paise=payment.outstanding_paise,
                actor=actor,
            )

        return self.app.change(payment.id, receive)

    # --- cards ---------------------------------------------------------------------

    def start_card(self, payment_id: UUID, *, customer_id: str) -> tuple[CardIntent, int]:
        """A card payment intent for what is outstanding (the same one again while open)."""
        if self.cards is None:
            raise NotFound("card payments are not configured on this shop")
        payment = self.customers_payment(payment_id, customer_id)
        if payment.is_confirmed or payment.outstanding_paise == 0:
            raise Conflict("payment is already confirmed")
        if payment.intent_id is not None:
            intent = self.cards.intent(payment.intent_id)
            if intent.status not in ("succeeded", "canceled"):
                return intent, self.app.position()
        intent = self.cards.create_intent(
            amount_paise=payment.outstanding_paise,
            reference=payment.reference,
            description=f"fabledger payment {payment.reference}",
            idempotency_key=f"{payment.id}:{payment.version}",
        )
        actor = f"customer:{customer_id}"
        _, position = self.app.change(
            payment_id, lambda p: p.open_card_intent(intent.intent_id, actor=actor)
        )
        return intent, position

    def handle_card_event(self, event: ProviderEvent) -> bool:
        """Act on a verified webhook event once; False when it was handled before."""
        record_id = provider_event_id(STRIPE, event.event_id)
        for attempt in range(SAVE_RETRIES):
            if self.app.find(record_id, ProviderEventHandled) is not None:
                return False
            payment_id = payment_id_of_reference(event.reference or "")
            payment = None if payment_id is None else self.app.find(payment_id, Payment)
            changed = payment is not None and _apply_card_event(payment, event)
            record = ProviderEventHandled.record(
                STRIPE, event.event_id, event.type, payment.id if payment else None
            )
            try:
                self.app.save_new(record, *([payment] if changed and payment else []))
                return True
            except Conflict:
                time.sleep(0.001 * attempt)
        raise Conflict("the payment is busy; the provider will retry")


def _apply_card_event(payment: Payment, event: ProviderEvent) -> bool:
    """Change the payment as the provider's event says; False when it changes nothing."""
    if event.type == "payment_intent.succeeded" and event.amount_paise:
        payment.receive(
            method=STRIPE,
            reference=event.intent_id or "",
            amount_paise=event.amount_paise,
            actor=PROVIDER_ACTOR,
        )
        return True
    if event.type == "payment_intent.payment_failed":
        payment.card_failed(
            event.intent_id or "", event.failure or "declined", actor=PROVIDER_ACTOR
        )
        return True
    return False
