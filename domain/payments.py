"""The Payment aggregate: one stream per single order or group, from request to refund.

Money received is recorded as it arrives (`Received`) and adds up: the payment is confirmed
when the sum equals what is due, to the paisa. Anything else is flagged (short or over) for
staff, who may accept it; nothing is silently taken as paid.
"""

from __future__ import annotations

from base64 import b32decode, b32encode
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, InvalidInput

AWAITING = "awaiting"  # nothing received yet
SUBMITTED = "submitted"  # the payer sent a UPI reference (UTR): staff reconcile it
SHORT = "short"  # flagged: less than due was received
OVER = "over"  # flagged: more than due was received
CONFIRMED = "confirmed"
STATUSES = (AWAITING, SUBMITTED, SHORT, OVER, CONFIRMED)
FLAGGED = (SHORT, OVER)

# How money came: upi and stripe by their flows; staff confirming by hand name what they saw
# (manual by default, or e.g. upi, cash, bank transfer).
UPI, STRIPE, MANUAL = "upi", "stripe", "manual"
MAX_METHOD = 40
# Refunds are keyed by the order they give back, or by what else the money was:
EXCESS = "excess"  # more than due, accepted by staff
DUPLICATE = "duplicate:"  # + the receipt's reference: money that came after confirmation
_REFERENCE_PREFIX = "FL"


def payment_id_for(covers: str) -> UUID:
    """The payment stream of an order or a group (one payment each)."""
    return uuid5(NAMESPACE_URL, f"fabledger:payment:{covers}")


def reference_of(payment_id: UUID) -> str:
    """The payment's reference (UPI `tr`, Stripe metadata): the id in base32, 28 characters.

    Reversible, so a reference from a bank statement or a webhook finds its stream without
    an index; within UPI's 35-character limit and of letters and digits only.
    """
    return _REFERENCE_PREFIX + b32encode(payment_id.bytes).decode().rstrip("=")


def payment_id_of_reference(reference: str) -> UUID | None:
    """The payment a reference names, or None when it is not one of ours."""
    text = reference.strip().upper()
    if not text.startswith(_REFERENCE_PREFIX) or len(text) != 28:
        return None
    try:
        return UUID(bytes=b32decode(text[2:] + "======"))
    except ValueError:
        return None


def utr_claim_id(utr: str) -> UUID:
    """The claim stream that keeps one UTR to one payment."""
    return uuid5(NAMESPACE_URL, f"fabledger:utr:{utr}")


def provider_event_id(provider: str, event_id: str) -> UUID:
    """The stream that records a provider's webhook event as handled (exactly once)."""
    return uuid5(NAMESPACE_URL, f"fabledger:provider-event:{provider}:{event_id}")


class Payment(Aggregate):
    """What a customer owes for an order or a group, and every rupee that moved."""

    class Requested(Aggregate.Created):
        """A payment was opened for these orders at this amount (integer paise)."""

        covers: str
        order_ids: list[str]
        customer_id: str
        customer_email: str  # where payment, invoice and refund mails go
        amount_due_paise: int
        actor: str

    @event(Requested)
    def __init__(
        self,
        *,
        id: UUID,
        covers: str,
        order_ids: list[str],
        customer_id: str,
        customer_email: str,
        amount_due_paise: int,
        actor: str,
    ) -> None:
        self.covers = covers
        self.order_ids = list(order_ids)
        self.customer_id = customer_id
        self.customer_email = customer_email
        self.amount_due_paise = amount_due_paise
        self.received_paise = 0
        self.status = AWAITING
        self.utr: str | None = None
        self.intent_id: str | None = None
        self.method: str | None = None
        self.invoice_number: str | None = None
        self.confirmed_by: str | None = None  # the actor whose receipt or decision confirmed it
        self.refunds: dict[str, dict[str, Any]] = {}  # order id -> amount, sent reference

    @classmethod
    def request(
        cls,
        covers: str,
        order_ids: list[str],
        *,
        customer_id: str,
        customer_email: str,
        amount_paise: int,
        actor: str,
    ) -> Payment:
        """Open the payment of an order (`covers` its id) or a group (the group id)."""
        if amount_paise <= 0:
            raise InvalidInput("a payment must be for a positive amount")
        if not order_ids:
            raise InvalidInput("a payment covers at least one order")
        return cls(
            id=payment_id_for(covers),
            covers=covers,
            order_ids=order_ids,
            customer_id=customer_id,
            customer_email=customer_email,
            amount_due_paise=amount_paise,
            actor=actor,
        )

    @property
    def reference(self) -> str:
        """What the payer quotes: in the UPI link, on the invoice, in Stripe's metadata."""
        return reference_of(self.id)

    @property
    def outstanding_paise(self) -> int:
        """What is still to pay (0 once enough arrived)."""
        return max(self.amount_due_paise - self.received_paise, 0)

    @property
    def is_confirmed(self) -> bool:
        """Whether the orders may go to production."""
        return self.status == CONFIRMED

    # --- commands -----------------------------------------------------------------

    def submit_utr(self, utr: str, *, actor: str) -> None:
        """The payer says they paid by UPI with this reference; staff check the statement."""
        self._refuse_when_settled()
        if self.utr == utr and self.status == SUBMITTED:
            raise Conflict("this UTR is already waiting for the shop to check it")
        self._utr_submitted(utr=utr, actor=actor)

    def reject_utr(self, reason: str, *, actor: str) -> None:
        """Staff found no such transfer: the payer may send another UTR."""
        if self.status != SUBMITTED or self.utr is None:
            raise Conflict(f"no UTR is waiting to be checked (payment is '{self.status}')")
        if not reason.strip():
            raise InvalidInput("reason must not be empty")
        self._utr_rejected(utr=self.utr, reason=reason.strip(), actor=actor)

    def open_card_intent(self, intent_id: str, *, actor: str) -> None:
        """A card payment was opened at the provider for what is outstanding."""
        self._refuse_when_settled()
        self._card_intent_opened(intent_id=intent_id, actor=actor)

    def card_failed(self, intent_id: str, reason: str, *, actor: str) -> None:
        """The provider says a card attempt failed; the payment stays open."""
        self._card_failed(intent_id=intent_id, reason=reason[:500], actor=actor)

    def receive(self, *, method: str, reference: str, amount_paise: int, actor: str) -> None:
        """Money arrived; confirmed when the total received equals what is due, else flagged."""
        if not method.strip() or len(method) > MAX_METHOD:
            raise InvalidInput(f"method must be 1-{MAX_METHOD} characters (e.g. upi, stripe)")
        if amount_paise <= 0:
            raise InvalidInput("amount must be positive")
        if self.status == CONFIRMED:
            # Paid twice (e.g. by UPI and by card): the second payment is owed back.
            self._received(
                method=method, reference=reference, amount_paise=amount_paise, actor=actor
            )
            self.refund_due(DUPLICATE + reference, amount_paise, "paid twice", actor=actor)
            return
        self._received(method=method, reference=reference, amount_paise=amount_paise, actor=actor)
        difference = self.received_paise - self.amount_due_paise
        if difference == 0:
            self._confirmed(method=method, amount_paise=self.received_paise, actor=actor)
        else:
            self._flagged(difference_paise=difference, actor=actor)

    def accept_difference(self, *, actor: str) -> None:
        """Staff accept a flagged amount: the orders go ahead; an excess becomes a refund due."""
        if self.status not in FLAGGED:
            raise Conflict(f"only a flagged payment can be accepted (payment is '{self.status}')")
        method = self.method or MANUAL
        excess = self.received_paise - self.amount_due_paise
        self._confirmed(method=method, amount_paise=self.received_paise, actor=actor)
        if excess > 0:
            self.refund_due(EXCESS, excess, "paid more than due", actor=actor)

    def issue_invoice(self, number: str, details: dict[str, Any], *, actor: str) -> None:
        """Record the tax invoice of a confirmed payment: its number and what it states."""
        if not self.is_confirmed:
            raise Conflict("an invoice is issued once the payment is confirmed")
        if self.invoice_number is not None:
            raise Conflict(f"invoice {self.invoice_number} was already issued")
        self._invoice_issued(number=number, details=details, actor=actor)

    def refund_due(self, order_id: str, amount_paise: int, reason: str, *, actor: str) -> bool:
        """Record that money goes back (an order's, an excess, a duplicate payment's); False
        when it was recorded already or nothing received is left to give back."""
        if order_id in self.refunds:
            return False
        known = order_id in self.order_ids or order_id == EXCESS
        if not known and not order_id.startswith(DUPLICATE):
            raise InvalidInput("the order is not covered by this payment")
        refunded = sum(r["amount_paise"] for r in self.refunds.values())
        amount = min(amount_paise, self.received_paise - refunded)
        if amount <= 0:
            return False
        self._refund_due(order_id=order_id, amount_paise=amount, reason=reason, actor=actor)
        return True

    def refund_sent(self, order_id: str, reference: str, *, actor: str) -> None:
        """The refund went out (a provider's refund id or a bank transfer's reference)."""
        refund = self.refunds.get(order_id)
        if refund is None:
            raise Conflict("no refund is due for this order")
        if refund["reference"] is not None:
            raise Conflict(f"the refund was already sent ({refund['reference']})")
        if not reference.strip():
            raise InvalidInput("reference must not be empty")
        self._refund_sent(order_id=order_id, reference=reference.strip(), actor=actor)

    def _refuse_when_settled(self) -> None:
        if self.status == CONFIRMED:
            raise Conflict("payment is already confirmed")

    # --- events (bodies only mutate) -------------------------------------------------

    @event("UtrSubmitted")
    def _utr_submitted(self, utr: str, actor: str) -> None:
        self.utr = utr
        self.status = SUBMITTED

    @event("UtrRejected")
    def _utr_rejected(self, utr: str, reason: str, actor: str) -> None:
        self.utr = None
        self.status = AWAITING if self.received_paise == 0 else SHORT

    @event("CardIntentOpened")
    def _card_intent_opened(self, intent_id: str, actor: str) -> None:
        self.intent_id = intent_id

    @event("CardFailed")
    def _card_failed(self, intent_id: str, reason: str, actor: str) -> None:
        pass  # the history keeps the reason; the payment stays open for another attempt

    @event("Received")
    def _received(self, method: str, reference: str, amount_paise: int, actor: str) -> None:
        self.received_paise += amount_paise
        self.method = method

    @event("Flagged")
    def _flagged(self, difference_paise: int, actor: str) -> None:
        self.status = SHORT if difference_paise < 0 else OVER

    @event("Confirmed")
    def _confirmed(self, method: str, amount_paise: int, actor: str) -> None:
        self.status = CONFIRMED
        self.confirmed_by = actor

    @event("InvoiceIssued")
    def _invoice_issued(self, number: str, details: dict[str, Any], actor: str) -> None:
        self.invoice_number = number

    @event("RefundDue")
    def _refund_due(self, order_id: str, amount_paise: int, reason: str, actor: str) -> None:
        self.refunds[order_id] = {"amount_paise": amount_paise, "reason": reason, "reference": None}

    @event("RefundSent")
    def _refund_sent(self, order_id: str, reference: str, actor: str) -> None:
        self.refunds[order_id]["reference"] = reference


class UtrClaim(Aggregate):
    """A UPI reference (UTR) taken by one payment: no other payment may submit it."""

    @event("Claimed")
    def __init__(self, *, id: UUID, utr: str, payment_id: str, actor: str) -> None:
        self.utr = utr
        self.payment_id = payment_id

    @classmethod
    def claim(cls, utr: str, payment_id: UUID, *, actor: str) -> UtrClaim:
        """The claim of `utr` for a payment."""
        return cls(id=utr_claim_id(utr), utr=utr, payment_id=str(payment_id), actor=actor)


class ProviderEventHandled(Aggregate):
    """A provider's webhook event, handled once: a replay finds this stream and stops."""

    @event("Handled")
    def __init__(
        self,
        *,
        id: UUID,
        provider: str,
        event_id: str,
        type: str,
        payment_id: str | None,
        actor: str,
    ) -> None:
        self.event_id = event_id
        self.payment_id = payment_id

    @classmethod
    def record(
        cls, provider: str, event_id: str, event_type: str, payment_id: UUID | None
    ) -> ProviderEventHandled:
        """The record of one handled event."""
        return cls(
            id=provider_event_id(provider, event_id),
            provider=provider,
            event_id=event_id,
            type=event_type,
            payment_id=None if payment_id is None else str(payment_id),
            actor=f"system:{provider}",
        )
