"""The coupon usage view: each coupon's terms, uses and discounts, and its uses per customer.

Folded from the ordering log (coupons live there, beside the orders that redeem them).
Uses count redemptions minus given-back uses; a customer whose uses all came back has no
row, so a view built live and one rebuilt from the log are the same.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from domain.coupons import EVENT_TYPES as COUPON_EVENTS
from projections.base import Cursor, EventRecord, Projection
from projections.orders import _escape_like

TERMS = (
    "percent_off",
    "amount_off_paise",
    "min_order_paise",
    "max_uses",
    "max_uses_per_customer",
    "valid_from",
    "valid_to",
    "active",
)
COLUMNS = ("id", "code", *TERMS, "deleted", "uses", "discount_paise", "created_at", "updated_at")
MAX_PAGE_SIZE = 100
MAX_PAGE = 100_000

_INSERT = (
    f"INSERT INTO coupons_view ({', '.join(COLUMNS)})"  # noqa: S608
    f" VALUES ({', '.join('?' for _ in COLUMNS)})"
)
_CHANGE = f"UPDATE coupons_view SET {', '.join(f'{c} = ?' for c in TERMS)} WHERE id = ?"  # noqa: S608


class CouponsProjection(Projection):
    """Folds the ordering log's coupon events into `coupons_view` and `coupon_customers`."""

    name = "coupons"

    def create(self, cur: Cursor) -> None:
        """Create both tables."""
        cur.execute(
            "CREATE TABLE IF NOT EXISTS coupons_view ("
            " id TEXT PRIMARY KEY, code TEXT NOT NULL, percent_off TEXT,"
            " amount_off_paise BIGINT, min_order_paise BIGINT NOT NULL, max_uses BIGINT,"
            " max_uses_per_customer BIGINT, valid_from TEXT, valid_to TEXT,"
            " active BOOLEAN NOT NULL, deleted BOOLEAN NOT NULL, uses BIGINT NOT NULL,"
            " discount_paise BIGINT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)"
        )
        cur.execute("CREATE INDEX IF NOT EXISTS coupons_view_code ON coupons_view (code)")
        cur.execute(
            "CREATE TABLE IF NOT EXISTS coupon_customers ("
            " coupon_id TEXT NOT NULL, customer_id TEXT NOT NULL, uses BIGINT NOT NULL,"
            " discount_paise BIGINT NOT NULL, PRIMARY KEY (coupon_id, customer_id))"
        )

    def drop(self, cur: Cursor) -> None:
        """Drop both tables."""
        cur.execute("DROP TABLE IF EXISTS coupons_view")
        cur.execute("DROP TABLE IF EXISTS coupon_customers")

    def apply(self, cur: Cursor, events: Sequence[EventRecord]) -> None:
        """A batch's new coupons, term changes and use counts, each written once."""
        issued: dict[str, dict[str, Any]] = {}
        changed: dict[str, dict[str, Any]] = {}
        deleted: set[str] = set()
        uses: Counter[str] = Counter()
        touched: dict[str, str] = {}  # each coupon's last event: its updated_at
        discounts: Counter[str] = Counter()
        customer_uses: Counter[tuple[str, str]] = Counter()
        customer_discounts: Counter[tuple[str, str]] = Counter()
        for event in events:
            cid, at = event.originator_id, event.timestamp.isoformat()
            if event.type in COUPON_EVENTS:
                touched[cid] = at
            if event.type == "Issued":
                issued[cid] = _issued_row(event)
            elif event.type == "TermsChanged":
                row = issued[cid] if cid in issued else changed.setdefault(cid, {})
                row.update(event.data["terms"])
            elif event.type == "Withdrawn":
                if cid in issued:
                    issued[cid]["deleted"] = True
                else:
                    deleted.add(cid)
            elif event.type in ("Redeemed", "Released"):
                sign = 1 if event.type == "Redeemed" else -1
                key = (cid, str(event.data["customer_id"]))
                amount = sign * int(event.data["discount_paise"])
                uses[cid] += sign
                discounts[cid] += amount
                customer_uses[key] += sign
                customer_discounts[key] += amount
        if issued:
            cur.executemany(_INSERT, [tuple(r[c] for c in COLUMNS) for r in issued.values()])
        if changed:
            cur.executemany(
                _CHANGE,
                [(*(t[c] for c in TERMS), cid) for cid, t in changed.items()],
            )
        if deleted:
            cur.executemany(
                "UPDATE coupons_view SET deleted = ? WHERE id = ?", [(True, c) for c in deleted]
            )
        counted = [(uses[c], discounts[c], c) for c in uses if uses[c] or discounts[c]]
        if counted:
            cur.executemany(
                "UPDATE coupons_view SET uses = uses + ?, discount_paise = discount_paise + ?"
                " WHERE id = ?",
                counted,
            )
        if touched:
            cur.executemany(
                "UPDATE coupons_view SET updated_at = ? WHERE id = ?",
                [(at, cid) for cid, at in touched.items()],
            )
        per_customer = [
            (cid, customer, customer_uses[(cid, customer)], customer_discounts[(cid, customer)])
            for cid, customer in customer_uses
            if customer_uses[(cid, customer)] or customer_discounts[(cid, customer)]
        ]
        if per_customer:
            cur.executemany(
                "INSERT INTO coupon_customers (coupon_id, customer_id, uses, discount_paise)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (coupon_id, customer_id) DO UPDATE"
                " SET uses = coupon_customers.uses + excluded.uses,"
                " discount_paise = coupon_customers.discount_paise + excluded.discount_paise",
                per_customer,
            )
            # A customer whose uses all came back looks as a rebuild would show them: absent.
            cur.execute("DELETE FROM coupon_customers WHERE uses = 0")

    def dump(self, cur: Cursor) -> Iterator[tuple[Any, ...]]:
        """Every coupon by id, then every customer count by coupon and customer."""
        cur.execute(f"SELECT {', '.join(COLUMNS)} FROM coupons_view ORDER BY id")  # noqa: S608
        yield from (tuple(row) for row in cur.fetchall())
        cur.execute(
            "SELECT coupon_id, customer_id, uses, discount_paise FROM coupon_customers"
            " ORDER BY coupon_id, customer_id"
        )
        yield from (tuple(row) for row in cur.fetchall())


def _issued_row(event: EventRecord) -> dict[str, Any]:
    at = event.timestamp.isoformat()
    return {
        "id": event.originator_id,
        "code": event.data["code"],
        **{term: event.data["terms"].get(term) for term in TERMS},
        "deleted": False,
        "uses": 0,
        "discount_paise": 0,
        "created_at": at,
        "updated_at": at,
    }


@dataclass(frozen=True)
class CouponQuery:
    """A page of the coupon list."""

    page: int = 1
    limit: int = 20
    q: str | None = None  # part of the code
    include_deleted: bool = False


def list_coupons(cur: Cursor, query: CouponQuery) -> tuple[list[dict[str, Any]], int]:
    """One page of coupons (newest first) with their usage, and how many match."""
    where: list[str] = []
    params: list[Any] = []
    if not query.include_deleted:
        where.append("deleted = ?")
        params.append(False)
    if query.q:
        where.append("code LIKE ? ESCAPE '\\'")
        params.append(f"%{_escape_like(query.q.strip().upper())}%")
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    cur.execute(f"SELECT COUNT(*) FROM coupons_view{clause}", params)  # noqa: S608
    total = int(cur.fetchone()[0])
    cur.execute(
        f"SELECT {', '.join(COLUMNS)}, (SELECT COUNT(*) FROM coupon_customers u"  # noqa: S608
        f" WHERE u.coupon_id = coupons_view.id) FROM coupons_view{clause}"
        " ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
        [*params, query.limit, (query.page - 1) * query.limit],
    )
    items = []
    for row in cur.fetchall():
        item = dict(zip(COLUMNS, row[:-1], strict=True))
        item.update(active=bool(item["active"]), deleted=bool(item["deleted"]), customers=row[-1])
        items.append(item)
    return items, total


def customer_uses(cur: Cursor, coupon_id: str) -> list[dict[str, Any]]:
    """Each customer's uses of a coupon and the discount they got, most uses first."""
    cur.execute(
        "SELECT customer_id, uses, discount_paise FROM coupon_customers WHERE coupon_id = ?"
        " ORDER BY uses DESC, customer_id",
        (coupon_id,),
    )
    return [
        {"customer_id": str(r[0]), "uses": int(r[1]), "discount_paise": int(r[2])}
        for r in cur.fetchall()
    ]
