"""Order status e-mails: which order events a customer hears about, and what they say.

Delivery guarantee (see workers/notify.py): each mail is *recorded* exactly once per
order event, keyed by (order id, version), in the same transaction as the consumer's
position; it is *sent* at least once. A crash between the mail server accepting a mail
and the "sent" mark committing sends that one mail again, with the same Message-ID.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from domain.orders import CANCELLED, DELIVERED, SHIPPED

# Every status change is on the customer's timeline (api/presenters.py), so each gets a mail.
_STATUS_LINES = {
    "confirmed": "Your order is confirmed and queued for printing.",
    "printing": "Your part is on the printer now.",
    "post_processing": "Your part is printed and being finished.",
    SHIPPED: "Your order is on its way.",
    DELIVERED: "Your order was delivered. Thank you for printing with us!",
    CANCELLED: "Your order was cancelled.",
}


@dataclass(frozen=True)
class Mail:
    """One e-mail to a customer; `key` is unique per order event (the idempotency key)."""

    key: str
    to: str
    subject: str
    body: str


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
