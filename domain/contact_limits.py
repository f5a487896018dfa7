"""Per-user daily contact limits: the shop's settings, and the ContactLog that decides them.

Two topic classes (domain.inquiries): non-order topics and order topics, each with a daily
limit in shop settings (`contact_daily_limit_general`, `contact_daily_limit_orders`; 0
blocks the class). An admin may override either for one user (raise it for a trusted
customer, lower it, or 0, for an abusive one): the override is an event on that user's
ContactLog, with its actor and the previous override.

"Daily" is a rolling 24 hours, not a calendar day (which would let a customer send twice
the limit around midnight). The ContactLog (one stream per customer) counts each message
as an event saved together with the new inquiry: two submissions at once both write the
log's next version and the store accepts one, so nobody exceeds the limit however many
requests race (the loser reloads and decides again). The override lives on the same
stream, so a submission racing an override change is decided again under the new one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import DailyLimitReached, Forbidden, InvalidInput
from domain.inquiries import GENERAL, ORDERS, TOPIC_CLASSES
from domain.shop.settings import SettingSpec, register_setting

GENERAL_SETTING = "contact_daily_limit_general"
ORDERS_SETTING = "contact_daily_limit_orders"
DEFAULT_GENERAL = 3
DEFAULT_ORDERS = 10  # higher: a customer may have several orders to ask about
MAX_DAILY = 1000  # beyond this a limit is no limit; keeps the log's window small
WINDOW = timedelta(hours=24)
LIMIT_REACHED = "Daily limit reached"
BLOCKED = "The contact form is closed for these topics; please reach us another way"


def contact_log_id_for(customer_id: str) -> UUID:
    """The stream id of a customer's contact log (one per customer)."""
    return uuid5(NAMESPACE_URL, f"fabledger:contact-log:{customer_id}")


def check_limit(field: str, value: Any) -> int:
    """A daily limit: 0 (the class is blocked) to 1000 messages per 24 hours."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAILY:
        raise InvalidInput(f"{field}: must be a whole number from 0 (blocked) to {MAX_DAILY}")
    return value


@dataclass(frozen=True)
class ContactLimits:
    """How many messages of each topic class one user may send in 24 hours."""

    general: int
    orders: int

    def of(self, topic_class: str) -> int:
        """The limit of one class."""
        return self.general if topic_class == GENERAL else self.orders

    def to_dict(self) -> dict[str, int]:
        """The limits by class name."""
        return {GENERAL: self.general, ORDERS: self.orders}


register_setting(
    GENERAL_SETTING,
    SettingSpec(
        DEFAULT_GENERAL,
        "Contact form: messages per user per 24 hours on non-order topics (feedback, account"
        " help, ...); 0 blocks them. Admins may override it per user.",
        check_limit,
    ),
)
register_setting(
    ORDERS_SETTING,
    SettingSpec(
        DEFAULT_ORDERS,
        "Contact form: messages per user per 24 hours about orders (order issue, payment"
        " query, shipping update); 0 blocks them. Admins may override it per user.",
        check_limit,
    ),
)


class ContactLog(Aggregate):
    """One customer's contact messages of the last 24 hours and their own limits, if any:
    where the daily limit is decided."""

    class Opened(Aggregate.Created):
        """The customer's first message (or an admin's first override) opened the log."""

        customer_id: str
        actor: str

    @event(Opened)
    def __init__(self, *, id: UUID, customer_id: str, actor: str) -> None:
        self.customer_id = customer_id
        # (topic class, ISO time) of each message in the 24 hours before the newest one.
        self.recent: list[tuple[str, str]] = []
        self.override: dict[str, int] = {}  # class -> this user's limit, replacing the shop's

    @classmethod
    def open(cls, customer_id: str, *, actor: str) -> ContactLog:
        """A new log for a customer nobody counted or limited yet."""
        return cls(id=contact_log_id_for(customer_id), customer_id=customer_id, actor=actor)

    def limits(self, shop: ContactLimits) -> ContactLimits:
        """The customer's limits: the shop's, each replaced by an override where one is set."""
        return ContactLimits(
            self.override.get(GENERAL, shop.general), self.override.get(ORDERS, shop.orders)
        )

    def sent(self, topic_class: str, now: datetime) -> list[datetime]:
        """When this class's messages of the 24 hours before `now` were sent, oldest first."""
        since = now - WINDOW
        times = (datetime.fromisoformat(at) for kind, at in self.recent if kind == topic_class)
        return sorted(t for t in times if t > since)

    def next_allowed_at(self, topic_class: str, limit: int, now: datetime) -> datetime | None:
        """When the next message of this class is allowed: None (now) while under the limit,
        else when enough of the window's messages are 24 hours old (the oldest one, unless
        the limit was lowered below what was already sent). None too for 0 (never)."""
        times = self.sent(topic_class, now)
        if limit <= 0 or len(times) < limit:
            return None
        return times[len(times) - limit] + WINDOW

    def count(
        self,
        *,
        inquiry_id: UUID,
        topic_class: str,
        shop: ContactLimits,
        now: datetime,
        actor: str,
    ) -> None:
        """Count one message against the limit, or refuse it: 0 blocks the class (403), a
        used-up limit is DailyLimitReached with the time until the next is allowed (429)."""
        if topic_class not in TOPIC_CLASSES:
            raise InvalidInput(f"topic class must be one of {', '.join(TOPIC_CLASSES)}")
        limit = self.limits(shop).of(topic_class)
        if limit <= 0:
            raise Forbidden(BLOCKED)
        allowed_at = self.next_allowed_at(topic_class, limit, now)
        if allowed_at is not None:
            raise DailyLimitReached(
                LIMIT_REACHED,
                retry_after=max(1, math.ceil((allowed_at - now).total_seconds())),
                next_allowed_at=allowed_at.isoformat(),
            )
        self._counted(
            inquiry_id=str(inquiry_id),
            topic_class=topic_class,
            at=now.isoformat(),
            limit=limit,
            actor=actor,
        )

    def override_limits(self, *, general: int | None, orders: int | None, actor: str) -> bool:
        """Set this user's own limits (None: the shop's for that class; both None removes the
        override); False (and no event) when nothing changes."""
        wanted = {
            name: check_limit(name, value)
            for name, value in ((GENERAL, general), (ORDERS, orders))
            if value is not None
        }
        if wanted == self.override:
            return False
        self._limits_overridden(
            customer_id=self.customer_id,
            general=general,
            orders=orders,
            previous=dict(self.override),
            actor=actor,
        )
        return True

    # The limit in force rides on the event: an audit sees what each message was allowed by.
    @event("MessageCounted")
    def _counted(self, inquiry_id: str, topic_class: str, at: str, limit: int, actor: str) -> None:
        since = datetime.fromisoformat(at) - WINDOW
        kept = [(k, t) for k, t in self.recent if datetime.fromisoformat(t) > since]
        self.recent = [*kept, (topic_class, at)]

    # The customer's id rides on the event so the overrides view folds it without the stream.
    @event("LimitsOverridden")
    def _limits_overridden(
        self,
        customer_id: str,
        general: int | None,
        orders: int | None,
        previous: dict[str, int],
        actor: str,
    ) -> None:
        pairs = ((GENERAL, general), (ORDERS, orders))
        self.override = {name: value for name, value in pairs if value is not None}
