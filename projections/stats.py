"""The dashboard view: order counts by status, money totals, revenue by day, materials and
recent activity.

Money is integer paise in every table (rupees only in what `read_stats` answers). Ordered
money is counted when an order is placed (cancelled orders included, like the totals), on
the UTC day of its `Placed`; paid money on the UTC day of its `PaymentConfirmed`. A payment
is credited to its order's material through `stats_order_materials` (one row per order),
so a payment folds correctly in any batch after the one that placed its order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from domain.coupons import EVENT_TYPES as COUPON_EVENTS
from domain.orders import STATUSES, payment_amount_paise
from domain.pricing import stored_total_paise
from projections.base import Cursor, EventRecord, Projection

RECENT_ACTIVITY = 50
_IN_CHUNK = 500  # ids per IN (...) list: far below every driver's parameter limit
_MONEY = ("ordered_orders", "ordered_paise", "paid_orders", "paid_paise")
_ADD_MONEY = ", ".join(f"{c} = {{table}}.{c} + excluded.{c}" for c in _MONEY)


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
        money = ", ".join(f"{c} BIGINT NOT NULL" for c in _MONEY)
        cur.execute(f"CREATE TABLE IF NOT EXISTS stats_daily (day TEXT PRIMARY KEY, {money})")
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS stats_materials (material TEXT PRIMARY KEY, {money})"
        )
        cur.execute(
            "CREATE TABLE IF NOT EXISTS stats_order_materials ("
            " order_id TEXT PRIMARY KEY, material TEXT NOT NULL)"
        )

    def drop(self, cur: Cursor) -> None:
        """Drop every stats table."""
        for table in (
            "stats_status_counts",
            "stats_totals",
            "stats_activity",
            "stats_daily",
            "stats_materials",
            "stats_order_materials",
        ):
            cur.execute(f"DROP TABLE IF EXISTS {table}")

    def apply(self, cur: Cursor, events: Sequence[EventRecord]) -> None:
        """Sum the batch's deltas in memory, then write each counter once."""
        by_status: Counter[str] = Counter()
        orders: Counter[str] = Counter()
        paise: Counter[str] = Counter()
        daily: dict[str, Counter[str]] = {}
        by_material: dict[str, Counter[str]] = {}
        placed_materials: dict[str, str] = {}
        payments: list[tuple[str, int]] = []
        for event in events:
            if event.type == "Placed":
                total = stored_total_paise(event.data["price"])
                by_status["pending"] += 1
                orders["placed"] += 1
                paise["placed"] += total
                _add(daily, _utc_day(event.timestamp), "ordered", total)
                material = str(event.data["material"])
                _add(by_material, material, "ordered", total)
                placed_materials[event.originator_id] = material
            elif event.type == "StatusChanged":
                by_status[event.data["from_status"]] -= 1
                by_status[event.data["to_status"]] += 1
            elif event.type == "PaymentConfirmed":
                amount = payment_amount_paise(event.data)
                orders["paid"] += 1
                paise["paid"] += amount
                _add(daily, _utc_day(event.timestamp), "paid", amount)
                payments.append((event.originator_id, amount))
        if placed_materials:
            cur.executemany(
                "INSERT INTO stats_order_materials (order_id, material) VALUES (?, ?)"
                " ON CONFLICT (order_id) DO NOTHING",
                sorted(placed_materials.items()),
            )
        materials = _materials_of(cur, {order_id for order_id, _ in payments})
        for order_id, amount in payments:
            if order_id in materials:  # a payment of an order never placed: no material
                _add(by_material, materials[order_id], "paid", amount)
        _add_money(cur, "stats_daily", "day", daily)
        _add_money(cur, "stats_materials", "material", by_material)
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
        # Coupons share the ordering log; their events are not an order's activity.
        recent = [e for e in events if e.type not in COUPON_EVENTS][-RECENT_ACTIVITY:]
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
        columns = ", ".join(_MONEY)
        cur.execute(f"SELECT 'd', day, {columns} FROM stats_daily ORDER BY day")  # noqa: S608
        yield from (tuple(r) for r in cur.fetchall())
        cur.execute(
            f"SELECT 'm', material, {columns} FROM stats_materials ORDER BY material"  # noqa: S608
        )
        yield from (tuple(r) for r in cur.fetchall())
        cur.execute("SELECT 'o', order_id, material FROM stats_order_materials ORDER BY order_id")
        yield from (tuple(r) for r in cur.fetchall())


def _utc_day(moment: datetime) -> str:
    """The UTC calendar day of an event's timestamp (naive timestamps are UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date().isoformat()


def _add(sums: dict[str, Counter[str]], key: str, kind: str, amount_paise: int) -> None:
    counter = sums.setdefault(key, Counter())
    counter[f"{kind}_orders"] += 1
    counter[f"{kind}_paise"] += amount_paise


def _add_money(cur: Cursor, table: str, key: str, sums: dict[str, Counter[str]]) -> None:
    """One upsert per changed row: the batch's sums are added to what is stored."""
    if not sums:
        return
    cur.executemany(
        f"INSERT INTO {table} ({key}, {', '.join(_MONEY)}) VALUES (?, ?, ?, ?, ?)"  # noqa: S608
        f" ON CONFLICT ({key}) DO UPDATE SET {_ADD_MONEY.format(table=table)}",
        [(k, *(sums[k][c] for c in _MONEY)) for k in sorted(sums)],
    )


def _materials_of(cur: Cursor, order_ids: set[str]) -> dict[str, str]:
    """The material of each of these orders, as recorded when it was placed."""
    found: dict[str, str] = {}
    ids = sorted(order_ids)
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        cur.execute(
            "SELECT order_id, material FROM stats_order_materials"  # noqa: S608
            f" WHERE order_id IN ({', '.join('?' for _ in chunk)})",
            chunk,
        )
        found.update({str(order_id): str(material) for order_id, material in cur.fetchall()})
    return found


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


def read_stats(
    cur: Cursor,
    recent: int = 20,
    *,
    days: int = 30,
    top_materials: int = 5,
    today: date | None = None,
) -> dict[str, Any]:
    """The dashboard: counts by status, totals, revenue by day, top materials, activity.

    `revenue_by_day` has one entry per UTC day of the `days` ending `today` (UTC), oldest
    first, days without orders or payments included as zeros. `top_materials` ranks the
    materials by ordered money, then orders, then name.
    """
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
        "revenue_by_day": _revenue_by_day(cur, days, today or datetime.now(UTC).date()),
        "top_materials": _top_materials(cur, top_materials),
        "recent_activity": activity,
    }


def _money_entry(row: Sequence[Any]) -> dict[str, Any]:
    """Orders and rupees from a (ordered_orders, ordered_paise, paid_orders, paid_paise) row."""
    ordered_n, ordered_p, paid_n, paid_p = (int(v) for v in row)
    return {
        "ordered_orders": ordered_n,
        "ordered_total": ordered_p / 100,
        "paid_orders": paid_n,
        "paid_total": paid_p / 100,
    }


def _revenue_by_day(cur: Cursor, days: int, today: date) -> list[dict[str, Any]]:
    first = today - timedelta(days=days - 1)
    cur.execute(
        f"SELECT day, {', '.join(_MONEY)} FROM stats_daily"  # noqa: S608
        " WHERE day >= ? AND day <= ?",
        (first.isoformat(), today.isoformat()),
    )
    stored = {str(row[0]): tuple(row[1:]) for row in cur.fetchall()}
    series = []
    for offset in range(days):
        day = (first + timedelta(days=offset)).isoformat()
        series.append({"date": day, **_money_entry(stored.get(day, (0, 0, 0, 0)))})
    return series


def _top_materials(cur: Cursor, limit: int) -> list[dict[str, Any]]:
    cur.execute(
        f"SELECT material, {', '.join(_MONEY)} FROM stats_materials"  # noqa: S608
        " ORDER BY ordered_paise DESC, ordered_orders DESC, material LIMIT ?",
        (limit,),
    )
    return [{"material": str(row[0]), **_money_entry(row[1:])} for row in cur.fetchall()]
