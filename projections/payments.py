"""The payments view: each payment's status, amounts, UTR and refunds, for staff to reconcile.

Folded from the payments log. Payments are few beside orders (one per checkout), so each
event is one statement, all of a batch in the runner's one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from domain.payments import AWAITING, CONFIRMED, OVER, SHORT, SUBMITTED
from projections.base import Cursor, EventRecord, Projection

COLUMNS = (
    "id",
    "covers",
    "customer_id",
    "order_count",
    "status",
    "amount_due_paise",
    "received_paise",
    "method",
    "utr",
    "invoice_number",
    "refunds_due",
    "refunds_due_paise",
    "created_at",
    "updated_at",
)
MAX_PAGE_SIZE = 100
MAX_PAGE = 100_000

# Each event's change to its row (after `updated_at`), as SQL and its parameters.
_CHANGES: dict[str, tuple[str, Any]] = {
    "UtrSubmitted": ("status = ?, utr = ?", lambda d: (SUBMITTED, d["utr"])),
    "UtrRejected": (
        "utr = NULL, status = CASE WHEN received_paise = 0 THEN ? ELSE ? END",
        lambda d: (AWAITING, SHORT),
    ),
    "Received": (
        "received_paise = received_paise + ?, method = ?",
        lambda d: (d["amount_paise"], d["method"]),
    ),
    "Flagged": ("status = ?", lambda d: (SHORT if d["difference_paise"] < 0 else OVER,)),
    "Confirmed": ("status = ?", lambda d: (CONFIRMED,)),
    "InvoiceIssued": ("invoice_number = ?", lambda d: (d["number"],)),
    "RefundDue": (
        "refunds_due = refunds_due + 1, refunds_due_paise = refunds_due_paise + ?",
        lambda d: (d["amount_paise"],),
    ),
    # The sent refund's amount is not on the event: the due one is looked up in SQL.
    "RefundSent": ("refunds_due = refunds_due - 1", lambda d: ()),
}


class PaymentsProjection(Projection):
    """Folds the payments log into `payments_view` and `payment_refunds`."""

    name = "payments"

    def create(self, cur: Cursor) -> None:
        """Create the tables."""
        cur.execute(
            "CREATE TABLE IF NOT EXISTS payments_view ("
            " id TEXT PRIMARY KEY, covers TEXT NOT NULL, customer_id TEXT NOT NULL,"
            " order_count INTEGER NOT NULL, status TEXT NOT NULL,"
            " amount_due_paise BIGINT NOT NULL, received_paise BIGINT NOT NULL, method TEXT,"
            " utr TEXT, invoice_number TEXT, refunds_due INTEGER NOT NULL,"
            " refunds_due_paise BIGINT NOT NULL, created_at TEXT NOT NULL,"
            " updated_at TEXT NOT NULL)"
        )
        cur.execute(
            "CREATE INDEX IF NOT EXISTS payments_view_status ON payments_view (status, updated_at)"
        )
        cur.execute(
            "CREATE TABLE IF NOT EXISTS payment_refunds ("
            " payment_id TEXT NOT NULL, refund_key TEXT NOT NULL, amount_paise BIGINT NOT NULL,"
            " reason TEXT NOT NULL, reference TEXT, PRIMARY KEY (payment_id, refund_key))"
        )

    def drop(self, cur: Cursor) -> None:
        """Drop the tables."""
        cur.execute("DROP TABLE IF EXISTS payments_view")
        cur.execute("DROP TABLE IF EXISTS payment_refunds")

    def apply(self, cur: Cursor, events: Sequence[EventRecord]) -> None:
        """Each payment event changes its row; refunds get their own rows."""
        for e in events:
            at, pid = e.timestamp.isoformat(), e.originator_id
            if e.type == "Requested":
                cur.execute(
                    f"INSERT INTO payments_view ({', '.join(COLUMNS)})"  # noqa: S608
                    f" VALUES ({', '.join('?' for _ in COLUMNS)})",
                    (
                        pid,
                        e.data["covers"],
                        e.data["customer_id"],
                        len(e.data["order_ids"]),
                        AWAITING,
                        e.data["amount_due_paise"],
                        0,
                        None,
                        None,
                        None,
                        0,
                        0,
                        at,
                        at,
                    ),
                )
                continue
            change = _CHANGES.get(e.type)
            if change is None:
                continue  # claims, handled webhooks, invoice series: not payments
            if e.type == "RefundDue":
                cur.execute(
                    "INSERT INTO payment_refunds (payment_id, refund_key, amount_paise, reason)"
                    " VALUES (?, ?, ?, ?)",
                    (pid, e.data["order_id"], e.data["amount_paise"], e.data["reason"]),
                )
            elif e.type == "RefundSent":
                cur.execute(
                    "UPDATE payments_view SET refunds_due_paise = refunds_due_paise -"
                    " (SELECT amount_paise FROM payment_refunds"
                    "  WHERE payment_id = ? AND refund_key = ?) WHERE id = ?",
                    (pid, e.data["order_id"], pid),
                )
                cur.execute(
                    "UPDATE payment_refunds SET reference = ? WHERE payment_id = ?"
                    " AND refund_key = ?",
                    (e.data["reference"], pid, e.data["order_id"]),
                )
            sql, params = change
            cur.execute(
                f"UPDATE payments_view SET {sql}, updated_at = ? WHERE id = ?",  # noqa: S608
                (*params(e.data), at, pid),
            )

    def dump(self, cur: Cursor) -> Iterator[tuple[Any, ...]]:
        """Every payment, then every refund, in id order."""
        cur.execute(f"SELECT {', '.join(COLUMNS)} FROM payments_view ORDER BY id")  # noqa: S608
        yield from (tuple(row) for row in cur.fetchall())
        cur.execute("SELECT * FROM payment_refunds ORDER BY payment_id, refund_key")
        yield from (tuple(row) for row in cur.fetchall())


@dataclass(frozen=True)
class PaymentQuery:
    """A page of the payments list."""

    page: int = 1
    limit: int = 20
    status: str | None = None
    refunds_due: bool = False  # only payments with a refund not yet sent


def list_payments(cur: Cursor, query: PaymentQuery) -> tuple[list[dict[str, Any]], int]:
    """One page of payments, the longest-waiting first, and how many match."""
    where: list[str] = []
    params: list[Any] = []
    if query.status:
        where.append("status = ?")
        params.append(query.status)
    if query.refunds_due:
        where.append("refunds_due > 0")
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    cur.execute(f"SELECT COUNT(*) FROM payments_view{clause}", params)  # noqa: S608
    total = int(cur.fetchone()[0])
    cur.execute(
        f"SELECT {', '.join(COLUMNS)} FROM payments_view{clause}"  # noqa: S608
        " ORDER BY updated_at, id LIMIT ? OFFSET ?",
        [*params, query.limit, (query.page - 1) * query.limit],
    )
    return [dict(zip(COLUMNS, row, strict=True)) for row in cur.fetchall()], total
