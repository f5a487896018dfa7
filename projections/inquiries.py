"""The staff inbox: one row per contact inquiry, counts by status, and users' own limits.

Folded from the support log (inquiries and contact logs). Inquiries are few beside orders,
so each event is one statement, all of a batch in the runner's one transaction. Text is
stored as the customer typed it; the API answers it as JSON strings, never as markup.

Also here: the contact form's lookup of an order by tracking number, over the orders view
(projections.orders), for application.inquiries.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from application.inquiries import TrackedOrder
from domain.inquiries import OPEN, STATUSES, TOPICS
from projections.base import Cursor, EventRecord, Projection, ViewDatabase
from projections.orders import find_by_tracking_number

COLUMNS = (
    "id",
    "customer_id",
    "customer_email",
    "subject",
    "preview",
    "topic",
    "topic_class",
    "order_tracking",
    "status",
    "reply_count",
    "created_at",
    "updated_at",
    "last_reply_at",
)
OVERRIDE_COLUMNS = ("user_id", "general", "orders", "actor", "updated_at")
MAX_PAGE_SIZE = 100
MAX_PAGE = 100_000
PREVIEW = 200  # characters of the message a list row shows

_INSERT = (
    f"INSERT INTO inquiries_view ({', '.join(COLUMNS)})"  # noqa: S608
    f" VALUES ({', '.join('?' for _ in COLUMNS)})"
)
_OVERRIDE = (
    f"INSERT INTO contact_limit_overrides ({', '.join(OVERRIDE_COLUMNS)})"  # noqa: S608
    f" VALUES ({', '.join('?' for _ in OVERRIDE_COLUMNS)}) ON CONFLICT (user_id) DO UPDATE"
    " SET general = excluded.general, orders = excluded.orders, actor = excluded.actor,"
    " updated_at = excluded.updated_at"
)


class InquiriesProjection(Projection):
    """Folds the support log into `inquiries_view` and `contact_limit_overrides`."""

    name = "inquiries"

    def create(self, cur: Cursor) -> None:
        """Create the tables."""
        cur.execute(
            "CREATE TABLE IF NOT EXISTS inquiries_view ("
            " id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, customer_email TEXT NOT NULL,"
            " subject TEXT NOT NULL, preview TEXT NOT NULL, topic TEXT NOT NULL,"
            " topic_class TEXT NOT NULL, order_tracking TEXT, status TEXT NOT NULL,"
            " reply_count INTEGER NOT NULL, created_at TEXT NOT NULL,"
            " updated_at TEXT NOT NULL, last_reply_at TEXT)"
        )
        cur.execute(
            "CREATE INDEX IF NOT EXISTS inquiries_view_status"
            " ON inquiries_view (status, created_at)"
        )
        cur.execute(
            "CREATE INDEX IF NOT EXISTS inquiries_view_created ON inquiries_view (created_at)"
        )
        cur.execute(
            "CREATE TABLE IF NOT EXISTS contact_limit_overrides ("
            " user_id TEXT PRIMARY KEY, general INTEGER, orders INTEGER, actor TEXT NOT NULL,"
            " updated_at TEXT NOT NULL)"
        )

    def drop(self, cur: Cursor) -> None:
        """Drop the tables."""
        cur.execute("DROP TABLE IF EXISTS inquiries_view")
        cur.execute("DROP TABLE IF EXISTS contact_limit_overrides")

    def apply(self, cur: Cursor, events: Sequence[EventRecord]) -> None:
        """Each inquiry event changes its row; an override replaces (or removes) the user's."""
        for e in events:
            at, data = e.timestamp.isoformat(), e.data
            if e.type == "Submitted":
                cur.execute(_INSERT, _submitted_row(e))
            elif e.type == "Replied":
                cur.execute(
                    "UPDATE inquiries_view SET reply_count = reply_count + 1,"
                    " last_reply_at = ?, updated_at = ? WHERE id = ?",
                    (at, at, e.originator_id),
                )
            elif e.type == "StatusChanged":
                cur.execute(
                    "UPDATE inquiries_view SET status = ?, updated_at = ? WHERE id = ?",
                    (data["to_status"], at, e.originator_id),
                )
            elif e.type == "LimitsOverridden":
                if data["general"] is None and data["orders"] is None:
                    cur.execute(
                        "DELETE FROM contact_limit_overrides WHERE user_id = ?",
                        (data["customer_id"],),
                    )
                else:
                    cur.execute(
                        _OVERRIDE,
                        (data["customer_id"], data["general"], data["orders"], e.actor, at),
                    )

    def dump(self, cur: Cursor) -> Iterator[tuple[Any, ...]]:
        """Every inquiry, then every override, in id order."""
        cur.execute(f"SELECT {', '.join(COLUMNS)} FROM inquiries_view ORDER BY id")  # noqa: S608
        yield from (tuple(row) for row in cur.fetchall())
        cur.execute(
            f"SELECT {', '.join(OVERRIDE_COLUMNS)} FROM contact_limit_overrides"  # noqa: S608
            " ORDER BY user_id"
        )
        yield from (tuple(row) for row in cur.fetchall())


def _submitted_row(e: EventRecord) -> tuple[Any, ...]:
    data, at = e.data, e.timestamp.isoformat()
    message = str(data["message"])
    return (
        e.originator_id,
        data["customer_id"],
        data["customer_email"],
        data["subject"],
        message[:PREVIEW],
        data["topic"],
        TOPICS.get(str(data["topic"]), "general"),
        data["order_tracking"],
        OPEN,
        0,
        at,
        at,
        None,
    )


@dataclass(frozen=True)
class InquiryQuery:
    """A page of the inbox."""

    page: int = 1
    limit: int = 20
    status: str | None = None


def list_inquiries(cur: Cursor, query: InquiryQuery) -> tuple[list[dict[str, Any]], int]:
    """One page of inquiries, newest first, and how many match."""
    where, params = ("", []) if query.status is None else (" WHERE status = ?", [query.status])
    cur.execute(f"SELECT COUNT(*) FROM inquiries_view{where}", params)  # noqa: S608
    total = int(cur.fetchone()[0])
    cur.execute(
        f"SELECT {', '.join(COLUMNS)} FROM inquiries_view{where}"  # noqa: S608
        " ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
        [*params, query.limit, (query.page - 1) * query.limit],
    )
    return [dict(zip(COLUMNS, row, strict=True)) for row in cur.fetchall()], total


def status_counts(cur: Cursor) -> dict[str, int]:
    """How many inquiries are in each status (every status named, 0 included)."""
    cur.execute("SELECT status, COUNT(*) FROM inquiries_view GROUP BY status")
    counted = {str(status): int(n) for status, n in cur.fetchall()}
    return {status: counted.get(status, 0) for status in STATUSES}


def list_overrides(cur: Cursor) -> list[dict[str, Any]]:
    """Every user's own contact limits (null: the shop's for that class), by user id."""
    cur.execute(
        f"SELECT {', '.join(OVERRIDE_COLUMNS)} FROM contact_limit_overrides"  # noqa: S608
        " ORDER BY user_id"
    )
    return [dict(zip(OVERRIDE_COLUMNS, row, strict=True)) for row in cur.fetchall()]


class OrdersByTrackingView:
    """application.inquiries.OrdersByTracking over the orders view."""

    def __init__(self, views: ViewDatabase) -> None:
        self.views = views

    def find(self, tracking_number: str) -> TrackedOrder | None:
        """The order with this tracking number (its owner and status), or None."""
        with self.views.reading() as cur:
            row = find_by_tracking_number(cur, tracking_number)
        return None if row is None else TrackedOrder(str(row["customer_id"]), str(row["status"]))
