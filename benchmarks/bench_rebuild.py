"""Projection rebuild: ProjectionRunner.rebuild() against a raw scan of the same log.

The ordering store is filled with E events of realistic order lifecycles (see
``LifecyclePlan``): most orders are paid and go through production, some are shipped
with a carrier tracking number and delivered, some get notes, a few are cancelled or
stay pending. Events of different orders interleave in the log as they do in
production: every transaction places a fresh block of orders *and* moves each older,
still active block one step along, so an order's events are spread over tens of
thousands of positions and most updates land in a later projection batch than their
``Placed``.

Then, in alternating rounds, on the same log:

* ours: ``ProjectionRunner(app, OrdersProjection(), views).rebuild()`` and the same for
  ``StatsProjection`` (drop, create, read the whole log in batches of the runner's batch
  sizes, fold each batch and advance the position in one view transaction; a projection
  with ``DeferredIndexes`` gets its secondary indexes after the load);
* baseline "fetch": ``app.recorder.select_notifications(position, limit=batch,
  inclusive_of_start=False)`` until exhausted, the read half of a rebuild;
* baseline "fetch+json": the same plus ``json.loads`` of every notification's state, the
  least any consumer of the log must do.

Rates are events/s; the ratio compares each rebuild with each baseline. ``--profile``
adds a per-phase breakdown of a rebuild (fetch / decode / fold+commit) and cProfile's
top functions by cumulative time.
"""

from __future__ import annotations

import json
import random
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from operator import length_hint
from pathlib import Path
from typing import Any
from uuid import uuid4

from application.ordering import OrderingApp, new_tracking_number
from benchmarks.bench_placement import checkout_details
from benchmarks.support import (
    Options,
    PgTarget,
    Result,
    Stopwatch,
    alternating,
    fmt_rate,
    fmt_seconds,
    main_with_postgres,
    median,
    print_profile,
    print_table,
    section,
    timed,
)
from domain.orders import Order
from infra.bootstrap import view_database
from infra.settings import Settings
from projections.base import Projection, ViewDatabase
from projections.orders import OrdersProjection
from projections.runner import (
    DeferredIndexes,
    ProjectionRunner,
    _advance_position,
    event_record,
    gc_paused,
)
from projections.stats import StatsProjection

BENCH = "rebuild"
GOAL = 0.6  # ours / fetch + json decode of the same rows (issue 13)
PG_SECONDS_GOAL = 20.0  # a 1M-event PostgreSQL rebuild (issue 13)
BLOCK = 500  # new orders per generating transaction
ROUNDS = 2
SEED = 20261121


def sizes(quick: bool) -> dict[str, int]:
    """Events to generate per backend."""
    if quick:
        return {"sqlite": 50_000, "postgres": 100_000}
    return {"sqlite": 200_000, "postgres": 1_000_000}


# --- generating a realistic log ----------------------------------------------------------

Step = Callable[[Order], None]
STAFF = ("staff:asha", "staff:ravi", "staff:meera")


class LifecyclePlan:
    """What happens to each order after it is placed, one step per generating transaction."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def steps(self, order: Order, customer: str) -> list[Step]:
        """The steps of one order (each step writes one event, payment writes two)."""
        rng = self.rng
        staff = rng.choice(STAFF)
        roll = rng.random()
        if roll < 0.04:  # abandoned: stays pending
            return []
        if roll < 0.10:  # cancelled before payment
            return [lambda o: o.change_status("cancelled", actor=customer)]
        steps: list[Step] = [
            lambda o: o.confirm_payment(
                method=rng.choice(("upi", "card")),
                reference=f"pay_{uuid4().hex[:14]}",
                actor="system:payments",
            ),
            lambda o: o.change_status("printing", actor=staff),
            lambda o: o.change_status("post_processing", actor=staff),
        ]
        if rng.random() < 0.85:
            if order.fulfillment == "shipping":
                steps.append(
                    lambda o: o.set_carrier_tracking(
                        tracking_number=f"EE{rng.randrange(10**9):09d}IN",
                        tracking_url="https://www.indiapost.gov.in/track",
                        shipping_id=f"ship_{uuid4().hex[:10]}",
                        actor=staff,
                    )
                )
            steps.append(lambda o: o.change_status("shipped", actor=staff))
            if rng.random() < 0.75:
                steps.append(lambda o: o.change_status("delivered", actor="system:carrier"))
        if rng.random() < 0.2:
            internal = rng.random() < 0.5
            steps.insert(
                rng.randrange(1, len(steps) + 1),
                lambda o: o.add_note(
                    note_id=uuid4().hex[:16],
                    text="Customer asked for matte finish; checked layer lines before packing.",
                    is_internal=internal,
                    actor=staff,
                ),
            )
        return steps


@dataclass
class Generated:
    """What generation produced."""

    events: int
    orders: int
    transactions: int
    seconds: float


def detail_variants() -> list[dict[str, Any]]:
    """Priced details for a spread of materials, quantities and fulfilments."""
    variants = []
    for material in ("PLA", "PETG", "ABS", "TPU"):
        for fulfillment in ("pickup", "shipping"):
            for quantity, size in ((1, 25.0), (3, 42.0)):
                variants.append(
                    checkout_details(
                        material=material,
                        quantity=quantity,
                        fulfillment=fulfillment,
                        priority=quantity == 1 and material == "ABS",
                        size_mm=size,
                    )
                )
    return variants


def generate(app: OrderingApp, target: int) -> Generated:
    """About `target` events of interleaved order lifecycles, many aggregates per save."""
    rng = random.Random(SEED)
    plan = LifecyclePlan(rng)
    variants = detail_variants()
    active: deque[list[tuple[Order, Iterator[Step]]]] = deque()
    written = orders = transactions = 0
    remaining = 0  # events still planned for active orders

    def place() -> tuple[Order, Iterator[Step]]:
        details = dict(rng.choice(variants))
        customer = f"user-{rng.randrange(20_000):05d}"
        details.update(
            customer_id=customer,
            customer_email=f"{customer}@example.com",
            actor=f"customer:{customer}",
        )
        order = Order.place(order_id=uuid4(), tracking_number=new_tracking_number(), **details)
        return order, iter(plan.steps(order, details["actor"]))

    start = Stopwatch()
    with start:
        while True:
            batch: list[Order] = []
            room = target - written - remaining
            if room > 0:
                block = [place() for _ in range(min(BLOCK, max(1, room // 6)))]
                orders += len(block)
                batch.extend(order for order, _ in block)
                active.append(block)
            for block in active:
                for order, steps in block:
                    step = next(steps, None)
                    if step is not None:
                        step(order)
                        batch.append(order)
            while active and all(_done(steps) for _, steps in active[0]):
                active.popleft()
            if not batch:
                break
            written += len(app.save(*batch))
            transactions += 1
            remaining = _remaining(active)
    return Generated(written, orders, transactions, start.seconds)


def _done(steps: Iterator[Step]) -> bool:
    return length_hint(steps) == 0


def _remaining(active: deque[list[tuple[Order, Iterator[Step]]]]) -> int:
    # A payment step writes two events; close enough for sizing (about 1 step in 6).
    return sum(length_hint(steps) * 7 // 6 for block in active for _, steps in block)


# --- the runs ----------------------------------------------------------------------------


def scan(app: OrderingApp, batch: int, decode: bool) -> int:
    """Read the whole log in batches (and json.loads each state): the raw baseline."""
    seen, position = 0, 0
    loads = json.loads
    while True:
        notifications = app.recorder.select_notifications(
            start=position, limit=batch, inclusive_of_start=False
        )
        if not notifications:
            return seen
        if decode:
            for n in notifications:
                loads(n.state)
        position = notifications[-1].id
        seen += len(notifications)


def rebuild(app: OrderingApp, projection: Projection, views: ViewDatabase) -> int:
    """What `fabledger projections rebuild` does for one projection."""
    return ProjectionRunner(app, projection, views).rebuild()


@contextmanager
def backend_store(backend: str, dsn: str | None) -> Iterator[tuple[OrderingApp, ViewDatabase]]:
    """The ordering app and view database as bootstrap() builds them for this backend."""
    with tempfile.TemporaryDirectory(prefix="fabledger-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=dsn or "")
        app = OrderingApp(env=settings.event_store_env("ordering"))
        views = view_database(settings)
        try:
            yield app, views
        finally:
            close = getattr(views, "close", None)
            if close is not None:
                close()
            app.close()


def compare(
    backend: str, app: OrderingApp, views: ViewDatabase, target: int, options: Options
) -> list[Result]:
    """Generate the log, then alternate rebuilds and scans over it."""
    section(f"Rebuild on {backend}: generating ~{target:,} events")
    made = generate(app, target)
    print(
        f"generated {made.events:,} events of {made.orders:,} orders in"
        f" {made.transactions:,} transactions: {fmt_seconds(made.seconds)}"
        f" ({fmt_rate(made.events / made.seconds)} events)"
    )
    batch = ProjectionRunner(app, OrdersProjection(), views).batch_size
    runs: dict[str, Callable[[], int]] = {
        "scan: fetch": lambda: scan(app, batch, decode=False),
        "scan: fetch+json": lambda: scan(app, batch, decode=True),
        "rebuild orders": lambda: rebuild(app, OrdersProjection(), views),
        "rebuild stats": lambda: rebuild(app, StatsProjection(), views),
    }
    # Untimed: the first reader of freshly written rows pays for setting their hint bits
    # (PostgreSQL) and for paging them in; the timed rounds all read a settled table.
    scan(app, batch, decode=False)
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _, order in alternating(ROUNDS, list(runs)):
        for name in order:
            took, count = timed(runs[name])
            if count != made.events:
                raise RuntimeError(f"{name} saw {count} events, expected {made.events}")
            seconds[name].append(took)
    best = {name: median(values) for name, values in seconds.items()}
    rows = [
        [
            name,
            " / ".join(fmt_seconds(s) for s in seconds[name]),
            fmt_seconds(best[name]),
            fmt_rate(made.events / best[name]),
        ]
        for name in runs
    ]
    print(f"batch size {batch}; {ROUNDS} rounds in alternating order; median of the rounds")
    print_table(["run", "rounds", "median", "events"], rows, align="lrrr")
    rate = {name: made.events / s for name, s in best.items()}
    results = []
    for name in ("orders", "stats"):
        ours = rate[f"rebuild {name}"]
        note = f"{made.events:,} events, rebuild {fmt_seconds(best[f'rebuild {name}'])}"
        if backend == "postgres" and made.events >= 1_000_000:
            met = best[f"rebuild {name}"] < PG_SECONDS_GOAL
            note += f" (goal < {PG_SECONDS_GOAL:g} s: {'met' if met else 'MISSED'})"
        # The read half alone, for scale: no consumer of the log gets away without decoding.
        results.append(
            Result(
                BENCH,
                backend,
                f"{name} vs fetch",
                ours,
                rate["scan: fetch"],
                "/s",
                note="the read alone, no decode (for scale)",
            )
        )
        results.append(
            Result(
                BENCH,
                backend,
                f"{name} vs fetch+json",
                ours,
                rate["scan: fetch+json"],
                "/s",
                GOAL,
                note,
            )
        )
    results.append(
        Result(
            BENCH,
            backend,
            "generation (save, ~500 new orders/tx)",
            made.events / made.seconds,
            float("nan"),
            "/s",
            None,
            f"{made.events:,} events in {fmt_seconds(made.seconds)}",
        )
    )
    if options.profile:
        for projection in (OrdersProjection(), StatsProjection()):
            phases(app, projection, views, batch, made.events)
            profile(app, projection, views)
    return results


# --- where the time goes --------------------------------------------------------------


def phases(
    app: OrderingApp, projection: Projection, views: ViewDatabase, batch: int, events: int
) -> None:
    """The runner's catch-up loop, replayed with a stopwatch on each phase."""
    runner = ProjectionRunner(app, projection, views)
    deferred = projection if isinstance(projection, DeferredIndexes) else None
    with views.transaction() as cur:
        projection.drop(cur)
        if deferred is None:
            projection.create(cur)
        else:
            deferred.create_table(cur)
        cur.execute("DELETE FROM projection_positions WHERE name = ?", (projection.name,))
    fetch, decode, fold, commit = Stopwatch(), Stopwatch(), Stopwatch(), Stopwatch()
    index = Stopwatch()
    position, limit = 0, batch
    while True:
        with gc_paused():  # as the runner folds a batch
            with fetch:
                notifications = app.recorder.select_notifications(
                    start=position, limit=limit, inclusive_of_start=False
                )
            if len(notifications) == batch:
                limit = runner.backlog_batch_size  # as the runner's catch-up does
            if not notifications:
                break
            with decode:
                records = [event_record(app, n) for n in notifications]
            with fold:
                tx = views.transaction()
                cur = tx.__enter__()
                projection.apply(cur, records)
                _advance_position(cur, runner.name, position, records[-1].position)
            with commit:
                tx.__exit__(None, None, None)
        position = records[-1].position
    if deferred is not None:
        with index, views.transaction() as cur:
            deferred.create_indexes(cur)
    total = fetch.seconds + decode.seconds + fold.seconds + commit.seconds + index.seconds
    section(f"Phases of a {projection.name} rebuild ({events:,} events)")
    print_table(
        ["phase", "seconds", "share", "per event"],
        [
            [
                name,
                f"{w.seconds:.2f}",
                f"{w.seconds / total:.0%}",
                f"{w.seconds / events * 1e6:.1f} us",
            ]
            for name, w in (
                ("fetch (select_notifications)", fetch),
                ("decode (event_record: transcoder + EventRecord)", decode),
                ("fold (projection.apply + position)", fold),
                ("commit", commit),
                ("create indexes (deferred)", index),
            )
        ],
        align="lrrr",
    )


def profile(app: OrderingApp, projection: Projection, views: ViewDatabase) -> None:
    """cProfile of one rebuild: the top 15 functions by cumulative time."""
    print_profile(f"{projection.name} rebuild", lambda: rebuild(app, projection, views))


def run(options: Options, pg: PgTarget | None) -> list[Result]:
    """SQLite, then PostgreSQL when a server is available."""
    target = sizes(options.quick)
    results = []
    with backend_store("sqlite", None) as (app, views):
        results += compare("sqlite", app, views, target["sqlite"], options)
    if pg is not None:
        with pg.database("rebuild") as dsn, backend_store("postgres", dsn) as (app, views):
            results += compare("postgres", app, views, target["postgres"], options)
    return results


def main(argv: list[str] | None = None) -> None:
    """python -m benchmarks.bench_rebuild [--quick] [--profile] [--pg-dsn URL]."""
    main_with_postgres(__doc__ or "", run, argv)


if __name__ == "__main__":
    main()
