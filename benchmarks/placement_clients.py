"""Order placement under 1, 4 and 16 concurrent clients, with durable commits: our
application with group commit off (before) and on (after), against plain SQL rows.

Each client is a thread placing its share of the round's orders one after another:
ours through ``OrderingApp.save_new(Order.place(...))`` (one app shared by the clients,
as in an API process), the baseline through its own connection, one
``BEGIN; INSERT order; INSERT event; COMMIT`` per order (bench_placement's rows). On
SQLite the baseline's writers take turns on an in-process lock, as eventsourcing's
SQLite pool makes ours do (else SQLite's busy handler would sleep them, unfairly slow).

Durable on both sides: PostgreSQL is a throwaway server of bench_scaling's
``DurablePostgres`` (fsync=on, synchronous_commit=on) unless --pg-dsn names one, its
settings printed; SQLite runs as the product runs it (WAL, default synchronous), the
pragmas printed. The three sides alternate within each round (drift hits each alike);
ratios are medians of per-round ratios, and the batch sizes group commit formed are
counted on the committer during the "on" runs.
"""

from __future__ import annotations

import sqlite3
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from application.group_commit import GroupCommitStats
from application.ordering import OrderingApp
from benchmarks.bench_placement import (
    PostgresBaseline,
    SQLiteBaseline,
    _order_row,
    _sqlite_pragmas,
    fresh_keys,
    place_ours,
)
from benchmarks.support import (
    Options,
    Result,
    alternating,
    durable_postgres,
    fmt_rate,
    median,
    print_profile,
    print_table,
    section,
)
from infra.settings import Settings

BENCH = "placement"
CLIENTS = (1, 4, 16)
GOALS = {1: 0.8, 16: 1.0}
SIDES = ("off", "on", "baseline")

Place = Callable[[int, list[tuple[UUID, str]]], None]  # (client index, its keys)


class LockedSQLiteBaseline(SQLiteBaseline):
    """The SQLite baseline whose transactions take turns on a process-wide lock."""

    def __init__(self, path: str, lock: threading.Lock) -> None:
        super().__init__(path)
        self.lock = lock

    def place(self, keys: list[tuple[UUID, str]], details: dict[str, Any]) -> None:
        """BEGIN; INSERT order; INSERT event; COMMIT — per order, one writer at a time."""
        for order_id, tracking in keys:
            at = datetime.now(UTC).isoformat()
            oid = order_id.hex
            with self.lock:
                cur = self.conn.cursor()
                cur.execute("BEGIN")
                cur.execute(self.insert_order, _order_row(oid, tracking, details, at))
                cur.execute(self.insert_event, (oid, details["actor"], at))
                self.conn.commit()


def concurrently(place: Place, keys: list[tuple[UUID, str]], clients: int) -> float:
    """Seconds for `clients` threads to place these orders (each its own slice)."""
    shares = [keys[i::clients] for i in range(clients)]
    start = threading.Barrier(clients + 1)
    errors: list[BaseException] = []

    def client(index: int) -> None:
        start.wait()
        try:
            place(index, shares[index])
        except BaseException as error:  # reported after the run, not lost in a thread
            errors.append(error)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    if errors:
        raise errors[0]
    return seconds


def _sizes(stats: GroupCommitStats) -> str:
    """The commonest batch sizes, e.g. '16x41 15x3 1x2'."""
    top = Counter(stats.sizes).most_common(4)
    return " ".join(f"{size}x{count}" for size, count in top)


def compare_clients(
    backend: str, sides: dict[str, Place], on_app: OrderingApp, n: int, rounds: int
) -> list[Result]:
    """For each client count: alternating rounds of the three sides, n orders each."""
    results = []
    batch_rows = []
    for clients in CLIENTS:
        for side in sides.values():  # warm-up: connections, statements, caches
            concurrently(side, fresh_keys(10 * clients), clients)
        assert on_app.committer is not None
        on_app.committer.reset_stats()
        rates: dict[str, list[float]] = {name: [] for name in sides}
        ratios: dict[str, list[float]] = {"off": [], "on": []}
        for _, order in alternating(rounds, list(sides)):
            this = {name: n / concurrently(sides[name], fresh_keys(n), clients) for name in order}
            for name, rate in this.items():
                rates[name].append(rate)
            for name in ratios:
                ratios[name].append(this[name] / this["baseline"])
        stats = on_app.committer.stats
        batch_rows.append(
            [
                clients,
                stats.batches,
                f"{stats.mean_size():.1f}",
                max(stats.sizes, default=0),
                _sizes(stats),
            ]
        )
        for name, label in (("off", "group commit off (before)"), ("on", "group commit on")):
            results.append(
                Result(
                    BENCH,
                    backend,
                    f"orders placed, {clients} clients, durable, {label}",
                    median(rates[name]),
                    median(rates["baseline"]),
                    "/s",
                    GOALS.get(clients) if name == "on" else None,
                    f"median of {rounds} paired rounds",
                    median(ratios[name]),
                )
            )
    rows = [
        [
            r.metric.split(",")[1].strip(),
            r.metric.rsplit(",", 1)[1].strip(),
            fmt_rate(r.ours),
            fmt_rate(r.baseline),
            f"{r.ratio:.2f}",
        ]
        for r in results
    ]
    print_table(["clients", "ours", "ours rate", "baseline", "ours/baseline"], rows, "llrrr")
    print("\nbatches group commit formed (during the 'on' runs of each client count):")
    print_table(["clients", "batches", "mean size", "max", "commonest sizes"], batch_rows, "rrrrl")
    return results


def _apps(settings: dict[str, Any]) -> tuple[OrderingApp, OrderingApp]:
    """The ordering app with group commit off, and with the default settings (on)."""
    off = OrderingApp(env=Settings(**settings, group_commit_max=0).event_store_env("ordering"))
    on = OrderingApp(env=Settings(**settings).event_store_env("ordering"))
    return off, on


def profile_on(backend: str, on: OrderingApp, details: dict[str, Any]) -> None:
    """Where one client's placement time goes (group commit on): cProfile, top 15."""
    keys = fresh_keys(500)
    print_profile(f"placement on {backend}, 1 client", lambda: place_ours(on, keys, details))


def clients_sqlite(n: int, rounds: int, details: dict[str, Any], profile: bool) -> list[Result]:
    """SQLite: the ordering store's file, as production configures it."""
    with tempfile.TemporaryDirectory(prefix="fabledger-bench-") as tmp, ExitStack() as stack:
        off, on = _apps({"data_dir": Path(tmp), "database_url": ""})
        stack.callback(off.close)
        stack.callback(on.close)
        path = Settings(data_dir=Path(tmp)).event_store_env("ordering")["SQLITE_DBNAME"]
        lock = threading.Lock()
        baselines = [LockedSQLiteBaseline(path, lock) for _ in range(max(CLIENTS))]
        for baseline in baselines:
            stack.callback(baseline.close)
        section(f"Placement on SQLite, 1/4/16 clients ({path})")
        with sqlite3.connect(path) as probe:
            print(f"event store file: {_sqlite_pragmas(probe.cursor())}")
        print(f"baseline connections: {baselines[0].pragmas()}")
        results = compare_clients("sqlite", _sides(off, on, baselines, details), on, n, rounds)
        if profile:
            profile_on("SQLite", on, details)
        return results


def clients_postgres(
    dsn: str, n: int, rounds: int, details: dict[str, Any], profile: bool
) -> list[Result]:
    """PostgreSQL: one durable database holds the event store and the baseline tables."""
    with ExitStack() as stack:
        off, on = _apps({"data_dir": Path(tempfile.gettempdir()), "database_url": dsn})
        stack.callback(off.close)
        stack.callback(on.close)
        baselines = [PostgresBaseline(dsn) for _ in range(max(CLIENTS))]
        for baseline in baselines:
            stack.callback(baseline.close)
        section("Placement on durable PostgreSQL, 1/4/16 clients (a connection per client)")
        results = compare_clients("postgres", _sides(off, on, baselines, details), on, n, rounds)
        if profile:
            profile_on("durable PostgreSQL", on, details)
        return results


def _sides(
    off: OrderingApp,
    on: OrderingApp,
    baselines: Sequence[SQLiteBaseline | PostgresBaseline],
    details: dict[str, Any],
) -> dict[str, Place]:
    return {
        "off": lambda _i, keys: place_ours(off, keys, details),
        "on": lambda _i, keys: place_ours(on, keys, details),
        "baseline": lambda i, keys: baselines[i].place(keys, details),
    }


def run_clients(options: Options, details: dict[str, Any]) -> list[Result]:
    """Both backends, 1/4/16 clients, group commit off and on, against the baseline."""
    # Many short rounds: the disk's flush time drifts by 2x within seconds on this machine,
    # and a ratio of two sides measured a second apart tracks it better than of two runs.
    n, rounds = (160, 7) if options.quick else (320, 15)
    print(f"\nplacement with concurrent clients: {n} orders per side per round, {rounds} rounds")
    results = clients_sqlite(n, rounds, details, options.profile)
    with durable_postgres(options, "placement_clients") as dsn:
        if dsn is not None:
            results += clients_postgres(dsn, n, rounds, details, options.profile)
    return results
