"""The usage view: live counters per meter and last use per API key, from Meter events."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from projections.base import Cursor, EventRecord, Projection

COUNTER_COLUMNS = (
    "meter_id",
    "org_id",
    "product",
    "period",
    "tier",
    "included",
    "hard_cap",
    "used",
    "reported_units",
    "pending_identifier",
    "last_usage_at",
)
# Later Meter events carry no org/product/period: they find their row by the meter id.
_UPDATE_COUNTER = (
    "UPDATE usage_counters SET tier = COALESCE(?, tier), included = COALESCE(?, included),"
    " hard_cap = COALESCE(?, hard_cap), used = used + ?, reported_units = reported_units + ?,"
    " pending_identifier = CASE WHEN ? THEN ? ELSE pending_identifier END,"
    " last_usage_at = COALESCE(?, last_usage_at) WHERE meter_id = ?"
)
# Keep the newer time: fed from Kafka, one key's meters (other streams, other partitions)
# can arrive out of log order. ISO-8601 UTC strings compare in time order.
_UPSERT_KEY = (
    "INSERT INTO api_key_usage (key_id, org_id, last_used_at, calls)"
    " VALUES (?, (SELECT org_id FROM usage_counters WHERE meter_id = ?), ?, ?)"
    " ON CONFLICT (key_id) DO UPDATE SET last_used_at = CASE"
    " WHEN excluded.last_used_at > api_key_usage.last_used_at THEN excluded.last_used_at"
    " ELSE api_key_usage.last_used_at END,"
    " calls = api_key_usage.calls + excluded.calls"
)


@dataclass
class _MeterDelta:
    """One meter's changes in a batch, summed in memory before a single write."""

    opened: dict[str, Any] | None = None
    plan: tuple[str, int, bool] | None = None
    used: int = 0
    reported: int = 0
    pending_changed: bool = False
    pending: str | None = None
    last_usage_at: str | None = None


@dataclass
class _KeyDelta:
    meter_id: str
    last_used_at: str
    calls: int = 0


class UsageProjection(Projection):
    """Folds the developer log's Meter events into `usage_counters` and `api_key_usage`."""

    name = "usage"

    def create(self, cur: Cursor) -> None:
        """Create both tables."""
        cur.execute(
            "CREATE TABLE IF NOT EXISTS usage_counters ("
            " meter_id TEXT NOT NULL UNIQUE, org_id TEXT NOT NULL, product TEXT NOT NULL,"
            " period TEXT NOT NULL, tier TEXT NOT NULL, included BIGINT NOT NULL,"
            " hard_cap BOOLEAN NOT NULL, used BIGINT NOT NULL, reported_units BIGINT NOT NULL,"
            " pending_identifier TEXT, last_usage_at TEXT,"
            " PRIMARY KEY (org_id, product, period))"
        )
        cur.execute(
            "CREATE TABLE IF NOT EXISTS api_key_usage ("
            " key_id TEXT PRIMARY KEY, org_id TEXT, last_used_at TEXT NOT NULL,"
            " calls BIGINT NOT NULL)"
        )

    def drop(self, cur: Cursor) -> None:
        """Drop both tables."""
        cur.execute("DROP TABLE IF EXISTS usage_counters")
        cur.execute("DROP TABLE IF EXISTS api_key_usage")

    def apply(self, cur: Cursor, events: Sequence[EventRecord]) -> None:
        """Sum each meter's and key's deltas, then write each row once."""
        meters: dict[str, _MeterDelta] = {}
        keys: dict[str, _KeyDelta] = {}
        for event in events:
            delta = meters.get(event.originator_id)
            if delta is None:
                delta = meters[event.originator_id] = _MeterDelta()
            _fold(delta, event)
            if event.type == "UsageRecorded":
                key = keys.get(event.data["key_id"])
                at = event.timestamp.isoformat()
                if key is None:
                    key = keys[event.data["key_id"]] = _KeyDelta(event.originator_id, at)
                key.last_used_at = max(key.last_used_at, at)
                key.calls += 1
        opened = [(meter_id, d) for meter_id, d in meters.items() if d.opened is not None]
        if opened:
            placeholders = ", ".join("?" for _ in COUNTER_COLUMNS)
            cur.executemany(
                f"INSERT INTO usage_counters ({', '.join(COUNTER_COLUMNS)})"  # noqa: S608
                f" VALUES ({placeholders})",
                [_opened_row(meter_id, d) for meter_id, d in opened],
            )
        cur.executemany(
            _UPDATE_COUNTER,
            [
                (
                    *(d.plan or (None, None, None)),
                    d.used,
                    d.reported,
                    d.pending_changed,
                    d.pending,
                    d.last_usage_at,
                    meter_id,
                )
                for meter_id, d in meters.items()
                if d.opened is None
            ],
        )
        cur.executemany(
            _UPSERT_KEY,
            [(key_id, k.meter_id, k.last_used_at, k.calls) for key_id, k in keys.items()],
        )

    def dump(self, cur: Cursor) -> Iterator[tuple[Any, ...]]:
        """Counters by meter, then keys by id."""
        cur.execute(
            f"SELECT {', '.join(COUNTER_COLUMNS)} FROM usage_counters ORDER BY meter_id"  # noqa: S608
        )
        yield from (tuple(row) for row in cur.fetchall())
        cur.execute("SELECT key_id, org_id, last_used_at, calls FROM api_key_usage ORDER BY key_id")
        yield from (tuple(row) for row in cur.fetchall())


def _fold(delta: _MeterDelta, event: EventRecord) -> None:
    data = event.data
    if event.type == "UsageRecorded":
        delta.used += data["units"]
        delta.last_usage_at = event.timestamp.isoformat()
    elif event.type == "Opened":
        delta.opened = {k: data[k] for k in ("org_id", "product", "period")}
        delta.plan = (data["tier"], data["included"], bool(data["hard_cap"]))
    elif event.type == "PlanApplied":
        delta.plan = (data["tier"], data["included"], bool(data["hard_cap"]))
    elif event.type == "ReportPrepared":
        delta.pending_changed, delta.pending = True, data["identifier"]
    elif event.type == "OverageReported":
        delta.reported += data["units"]
        delta.pending_changed, delta.pending = True, None


def _opened_row(meter_id: str, delta: _MeterDelta) -> tuple[Any, ...]:
    assert delta.opened is not None and delta.plan is not None
    tier, included, hard_cap = delta.plan
    return (
        meter_id,
        delta.opened["org_id"],
        delta.opened["product"],
        delta.opened["period"],
        tier,
        included,
        hard_cap,
        delta.used,
        delta.reported,
        delta.pending,
        delta.last_usage_at,
    )


def usage_for_org(cur: Cursor, org_id: str, period: str | None = None) -> list[dict[str, Any]]:
    """The organisation's counters, newest period first, then by product."""
    where, params = "org_id = ?", [org_id]
    if period is not None:
        where += " AND period = ?"
        params.append(period)
    cur.execute(
        f"SELECT {', '.join(COUNTER_COLUMNS)} FROM usage_counters"  # noqa: S608
        f" WHERE {where} ORDER BY period DESC, product",
        params,
    )
    return [_counter(row) for row in cur.fetchall()]


def meters_with_unreported_overage(cur: Cursor) -> list[str]:
    """Meters that may owe a report (the Meter aggregate makes the final decision)."""
    cur.execute(
        "SELECT meter_id FROM usage_counters WHERE NOT hard_cap"
        " AND (used - included > reported_units OR pending_identifier IS NOT NULL)"
        " ORDER BY meter_id"
    )
    return [str(row[0]) for row in cur.fetchall()]


def key_last_used(cur: Cursor, key_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
    """(last used at, calls) of each key that was ever used."""
    if not key_ids:
        return {}
    placeholders = ", ".join("?" for _ in key_ids)
    cur.execute(
        "SELECT key_id, last_used_at, calls FROM api_key_usage"  # noqa: S608
        f" WHERE key_id IN ({placeholders})",
        list(key_ids),
    )
    return {str(k): (str(at), int(calls)) for k, at, calls in cur.fetchall()}


def _counter(row: Sequence[Any]) -> dict[str, Any]:
    item = dict(zip(COUNTER_COLUMNS, row, strict=True))
    item["hard_cap"] = bool(item["hard_cap"])
    item["overage"] = 0 if item["hard_cap"] else max(0, item["used"] - item["included"])
    item["remaining"] = max(0, item["included"] - item["used"])
    return item
