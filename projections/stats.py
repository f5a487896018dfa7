"""The dashboard view: order counts by status, money totals and recent activity."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from domain.orders import STATUSES, payment_amount_paise
from domain.pricing import stored_total_paise
from projections.base import Cursor, EventRecord, Projection

RECENT_ACTIVITY = 50


class StatsProjection(Projection):
    """Folds order events into counters: a batch becomes a handful of upserts."""

    name = "stats"

    def create(self, cur: Cursor) -> None:
        """Create the counter and activity tables."""
        cur.execute(
            "CREATE TABLE IF NOT EXISTS stats_status_counts ("
            " status TEXT PRIMARY KEY, orders BIGINT NOT NULL)"
        )
        cur.execute(
            "CREATE TABLE IF NOT EXISTS stats_totals ("
            " name TEXT PRIMARY KEY, orders BIGINT NOT NULL, amount_paise BIGINT NOT NULL)"
        )
        cur.execute(
            "CREATE TABLE IF NOT EXISTS stats_activity ("
            " position BIGINT PRIMARY KEY, order_id TEXT NOT NULL, type TEXT NOT NULL,"
            " actor TEXT NOT NULL, at TEXT NOT NULL, summary TEXT NOT NULL)"
        )

    def drop(self, cur: Cursor) -> None:
        """Drop every stats table."""
        for table in ("stats_status_counts", "stats_totals", "stats_activity"):
            cur.execute(f"DROP TABLE IF EXISTS {table}")

    def apply(self, cur: Cursor, events: Sequence[EventRecord]) -> None:
        """Sum the batch's deltas in memory, then write each counter once."""
        by_status: Counter[str] = Counter()
        orders: Counter[str] = Counter()
        paise: Counter[str] = Counter()
        for event in events:
            if event.type == "Placed":
                by_status["pending"] += 1
                orders["placed"] += 1
                paise["placed"] += stored_total_paise(event.data["price"])
            elif event.type == "StatusChanged":
                by_status[event.data["from_status"]] -= 1
                by_status[event.data["to_status"]] += 1
            elif event.type == "PaymentConfirmed":
                orders["paid"] += 1
                paise["paid"] += payment_amount_paise(event.data)
        cur.executemany(
            "INSERT INTO stats_status_counts (status, orders) VALUES (?, ?)"
            " ON CONFLICT (status) DO UPDATE"
            " SET orders = stats_status_counts.orders + excluded.orders",
            [(status, delta) for status, delta in by_status.items() if delta],
        )
        # A status emptied by this batch must look the same as one a rebuild never saw.
        cur.execute("DELETE FROM stats_status_counts WHERE orders = 0")
        cur.executemany(
            "INSERT INTO stats_totals (name, orders, amount_paise) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET orders = stats_totals.orders + excluded.orders,"
            " amount_paise = stats_totals.amount_paise + excluded.amount_paise",
            [(name, orders[name], paise[name]) for name in orders],
        )
        recent = events[-RECENT_ACTIVITY:]
        cur.executemany(
            "INSERT INTO stats_activity (position, order_id, type, actor, at, summary)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (e.position, e.originator_id, e.type, e.actor, e.timestamp.isoformat(), _summary(e))
                for e in recent
            ],
        )
        _trim_activity(cur)

    def dump(self, cur: Cursor) -> Iterator[tuple[Any, ...]]:
        """Counters, totals and activity, each in key order."""
        cur.execute("SELECT 's', status, orders, 0 FROM stats_status_counts ORDER BY status")
        yield from (tuple(r) for r in cur.fetchall())
        cur.execute("SELECT 't', name, orders, amount_paise FROM stats_totals ORDER BY name")
        yield from (tuple(r) for r in cur.fetchall())
        cur.execute(
            "SELECT position, order_id, type, actor, at, summary FROM stats_activity"
            " ORDER BY position"
        )
        yield from (tuple(r) for r in cur.fetchall())


def _trim_activity(cur: Cursor) -> None:
    """Keep only the newest activity rows."""
    cur.execute(
        "DELETE FROM stats_activity WHERE position <"
        " (SELECT MIN(position) FROM (SELECT position FROM stats_activity"
        " ORDER BY position DESC LIMIT ?) AS newest)",
        (RECENT_ACTIVITY,),
    )


def _summary(event: EventRecord) -> str:
    data = event.data
    if event.type == "Placed":
        return f"order {data['tracking_number']} placed ({data['material']}, x{data['quantity']})"
    if event.type == "StatusChanged":
        return f"status {data['from_status']} -> {data['to_status']}"
    if event.type == "PaymentConfirmed":
        return f"payment confirmed ({data['method']})"
    if event.type == "CarrierTrackingSet":
        return f"carrier tracking {data['tracking_number']}"
    if event.type == "NoteAdded":
        return "internal note added" if data["is_internal"] else "note added"
    return event.type


def read_stats(cur: Cursor, recent: int = 20) -> dict[str, Any]:
    """The dashboard: counts by status, totals and the newest activity."""
    cur.execute("SELECT status, orders FROM stats_status_counts ORDER BY status")
    counts = dict.fromkeys(STATUSES, 0)
    counts.update({status: int(n) for status, n in cur.fetchall()})
    cur.execute("SELECT name, orders, amount_paise FROM stats_totals")
    totals = {name: (int(n), int(p)) for name, n, p in cur.fetchall()}
    cur.execute(
        "SELECT position, order_id, type, actor, at, summary FROM stats_activity"
        " ORDER BY position DESC LIMIT ?",
        (recent,),
    )
    activity = [
        dict(zip(("position", "order_id", "type", "actor", "at", "summary"), row, strict=True))
        for row in cur.fetchall()
    ]
    placed_n, placed_p = totals.get("placed", (0, 0))
    paid_n, paid_p = totals.get("paid", (0, 0))
    return {
        "orders_by_status": counts,
        "total_orders": placed_n,
        "revenue": {
            "currency": "INR",
            "ordered_total": placed_p / 100,
            "paid_total": paid_p / 100,
            "paid_orders": paid_n,
        },
        "recent_activity": activity,
    }
