"""Order placement: our application layer against plain SQL, on SQLite and on PostgreSQL.

Ours: ``OrderingApp.save_new(Order.place(...))`` for each order, exactly what
``Checkout.place`` does once the model is analysed and priced: build the aggregate
(the ``Placed`` event), encode it, and record it in one transaction of the
production event store (``Settings.event_store_env("ordering")``).

Baseline, "the same order as rows": what a hand-written service would do to keep the
same order and an audit trail, one transaction per order:

* one ``orders_baseline`` row with every field ``Order.place`` takes, one column each;
  the mesh summary (``model``), the price breakdown (``price``) and the shipping
  address are JSON text columns (``json.dumps`` per order, timed), plus the status,
  the paid flag and a creation timestamp;
* one ``order_events_baseline`` row for the ``Placed`` event: order id, version 1,
  type, actor and timestamp. It deliberately carries no payload (the order row holds
  it), so the baseline writes fewer bytes than an event store, which stores the whole
  event: a conservative baseline.

Indexes match the event store's: the order's primary key, and the event's
(order_id, version) key (plus a serial id on PostgreSQL, like notification_id).

Both sides share the database (the event store's SQLite file, or one PostgreSQL
database), the machine and the durability settings: on SQLite the baseline connection is
opened as eventsourcing's recorder opens its own (autocommit mode with an explicit
``BEGIN`` ... ``COMMIT``, WAL journal, default ``synchronous``), on PostgreSQL it is one
plain ``BEGIN; INSERT; INSERT; COMMIT`` per order on one connection. Order ids (uuid4) and
tracking numbers are generated before the clock starts, for both sides; the details
(model summary and price breakdown) are computed once, through the real analyser and
quoter, as a checkout would.

Rounds alternate (ours then baseline, baseline then ours, ...); each round's two runs
are adjacent in time, so the reported ratio is the median of the per-round ratios (the
absolute rates are the medians of each side).

Then ``benchmarks/placement_clients.py``: the same placement with 1, 4 and 16 concurrent
clients on durable stores (its own fsync=on PostgreSQL server), group commit off (before)
and on (after), with the batch sizes group commit formed. The single-client rows above
run on the shared benchmark server (fsync=off when it is the throwaway one).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg

from application.catalog import CatalogApp
from application.checkout import geometry_of
from application.ordering import OrderingApp, new_tracking_number
from application.ports import StoredModel
from application.quoting import Quoter, QuoteRequest
from application.shipping import ShippingApp
from benchmarks.support import (
    Options,
    PgTarget,
    Result,
    alternating,
    fmt_rate,
    main_with_postgres,
    median,
    print_table,
    section,
    timed,
)
from domain.orders import Order
from infra.mesh import TrimeshAnalyzer
from infra.pincodes import OfflinePinDirectory
from infra.settings import Settings
from tests.support.factories import cube_stl

BENCH = "placement"
ROUNDS = 5
WARMUP = 50

SHIPPING_ADDRESS = {
    "name": "Asha Rao",
    "address": "14, 2nd Cross, Indiranagar 1st Stage",
    "city": "Bengaluru",
    "zip": "560038",
}


def order_sizes(quick: bool) -> int:
    """Orders per round."""
    return 300 if quick else 2000


# --- realistic details ---------------------------------------------------------------


def checkout_details(
    *,
    material: str = "PETG",
    quantity: int = 2,
    fulfillment: str = "shipping",
    priority: bool = False,
    customer_id: str = "user-0001",
    size_mm: float = 42.0,
) -> dict[str, Any]:
    """The keyword arguments Checkout.place passes to Order.place (minus id and tracking).

    Computed the way a checkout computes them: the mesh analyser's summary of a real STL,
    the stored-model record, and the quoter's price breakdown from the seeded catalog.
    """
    data = cube_stl(size_mm)
    filename = "bracket-v3.stl"
    summary = TrimeshAnalyzer().analyze(data, filename)
    stored = StoredModel(
        sha256=hashlib.sha256(data).hexdigest(), filename=filename, size_bytes=len(data)
    )
    catalog = CatalogApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    catalog.seed_defaults()
    address = SHIPPING_ADDRESS if fulfillment == "shipping" else None
    shipping = ShippingApp(OfflinePinDirectory(), env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    shipping.seed_defaults()
    price = Quoter(catalog, shipping).quote(
        QuoteRequest(
            geometry=geometry_of(summary),
            material=material,
            color=None,
            quantity=quantity,
            infill_pct=20,
            priority=priority,
            fulfillment=fulfillment,
            shipping_zip=address["zip"] if address else None,
        )
    )
    choices = {
        "customer_id": customer_id,
        "material": material,
        "quantity": quantity,
        "fulfillment": fulfillment,
        "model_sha256": stored.sha256,
    }
    return {
        "customer_id": customer_id,
        "customer_email": f"{customer_id}@example.com",
        "group_id": None,
        "model": {**summary.to_dict(), **asdict(stored)},
        "material": price.material,
        "color": price.color,
        "quantity": quantity,
        "infill_pct": 20,
        "fulfillment": fulfillment,
        "priority": priority,
        "shipping_address": address,
        "customer_notes": "Please print with the flat face down; no brim if possible.",
        "price": price.to_dict(),
        "settings_version": price.settings_version,
        "request_fingerprint": hashlib.sha256(
            json.dumps(choices, sort_keys=True).encode()
        ).hexdigest(),
        "actor": f"customer:{customer_id}",
    }


def fresh_keys(n: int) -> list[tuple[UUID, str]]:
    """n (order id, tracking number) pairs, as each checkout makes them."""
    return [(uuid4(), new_tracking_number()) for _ in range(n)]


# --- ours ---------------------------------------------------------------------------


def place_ours(app: OrderingApp, keys: list[tuple[UUID, str]], details: dict[str, Any]) -> None:
    """One Order.place + save_new (one transaction) per order."""
    for order_id, tracking in keys:
        app.save_new(Order.place(order_id=order_id, tracking_number=tracking, **details))


# --- baseline -----------------------------------------------------------------------

_ORDER_COLUMNS = (
    "id",
    "customer_id",
    "customer_email",
    "tracking_number",
    "group_id",
    "model",
    "material",
    "color",
    "quantity",
    "infill_pct",
    "fulfillment",
    "priority",
    "shipping_address",
    "customer_notes",
    "price",
    "settings_version",
    "request_fingerprint",
    "status",
    "is_paid",
    "created_at",
)


def _order_row(order_id: str, tracking: str, details: dict[str, Any], at: str) -> tuple[Any, ...]:
    address = details["shipping_address"]
    return (
        order_id,
        details["customer_id"],
        details["customer_email"],
        tracking,
        details["group_id"],
        json.dumps(details["model"]),
        details["material"],
        details["color"],
        details["quantity"],
        details["infill_pct"],
        details["fulfillment"],
        details["priority"],
        json.dumps(address) if address is not None else None,
        details["customer_notes"],
        json.dumps(details["price"]),
        details["settings_version"],
        details["request_fingerprint"],
        "pending",
        False,
        at,
    )


def _insert_order_sql(mark: str) -> str:
    return (
        f"INSERT INTO orders_baseline ({', '.join(_ORDER_COLUMNS)})"
        f" VALUES ({', '.join(mark for _ in _ORDER_COLUMNS)})"
    )


def _insert_event_sql(mark: str) -> str:
    return (
        "INSERT INTO order_events_baseline (order_id, version, type, actor, at)"
        f" VALUES ({mark}, 1, 'Placed', {mark}, {mark})"
    )


_ORDERS_DDL = (
    "CREATE TABLE IF NOT EXISTS orders_baseline ("
    " id {id} PRIMARY KEY, customer_id TEXT NOT NULL, customer_email TEXT NOT NULL,"
    " tracking_number TEXT NOT NULL, group_id TEXT, model TEXT NOT NULL,"
    " material TEXT NOT NULL, color TEXT NOT NULL, quantity INTEGER NOT NULL,"
    " infill_pct DOUBLE PRECISION NOT NULL, fulfillment TEXT NOT NULL,"
    " priority BOOLEAN NOT NULL, shipping_address TEXT, customer_notes TEXT NOT NULL,"
    " price TEXT NOT NULL, settings_version INTEGER NOT NULL,"
    " request_fingerprint TEXT NOT NULL, status TEXT NOT NULL, is_paid BOOLEAN NOT NULL,"
    " created_at TEXT NOT NULL)"
)


class SQLiteBaseline:
    """Plain sqlite3 on the event store's file, opened the way eventsourcing opens it."""

    def __init__(self, path: str) -> None:
        # As eventsourcing.sqlite: autocommit mode (explicit BEGIN), WAL, default synchronous.
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute(_ORDERS_DDL.format(id="TEXT"))
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS order_events_baseline ("
            " order_id TEXT NOT NULL, version INTEGER NOT NULL, type TEXT NOT NULL,"
            " actor TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (order_id, version))"
        )
        self.insert_order = _insert_order_sql("?")
        self.insert_event = _insert_event_sql("?")

    def place(self, keys: list[tuple[UUID, str]], details: dict[str, Any]) -> None:
        """BEGIN; INSERT order; INSERT event; COMMIT — per order."""
        for order_id, tracking in keys:
            at = datetime.now(UTC).isoformat()
            oid = order_id.hex  # eventsourcing stores UUIDs as hex text in SQLite
            cur = self.conn.cursor()
            cur.execute("BEGIN")
            cur.execute(self.insert_order, _order_row(oid, tracking, details, at))
            cur.execute(self.insert_event, (oid, details["actor"], at))
            self.conn.commit()

    def pragmas(self) -> str:
        """The settings that decide commit cost, as this connection sees them."""
        return _sqlite_pragmas(self.conn.cursor())

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


def _sqlite_pragmas(cur: Any) -> str:
    cur.execute("PRAGMA journal_mode")
    journal = cur.fetchone()[0]
    cur.execute("PRAGMA synchronous")
    sync = cur.fetchone()[0]
    names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
    return f"journal_mode={journal} synchronous={names.get(sync, sync)}"


class PostgresBaseline:
    """Plain psycopg on the event store's database: BEGIN; INSERT; INSERT; COMMIT."""

    def __init__(self, dsn: str) -> None:
        self.conn = psycopg.connect(dsn)
        with self.conn.transaction():
            self.conn.execute(_ORDERS_DDL.format(id="UUID"))
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS order_events_baseline ("
                " id BIGSERIAL UNIQUE, order_id UUID NOT NULL, version INTEGER NOT NULL,"
                " type TEXT NOT NULL, actor TEXT NOT NULL, at TEXT NOT NULL,"
                " PRIMARY KEY (order_id, version))"
            )
        self.insert_order = _insert_order_sql("%s")
        self.insert_event = _insert_event_sql("%s")

    def place(self, keys: list[tuple[UUID, str]], details: dict[str, Any]) -> None:
        """One transaction per order (statements are prepared by psycopg after 5 uses)."""
        for order_id, tracking in keys:
            at = datetime.now(UTC).isoformat()
            with self.conn.transaction(), self.conn.cursor() as cur:
                cur.execute(self.insert_order, _order_row(order_id, tracking, details, at))  # type: ignore[arg-type]
                cur.execute(self.insert_event, (order_id, details["actor"], at))

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


# --- the comparison -------------------------------------------------------------------


def compare(
    backend: str,
    app: OrderingApp,
    baseline: SQLiteBaseline | PostgresBaseline,
    n: int,
    details: dict[str, Any],
) -> Result:
    """Alternating rounds of n orders each; medians compared."""
    runs: dict[str, Callable[[list[tuple[UUID, str]]], None]] = {
        "ours": lambda keys: place_ours(app, keys, details),
        "baseline": lambda keys: baseline.place(keys, details),
    }
    for run in runs.values():  # warm-up: connections, prepared statements, caches
        run(fresh_keys(WARMUP))
    rates: dict[str, list[float]] = {"ours": [], "baseline": []}
    ratios: list[float] = []
    rows = []
    for index, order in alternating(ROUNDS, list(runs)):
        round_rates = {}
        for name in order:
            run, keys = runs[name], fresh_keys(n)
            seconds, _ = timed(partial(run, keys))
            round_rates[name] = n / seconds
            rates[name].append(n / seconds)
        ratios.append(round_rates["ours"] / round_rates["baseline"])
        rows.append(
            [
                f"{index + 1} ({'/'.join(order)})",
                fmt_rate(round_rates["ours"]),
                fmt_rate(round_rates["baseline"]),
                f"{round_rates['ours'] / round_rates['baseline']:.2f}",
            ]
        )
    result = Result(
        BENCH,
        backend,
        f"orders placed, {n}/round, 1 tx each, store settings as printed",
        median(rates["ours"]),
        median(rates["baseline"]),
        "/s",
        None,  # the goal is judged on the durable rows (placement_clients)
        f"median of {ROUNDS} paired rounds",
        median(ratios),
    )
    rows.append(["median", fmt_rate(result.ours), fmt_rate(result.baseline), f"{result.ratio:.2f}"])
    print_table(["round (order)", "ours", "baseline", "ours/baseline"], rows, align="lrrr")
    return result


def bench_sqlite(n: int, details: dict[str, Any]) -> Result:
    """SQLite: the ordering store's file, as production configures it."""
    with tempfile.TemporaryDirectory(prefix="fabledger-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp), database_url="")
        env = settings.event_store_env("ordering")
        app = OrderingApp(env=env)
        baseline = SQLiteBaseline(env["SQLITE_DBNAME"])
        try:
            section(f"Placement on SQLite ({env['SQLITE_DBNAME']})")
            with app.recorder.datastore.transaction(commit=False) as cur:  # type: ignore[attr-defined]
                ours_pragmas = _sqlite_pragmas(cur)
            print(f"event store connection: {ours_pragmas}")
            print(f"baseline connection:    {baseline.pragmas()}")
            return compare("sqlite", app, baseline, n, details)
        finally:
            baseline.close()
            app.close()


def bench_postgres(pg: PgTarget, n: int, details: dict[str, Any]) -> Result:
    """PostgreSQL: one database holds the event store and the baseline tables."""
    with pg.database("placement") as dsn:
        settings = Settings(data_dir=Path(tempfile.gettempdir()), database_url=dsn)
        app = OrderingApp(env=settings.event_store_env("ordering"))
        baseline = PostgresBaseline(dsn)
        try:
            section("Placement on PostgreSQL (one database, commit per order)")
            return compare("postgres", app, baseline, n, details)
        finally:
            baseline.close()
            app.close()


def run(options: Options, pg: PgTarget | None) -> list[Result]:
    """Both backends (PostgreSQL when a server is available)."""
    n = order_sizes(options.quick)
    details = checkout_details()
    print(
        f"\nplacement: {n} orders per round, {ROUNDS} alternating rounds;"
        f" Placed event state {len(json.dumps(details, default=str))} bytes of JSON details"
    )
    results = [bench_sqlite(n, details)]
    if pg is not None:
        results.append(bench_postgres(pg, n, details))
    from benchmarks.placement_clients import run_clients  # it imports this module

    return results + run_clients(options, details)


def main(argv: list[str] | None = None) -> None:
    """python -m benchmarks.bench_placement [--quick] [--pg-dsn URL] [--no-postgres]."""
    main_with_postgres(__doc__ or "", run, argv)


if __name__ == "__main__":
    main()
