"""The Inquiry aggregate: one stream per contact-form message, its replies and its status.

A customer submits a subject and a message on a topic (optionally about one of their
orders); staff reply (each reply is mailed to the customer and kept on the stream) and move
it through open -> in_progress -> resolved -> closed. Text is kept exactly as typed (bounded,
stripped, control characters refused): it is never interpreted as HTML anywhere, so it is
stored as data and every reader shows it as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, InvalidInput

# Topic classes: each has its own per-user daily limit (domain.contact_limits).
GENERAL = "general"  # feedback, account help and the rest
ORDERS = "orders"  # about an order: higher limit, a customer may have several
TOPIC_CLASSES = (GENERAL, ORDERS)
# The seed's "Non-order topics: feedback, account help, etc." and "Order issue, payment
# query, shipping update", by the class whose limit they count against.
TOPICS: dict[str, str] = {
    "general": GENERAL,
    "feedback": GENERAL,
    "account_help": GENERAL,
    "other": GENERAL,
    "order_issue": ORDERS,
    "payment_query": ORDERS,
    "shipping_update": ORDERS,
}

OPEN = "open"
IN_PROGRESS = "in_progress"
RESOLVED = "resolved"
CLOSED = "closed"
STATUSES = (OPEN, IN_PROGRESS, RESOLVED, CLOSED)

MAX_SUBJECT = 200
MAX_MESSAGE = 5000
MAX_TRACKING = 40
# C0 controls and DEL; a message may span lines, so tab, LF and CR stay allowed there.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_IN_PROSE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def topic_class(topic: str) -> str:
    """The limit class of a topic (general or orders); InvalidInput for an unknown topic."""
    found = TOPICS.get(topic)
    if found is None:
        raise InvalidInput(f"topic: must be one of {', '.join(TOPICS)}")
    return found


def default_topic(order_tracking: str | None) -> str:
    """The topic of a message sent without one: about its order when it names one."""
    return "order_issue" if order_tracking else "general"


def clean_subject(text: str) -> str:
    """A one-line subject, stripped, 1-200 characters."""
    subject = text.strip()
    if _CONTROL.search(subject):
        raise InvalidInput("subject: control characters (line breaks included) are not allowed")
    if not subject or len(subject) > MAX_SUBJECT:
        raise InvalidInput(f"subject: 1-{MAX_SUBJECT} characters")
    return subject


def clean_message(text: str, field: str = "message") -> str:
    """A message (lines allowed, CRLF made LF), stripped, 1-5000 characters."""
    message = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if _CONTROL_IN_PROSE.search(message):
        raise InvalidInput(f"{field}: control characters are not allowed")
    if not message or len(message) > MAX_MESSAGE:
        raise InvalidInput(f"{field}: 1-{MAX_MESSAGE} characters")
    return message


def clean_tracking(text: str | None) -> str | None:
    """A tracking number as orders store it (trimmed, upper case); None or blank is none."""
    if text is None or not text.strip():
        return None
    tracking = text.strip().upper()
    if len(tracking) > MAX_TRACKING or _CONTROL.search(tracking):
        raise InvalidInput(f"order_tracking: at most {MAX_TRACKING} characters, one line")
    return tracking


@dataclass(frozen=True)
class Draft:
    """A submission checked field by field, before any limit is counted."""

    subject: str
    message: str
    topic: str
    topic_class: str
    order_tracking: str | None

    @classmethod
    def parse(
        cls, *, subject: str, message: str, topic: str | None, order_tracking: str | None
    ) -> Draft:
        """Check and normalise what the customer typed; InvalidInput names the field."""
        tracking = clean_tracking(order_tracking)
        chosen = default_topic(tracking) if topic is None else topic.strip()
        return cls(
            subject=clean_subject(subject),
            message=clean_message(message),
            topic=chosen,
            topic_class=topic_class(chosen),
            order_tracking=tracking,
        )


class Inquiry(Aggregate):
    """A customer's message to the shop, the staff's replies, and where it stands."""

    class Submitted(Aggregate.Created):
        """A signed-in customer sent the contact form."""

        customer_id: str
        customer_email: str  # where replies are mailed
        subject: str
        message: str
        topic: str
        order_tracking: str | None
        actor: str

    @event(Submitted)
    def __init__(
        self,
        *,
        id: UUID,
        customer_id: str,
        customer_email: str,
        subject: str,
        message: str,
        topic: str,
        order_tracking: str | None,
        actor: str,
    ) -> None:
        self.customer_id = customer_id
        self.customer_email = customer_email
        self.subject = subject
        self.message = message
        self.topic = topic
        self.order_tracking = order_tracking
        self.status = OPEN
        self.reply_count = 0

    @classmethod
    def submit(
        cls, inquiry_id: UUID, draft: Draft, *, customer_id: str, customer_email: str, actor: str
    ) -> Inquiry:
        """A new inquiry, open, from a checked draft."""
        return cls(
            id=inquiry_id,
            customer_id=customer_id,
            customer_email=customer_email,
            subject=draft.subject,
            message=draft.message,
            topic=draft.topic,
            order_tracking=draft.order_tracking,
            actor=actor,
        )

    @property
    def topic_class(self) -> str:
        """The limit class its topic counted against."""
        return TOPICS.get(self.topic, GENERAL)

    def reply(self, message: str, *, actor: str) -> str:
        """Record a staff reply (mailed by the application); a closed inquiry takes none."""
        if self.status == CLOSED:
            raise Conflict("this inquiry is closed; reopen it to reply")
        text = clean_message(message)
        self._replied(message=text, actor=actor)
        return text

    def change_status(self, status: str, *, actor: str) -> bool:
        """Move to any other status (a closed one may be reopened); False when unchanged."""
        if status not in STATUSES:
            raise InvalidInput(f"status: must be one of {', '.join(STATUSES)}")
        if status == self.status:
            return False
        self._status_changed(from_status=self.status, to_status=status, actor=actor)
        return True

    @event("Replied")
    def _replied(self, message: str, actor: str) -> None:
        self.reply_count += 1

    @event("StatusChanged")
    def _status_changed(self, from_status: str, to_status: str, actor: str) -> None:
        self.status = to_status
