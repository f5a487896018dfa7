"""Customer e-mails: which order and payment events a customer hears about, and what they say.

Delivery guarantee (see workers/notify.py): each mail is *recorded* exactly once per
event, keyed by (order id, version) or ("payment", payment id, version), in the same
transaction as the consumer's position; it is *sent* at least once. A crash between the
mail server accepting a mail and the "sent" mark committing sends that one mail again,
with the same Message-ID.

Attachments (a payment's invoice PDF) are named, not stored: the outbox keeps what to
attach (`AttachmentRef`) and the sender builds the file when it sends the mail.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, Protocol
from uuid import UUID

from domain.invoices import indian_grouping
from domain.orders import CANCELLED, DELIVERED, SHIPPED
from domain.payments import reference_of

# Every status change is on the customer's timeline (api/presenters.py), so each gets a mail.
_STATUS_LINES = {
    "confirmed": "Your order is confirmed and queued for printing.",
    "printing": "Your part is on the printer now.",
    "post_processing": "Your part is printed and being finished.",
    SHIPPED: "Your order is on its way.",
    DELIVERED: "Your order was delivered. Thank you for printing with us!",
    CANCELLED: "Your order was cancelled.",
}


PAYMENT_KEY_PREFIX = "payment:"  # payment mail keys never look like an order's "<id>:<n>"
INVOICE = "invoice"  # attachment kind: a payment's tax invoice PDF; its ref is the payment id


@dataclass(frozen=True)
class Attachment:
    """A file sent with a mail (an invoice PDF), built when the mail is sent."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Mail:
    """One e-mail to a customer; `key` is unique per event (the idempotency key)."""

    key: str
    to: str
    subject: str
    body: str
    attachments: tuple[Attachment, ...] = ()


class MailRejected(Exception):
    """The mail server refused this mail for good (bad address): retrying cannot help."""


class Mailer(Protocol):
    """Sends one mail; raises MailRejected for a permanent refusal, anything else to retry."""

    def send(self, mail: Mail) -> None:
        """Hand the mail to the transport."""
        ...


@dataclass(frozen=True)
class OrderEvent:
    """What the notifier reads of a stored order event."""

    order_id: str
    version: int
    type: str
    data: dict[str, Any]


@dataclass
class Recipient:
    """Who an order's mails go to, remembered from its Placed event."""

    email: str
    tracking_number: str


def mail_key(order_id: str, version: int) -> str:
    """The idempotency key of the mail about one order event."""
    return f"{order_id}:{version}"


def compose(event: OrderEvent, recipient: Recipient) -> Mail | None:
    """The mail this event sends, or None if the customer is not told about it."""
    tracking = recipient.tracking_number
    if event.type == "Placed":
        subject = f"Order {tracking} received"
        body = f"We received your order {tracking}. We will e-mail you as it moves along."
    elif event.type == "StatusChanged":
        status = str(event.data["to_status"])
        subject = f"Order {tracking}: {status.replace('_', ' ')}"
        body = _STATUS_LINES.get(status, f"Your order is now {status}.")
    elif event.type == "CarrierTrackingSet":
        subject = f"Order {tracking}: carrier tracking"
        body = f"Carrier tracking number: {event.data['tracking_number']}"
        if event.data.get("tracking_url"):
            body += f"\nFollow it at {event.data['tracking_url']}"
    else:
        return None
    body += f"\n\nTrack your order any time with the number {tracking}."
    return Mail(mail_key(event.order_id, event.version), recipient.email, subject, body)


def recipient_of(event: OrderEvent) -> Recipient | None:
    """The recipient a Placed event introduces (None for other events)."""
    if event.type != "Placed":
        return None
    return Recipient(str(event.data["customer_email"]), str(event.data["tracking_number"]))


def mails_for(
    events: list[OrderEvent], known: dict[str, Recipient]
) -> Iterator[tuple[OrderEvent, Mail]]:
    """The mails a batch of events sends; `known` gains the batch's new recipients."""
    for event in events:
        introduced = recipient_of(event)
        if introduced is not None:
            known[event.order_id] = introduced
        recipient = known.get(event.order_id)
        if recipient is None:
            continue  # an order placed before the notifier's start position: nobody to tell
        mail = compose(event, recipient)
        if mail is not None:
            yield event, mail


# --- payment mails -----------------------------------------------------------------------


@dataclass(frozen=True)
class AttachmentRef:
    """What to attach to a mail, by name (`kind` and its `ref`), so the outbox holds no bytes."""

    kind: str
    ref: str


@dataclass(frozen=True)
class PaymentEvent:
    """What the notifier reads of a stored payment event."""

    payment_id: str
    version: int
    type: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Payer:
    """Who a payment's mails go to and what they paid (its Requested, then Confirmed, amount)."""

    email: str
    amount_paise: int


@dataclass(frozen=True)
class PaymentMail:
    """A payment mail and what to attach to it when it is sent."""

    mail: Mail
    attach: AttachmentRef | None = None


def payment_mail_key(payment_id: str, version: int) -> str:
    """The idempotency key of the mail about one payment event."""
    return f"{PAYMENT_KEY_PREFIX}{payment_id}:{version}"


def rupees(paise: int) -> str:
    """An amount as a mail shows it: "Rs. 1,23,456.78" (as the invoice groups digits)."""
    return f"Rs. {indian_grouping(paise)}"


def compose_payment(event: PaymentEvent, payer: Payer) -> PaymentMail | None:
    """The mail this payment event sends, or None if the customer is not told about it."""
    attach = None
    if event.type == "InvoiceIssued":
        number = str(event.data["number"])
        subject = f"Payment received: invoice {number}"
        body = (
            f"We received your payment of {rupees(payer.amount_paise)}. Thank you!\n"
            f"Your tax invoice {number} is attached to this e-mail."
        )
        attach = AttachmentRef(INVOICE, event.payment_id)
    elif event.type == "RefundDue":
        amount = rupees(int(event.data["amount_paise"]))
        subject = f"Refund of {amount} on its way"
        body = (
            f"We are giving {amount} back to you. Reason: {event.data['reason']}.\n"
            "We will e-mail you again when the refund is sent."
        )
    elif event.type == "RefundSent":
        subject = "Refund sent"
        body = (
            f"Your refund was sent with the reference {event.data['reference']}.\n"
            "Your bank may take a few working days to show it."
        )
    else:
        return None
    body += f"\n\nPayment reference: {reference_of(UUID(event.payment_id))}"
    key = payment_mail_key(event.payment_id, event.version)
    return PaymentMail(Mail(key, payer.email, subject, body), attach)


def payment_mails_for(
    events: list[PaymentEvent], known: dict[str, Payer]
) -> Iterator[tuple[PaymentEvent, PaymentMail]]:
    """The mails a batch of payment events sends; `known` gains the batch's payers and the
    amounts their payments were confirmed at."""
    for event in events:
        if event.type == "Requested":
            email, due = str(event.data["customer_email"]), int(event.data["amount_due_paise"])
            known[event.payment_id] = Payer(email, due)
            continue
        payer = known.get(event.payment_id)
        if payer is None:
            continue  # requested before the notifier's start position: nobody to tell
        if event.type == "Confirmed":
            # What arrived, which staff may have accepted short of or over what was due.
            known[event.payment_id] = replace(payer, amount_paise=int(event.data["amount_paise"]))
            continue
        mail = compose_payment(event, payer)
        if mail is not None:
            yield event, mail
