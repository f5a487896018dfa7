"""Contact inquiries (the "support" context): customers write, staff reply by e-mail.

Inquiries and the per-customer contact logs have their own log ("support"). A submission
saves the new Inquiry and its count on the customer's ContactLog in one save, so the daily
limit holds under concurrency (domain.contact_limits); a lost race reloads and decides
again. The shop's limits are shop settings (application.shop); a user's own limits, set by
an admin, are events on their contact log.

A reply is recorded first and then mailed: the reply stays in the history whatever the mail
server says, and the answer tells staff whether the mail went out.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID, uuid4

import structlog

from application.base import FabApplication
from application.notifications import Mail, Mailer
from application.shop import ShopApp
from domain.contact_limits import (
    GENERAL_SETTING,
    ORDERS_SETTING,
    ContactLimits,
    ContactLog,
    contact_log_id_for,
)
from domain.errors import Conflict, InvalidInput, NotFound
from domain.inquiries import TOPIC_CLASSES, Draft, Inquiry, clean_tracking

BUSY = "this inquiry is being changed by many requests at once; retry"
SAVE_RETRIES = 30  # a customer's submissions race on their contact log: reload and decide again
NOT_FOUND = "inquiry not found"
NOT_YOURS = "order_tracking: none of your orders has this tracking number"
# Event attributes that describe the stream rather than the change.
_EVENT_META = ("originator_id", "originator_version", "timestamp", "originator_topic")

log = structlog.get_logger("fabledger.support")


def utc_now() -> datetime:
    """The clock the daily limits are counted by."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class TrackedOrder:
    """What the contact form needs of an order found by its tracking number."""

    customer_id: str
    status: str


class OrdersByTracking(Protocol):
    """Finds an order by tracking number (projections.inquiries over the orders view)."""

    def find(self, tracking_number: str) -> TrackedOrder | None:
        """The order with this tracking number, or None."""
        ...


class Users(Protocol):
    """Whether a user exists (application.identity.IdentityApp)."""

    def get_user(self, user_id: UUID) -> Any:
        """The user with this id, or None."""
        ...


@dataclass(frozen=True)
class OrderCheck:
    """Whether a tracking number is one of the caller's orders (never whose it is else)."""

    tracking_number: str
    belongs: bool
    status: str | None  # the order's status, only when it is the caller's


@dataclass(frozen=True)
class ClassUsage:
    """One topic class of one user: the limit, what was sent in 24 h, when the next may be."""

    topic_class: str
    limit: int
    sent: int
    remaining: int
    next_allowed_at: datetime | None  # None: now (or never, when the limit is 0)


@dataclass(frozen=True)
class HistoryEntry:
    """One stored event of an inquiry, as staff read it."""

    type: str
    version: int
    at: datetime
    actor: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Reply:
    """A recorded reply and what became of its mail."""

    inquiry: Inquiry
    message: str
    position: int
    mailed: bool
    mail_error: str | None


class SupportApp(FabApplication):
    """Inquiries and customers' contact logs: one log."""

    name = "support"

    def get_inquiry(self, inquiry_id: UUID) -> Inquiry:
        """The inquiry, or NotFound."""
        inquiry = self.find(inquiry_id, Inquiry)
        if inquiry is None:
            raise NotFound(NOT_FOUND)
        return inquiry

    def history(self, inquiry_id: UUID) -> list[HistoryEntry]:
        """Every stored event of the inquiry, oldest first."""
        entries = [_history_entry(stored) for stored in self.events.get(inquiry_id)]
        if not entries or entries[0].type != "Submitted":
            raise NotFound(NOT_FOUND)
        return entries


def _history_entry(stored: Any) -> HistoryEntry:
    """What happened, when, by whom."""
    data = {k: v for k, v in stored.__dict__.items() if k not in _EVENT_META and k != "actor"}
    return HistoryEntry(
        type=type(stored).__name__,
        version=stored.originator_version,
        at=stored.timestamp,
        actor=str(stored.__dict__.get("actor", "")),
        data=data,
    )


class Inquiries:
    """The contact form and the staff inbox's commands."""

    def __init__(
        self,
        app: SupportApp,
        shop: ShopApp,
        orders: OrdersByTracking,
        users: Users,
        mailer: Mailer,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.app = app
        self.shop = shop
        self.orders = orders
        self.users = users
        self.mailer = mailer
        self.clock = clock

    # --- customers ----------------------------------------------------------------------

    def verify_order(self, tracking_number: str, *, customer_id: str) -> OrderCheck:
        """Whether this tracking number is one of the caller's orders; another customer's
        and an unknown one answer alike (nobody learns that a number exists)."""
        try:
            tracking = clean_tracking(tracking_number) or ""
        except InvalidInput:  # too long or not one line: no order has it
            tracking = ""
        order = self.orders.find(tracking) if tracking else None
        if order is None or order.customer_id != customer_id:
            return OrderCheck(tracking or tracking_number.strip()[:100], False, None)
        return OrderCheck(tracking, True, order.status)

    def submit(
        self,
        *,
        customer_id: str,
        customer_email: str,
        subject: str,
        message: str,
        topic: str | None,
        order_tracking: str | None,
        actor: str,
    ) -> tuple[Inquiry, int]:
        """A new inquiry, counted against the customer's daily limit for its topic class."""
        draft = Draft.parse(
            subject=subject, message=message, topic=topic, order_tracking=order_tracking
        )
        if draft.order_tracking is not None:
            order = self.orders.find(draft.order_tracking)
            if order is None or order.customer_id != customer_id:
                raise InvalidInput(NOT_YOURS)
        shop = self.shop_limits()
        inquiry_id = uuid4()
        for attempt in range(SAVE_RETRIES):
            contact_log = self._contact_log(customer_id, actor)
            contact_log.count(
                inquiry_id=inquiry_id,
                topic_class=draft.topic_class,
                shop=shop,
                now=self.clock(),
                actor=actor,
            )
            inquiry = Inquiry.submit(
                inquiry_id,
                draft,
                customer_id=customer_id,
                customer_email=customer_email,
                actor=actor,
            )
            try:
                return inquiry, self.app.save_new(contact_log, inquiry)
            except Conflict:  # another submission of this customer counted first
                time.sleep(random.uniform(0, 0.002 * (attempt + 1)))  # noqa: S311
        raise Conflict("too many messages are being sent at once; retry")

    def _contact_log(self, customer_id: str, actor: str) -> ContactLog:
        found = self.app.find(contact_log_id_for(customer_id), ContactLog)
        return found if found is not None else ContactLog.open(customer_id, actor=actor)

    # --- limits ---------------------------------------------------------------------------

    def shop_limits(self) -> ContactLimits:
        """The shop's daily limits (settings, read at most once a second)."""
        settings = self.shop.current()
        return ContactLimits(settings.value(GENERAL_SETTING), settings.value(ORDERS_SETTING))

    def usage(self, user_id: str) -> tuple[dict[str, int] | None, list[ClassUsage]]:
        """The user's override (None: the shop's limits apply) and, per topic class, the
        limit, what was sent in the last 24 hours and when the next message is allowed."""
        shop, now = self.shop_limits(), self.clock()
        contact_log = self.app.find(contact_log_id_for(user_id), ContactLog)
        if contact_log is None:
            contact_log = ContactLog.open(user_id, actor="")  # never saved: counts nothing
        limits = contact_log.limits(shop)
        usages = []
        for topic_class in TOPIC_CLASSES:
            limit, sent = limits.of(topic_class), contact_log.sent(topic_class, now)
            allowed_at = contact_log.next_allowed_at(topic_class, limit, now)
            remaining = max(0, limit - len(sent))
            usages.append(ClassUsage(topic_class, limit, len(sent), remaining, allowed_at))
        return dict(contact_log.override) or None, usages

    def user_usage(self, user_id: UUID) -> tuple[dict[str, int] | None, list[ClassUsage]]:
        """`usage` of an existing user (NotFound otherwise), as admins look it up."""
        if self.users.get_user(user_id) is None:
            raise NotFound("user not found")
        return self.usage(str(user_id))

    def set_limits(
        self, user_id: UUID, *, general: int | None, orders: int | None, actor: str
    ) -> tuple[bool, int]:
        """Set (or with both None, remove) a user's own daily limits, an event on their
        contact log: whether anything changed, and the position written (else the head)."""
        if self.users.get_user(user_id) is None:
            raise NotFound("user not found")
        # The customer may write meanwhile: the override is then applied after it.
        _, position = self.app.update(
            lambda: self._contact_log(str(user_id), actor),
            lambda log: log.override_limits(general=general, orders=orders, actor=actor),
            busy="this user's limits are busy; retry",
            attempts=SAVE_RETRIES,
        )
        return position is not None, position or self.app.position()

    # --- staff ----------------------------------------------------------------------------

    def reply(self, inquiry_id: UUID, message: str, *, actor: str) -> Reply:
        """Record a staff reply, then mail it to the customer (plain text)."""
        texts: list[str] = []  # the reply as recorded (another staff change may come first)
        inquiry, position = self.app.update(
            lambda: self.app.get_inquiry(inquiry_id),
            lambda inquiry: texts.append(inquiry.reply(message, actor=actor)),
            busy=BUSY,
            attempts=SAVE_RETRIES,
        )
        mailed, error = self._mail(reply_mail(inquiry, texts[-1]))
        return Reply(inquiry, texts[-1], position or self.app.position(), mailed, error)

    def _mail(self, mail: Mail) -> tuple[bool, str | None]:
        try:
            self.mailer.send(mail)
        except Exception as error:  # any failure: the reply is kept and staff are told
            log.warning("reply_mail_failed", key=mail.key, error_type=type(error).__name__)
            return False, f"the reply is saved but its mail was not sent ({type(error).__name__})"
        return True, None

    def change_status(
        self, inquiry_id: UUID, status: str, *, actor: str
    ) -> tuple[Inquiry, bool, int]:
        """Move the inquiry to a status: whether it changed, and the position written (the
        log's head when nothing was)."""
        inquiry, position = self.app.update(
            lambda: self.app.get_inquiry(inquiry_id),
            lambda inquiry: inquiry.change_status(status, actor=actor),
            busy=BUSY,
            attempts=SAVE_RETRIES,
        )
        return inquiry, position is not None, position or self.app.position()


def reply_mail(inquiry: Inquiry, reply: str) -> Mail:
    """The reply as a plain-text mail quoting the customer's message (never HTML: what
    anyone typed reaches the reader as the characters they typed)."""
    quoted = "\n".join(f"> {line}" if line else ">" for line in inquiry.message.split("\n"))
    sent_on = inquiry.created_on.strftime("%d %b %Y")
    body = f'{reply}\n\n-- \nOn {sent_on} you wrote about "{inquiry.subject}":\n{quoted}\n'
    return Mail(
        key=f"inquiry:{inquiry.id}:{inquiry.version}",
        to=inquiry.customer_email,
        subject=f"Re: {inquiry.subject}",
        body=body,
    )
