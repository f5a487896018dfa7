"""The printer-load view: which printer each order is assigned to, and each printer's queue.

Two tables, both folded from the ordering log in one transaction per batch:

- `printer_load_orders`: one row per order: its printer (NULL when unassigned), status,
  print hours (the price's `print_hours_total`, stored as whole hundredths of an hour so
  sums are exact and a rebuild equals the incremental fold) and what a queue lists.
- `printer_load`: per printer, the orders and hours that are queued (assigned, status
  pending or confirmed) and printing (status printing). Other statuses do not count. A
  printer with nothing queued or printing has no row (a rebuild never writes one).

A batch reads the rows of the orders it changes once, folds every event in memory, writes
each changed row once and adds the per-printer deltas with one upsert.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

from domain.orders import CONFIRMED, PENDING, PRINTING
from projections.base import Cursor, EventRecord, Projection, ViewDatabase

QUEUED = (PENDING, CONFIRMED)
BUSY = (*QUEUED, PRINTING)  # the statuses in which an order still needs its printer
_IN_CHUNK = 500  # ids per IN (...) list: far below every driver's parameter limit

ORDER_COLUMNS = (
    "order_id",
    "tracking_number",
    "material",
    "color",
    "quantity",
    "printer_id",
    "status",
    "hours_x100",
    "placed_at",
    "assigned_at",
)
_UPSERT_ORDER = (
    f"INSERT INTO printer_load_orders ({', '.join(ORDER_COLUMNS)})"  # noqa: S608
    f" VALUES ({', '.join('?' for _ in ORDER_COLUMNS)})"
    " ON CONFLICT (order_id) DO UPDATE SET printer_id = excluded.printer_id,"
    " status = excluded.status, assigned_at = excluded.assigned_at"
)
_ADD_LOAD = (
    "INSERT INTO printer_load (printer_id, queued_orders, queued_x100, printing_orders,"
    " printing_x100) VALUES (?, ?, ?, ?, ?) ON CONFLICT (printer_id) DO UPDATE SET"
    " queued_orders = printer_load.queued_orders + excluded.queued_orders,"
    " queued_x100 = printer_load.queued_x100 + excluded.queued_x100,"
    " printing_orders = printer_load.printing_orders + excluded.printing_orders,"
    " printing_x100 = printer_load.printing_x100 + excluded.printing_x100"
)


def hours_x100(price: dict[str, Any]) -> int:
    """A stored price's print_hours_total (either stored version) in hundredths of an hour."""
    return round(float(price.get("print_hours_total", 0) or 0) * 100)


class PrinterLoadProjection(Projection):
    """Folds Placed, StatusChanged and PrinterAssigned into the printer-load tables."""

    name = "printer_load"

    def create(self, cur: Cursor) -> None:
        """Create both tables and the index a printer's queue reads."""
        cur.execute(
            "CREATE TABLE IF NOT EXISTS printer_load_orders ("
            " order_id TEXT PRIMARY KEY, tracking_number TEXT NOT NULL,"
            " material TEXT NOT NULL, color TEXT NOT NULL, quantity INTEGER NOT NULL,"
            " printer_id TEXT, status TEXT NOT NULL, hours_x100 BIGINT NOT NULL,"
            " placed_at TEXT NOT NULL, assigned_at TEXT)"
        )
        cur.execute(
            "CREATE INDEX IF NOT EXISTS printer_load_orders_printer"
            " ON printer_load_orders (printer_id, status)"
        )
        cur.execute(
            "CREATE TABLE IF NOT EXISTS printer_load ("
            " printer_id TEXT PRIMARY KEY, queued_orders BIGINT NOT NULL,"
            " queued_x100 BIGINT NOT NULL, printing_orders BIGINT NOT NULL,"
            " printing_x100 BIGINT NOT NULL)"
        )

    def drop(self, cur: Cursor) -> None:
        """Drop both tables (the index goes with its table)."""
        cur.execute("DROP TABLE IF EXISTS printer_load_orders")
        cur.execute("DROP TABLE IF EXISTS printer_load")

    def apply(self, cur: Cursor, events: Sequence[EventRecord]) -> None:
        """Fold the batch in memory; write each changed order once, each printer's delta once."""
        relevant = [e for e in events if e.type in ("Placed", "StatusChanged", "PrinterAssigned")]
        if not relevant:
            return
        placed = {e.originator_id for e in relevant if e.type == "Placed"}
        before = _rows(cur, {e.originator_id for e in relevant} - placed)
        rows = {order_id: dict(row) for order_id, row in before.items()}
        for event in relevant:
            if event.type == "Placed":
                rows[event.originator_id] = _placed_row(event)
                continue
            row = rows.get(event.originator_id)
            if row is None:  # an order whose Placed this view never saw: nothing to count
                continue
            if event.type == "StatusChanged":
                row["status"] = event.data["to_status"]
            else:
                row["printer_id"] = event.data["printer_id"]
                row["assigned_at"] = event.timestamp.isoformat()
        delta: dict[str, Counter[str]] = {}
        for order_id, row in rows.items():
            old = before.get(order_id)
            if old is not None:
                _count(delta, old, -1)
            _count(delta, row, +1)
        changed = [r for oid, r in rows.items() if before.get(oid) != r]
        if changed:
            cur.executemany(_UPSERT_ORDER, [tuple(r[c] for c in ORDER_COLUMNS) for r in changed])
        adds = [
            (
                printer_id,
                d["queued_orders"],
                d["queued_x100"],
                d["printing_orders"],
                d["printing_x100"],
            )
            for printer_id, d in sorted(delta.items())
            if any(d.values())
        ]
        if adds:
            cur.executemany(_ADD_LOAD, adds)
            # A printer emptied by this batch must look the same as one a rebuild never saw.
            cur.execute("DELETE FROM printer_load WHERE queued_orders = 0 AND printing_orders = 0")

    def dump(self, cur: Cursor) -> Iterator[tuple[Any, ...]]:
        """Order rows by id, then per-printer loads by printer."""
        cur.execute(
            f"SELECT {', '.join(ORDER_COLUMNS)} FROM printer_load_orders"  # noqa: S608
            " ORDER BY order_id"
        )
        yield from (tuple(r) for r in cur.fetchall())
        cur.execute(
            "SELECT printer_id, queued_orders, queued_x100, printing_orders, printing_x100"
            " FROM printer_load ORDER BY printer_id"
        )
        yield from (tuple(r) for r in cur.fetchall())


def _placed_row(event: EventRecord) -> dict[str, Any]:
    data = event.data
    return {
        "order_id": event.originator_id,
        "tracking_number": data["tracking_number"],
        "material": data["material"],
        "color": data["color"],
        "quantity": int(data["quantity"]),
        "printer_id": None,
        "status": PENDING,
        "hours_x100": hours_x100(data["price"]),
        "placed_at": event.timestamp.isoformat(),
        "assigned_at": None,
    }


def _rows(cur: Cursor, order_ids: set[str]) -> dict[str, dict[str, Any]]:
    """The stored rows of these orders, by id."""
    found: dict[str, dict[str, Any]] = {}
    ids = sorted(order_ids)
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        cur.execute(
            f"SELECT {', '.join(ORDER_COLUMNS)} FROM printer_load_orders"  # noqa: S608
            f" WHERE order_id IN ({', '.join('?' for _ in chunk)})",
            chunk,
        )
        for row in cur.fetchall():
            item = dict(zip(ORDER_COLUMNS, row, strict=True))
            item["quantity"], item["hours_x100"] = int(item["quantity"]), int(item["hours_x100"])
            found[item["order_id"]] = item
    return found


def _count(delta: dict[str, Counter[str]], row: dict[str, Any], sign: int) -> None:
    printer_id, status = row["printer_id"], row["status"]
    if printer_id is None or status not in BUSY:
        return
    kind = "queued" if status in QUEUED else "printing"
    counter = delta.setdefault(printer_id, Counter())
    counter[f"{kind}_orders"] += sign
    counter[f"{kind}_x100"] += sign * int(row["hours_x100"])


# --- queries ------------------------------------------------------------------------------


def printer_utilisation(cur: Cursor) -> list[dict[str, Any]]:
    """Per printer with work: queued (pending/confirmed) and printing orders and hours.

    Hours are floats rounded to hundredths (the price's precision). Printers with nothing
    queued or printing are absent (read them as zeros). Ordered by printer id.
    """
    cur.execute(
        "SELECT printer_id, queued_orders, queued_x100, printing_orders, printing_x100"
        " FROM printer_load ORDER BY printer_id"
    )
    return [
        {
            "printer_id": str(printer_id),
            "queued_orders": int(queued_n),
            "queued_hours": int(queued_h) / 100,
            "printing_orders": int(printing_n),
            "printing_hours": int(printing_h) / 100,
        }
        for printer_id, queued_n, queued_h, printing_n, printing_h in cur.fetchall()
    ]


def load_hours(cur: Cursor) -> dict[str, float]:
    """Each busy printer's outstanding hours (queued + printing): what ranking calls load."""
    return {
        row["printer_id"]: round(row["queued_hours"] + row["printing_hours"], 2)
        for row in printer_utilisation(cur)
    }


def busy_orders(cur: Cursor, printer_id: str) -> int:
    """How many orders assigned to the printer still need it (pending/confirmed/printing)."""
    cur.execute(
        "SELECT COUNT(*) FROM printer_load_orders WHERE printer_id = ?"  # noqa: S608
        f" AND status IN ({', '.join('?' for _ in BUSY)})",
        (printer_id, *BUSY),
    )
    row = cur.fetchone()
    return int(row[0]) if row else 0


QUEUE_COLUMNS = ORDER_COLUMNS  # a queue entry is the order's whole row


def printer_queue(cur: Cursor, printer_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Orders assigned to these printers that still need them, oldest placed first."""
    if not printer_ids:
        return []
    items: list[dict[str, Any]] = []
    ids = sorted(set(printer_ids))
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        cur.execute(
            f"SELECT {', '.join(QUEUE_COLUMNS)} FROM printer_load_orders"  # noqa: S608
            f" WHERE printer_id IN ({', '.join('?' for _ in chunk)})"
            f" AND status IN ({', '.join('?' for _ in BUSY)})",
            (*chunk, *BUSY),
        )
        for row in cur.fetchall():
            item = dict(zip(QUEUE_COLUMNS, row, strict=True))
            item["quantity"] = int(item["quantity"])
            item["print_hours"] = int(item.pop("hours_x100")) / 100
            items.append(item)
    items.sort(key=lambda i: (i["placed_at"], i["order_id"]))
    return items


class PrinterLoadView:
    """application.assignment.PrinterLoads and application.print_config.PrinterAssignments over
    this view. It trails the log by the follow interval: a read that must include a write
    waits for its position first (read_after in the API)."""

    def __init__(self, views: ViewDatabase) -> None:
        self.views = views

    def load_hours(self) -> dict[str, float]:
        """Each busy printer's outstanding hours."""
        with self.views.reading() as cur:
            return load_hours(cur)

    def queue(self, printer_ids: list[str]) -> list[dict[str, Any]]:
        """Orders on these printers that still need them, oldest placed first."""
        with self.views.reading() as cur:
            return printer_queue(cur, printer_ids)

    def assigned_to(self, printer_id: UUID) -> int:
        """How many orders on the printer still need it (pending, confirmed, printing)."""
        with self.views.reading() as cur:
            return busy_orders(cur, str(printer_id))
