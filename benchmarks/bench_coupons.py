"""Coupon redemption: what a coupon adds to placing an order, and how it behaves when hot.

Below HTTP and mesh analysis (neither depends on the coupon), on the stores bootstrap()
builds, three measurements per backend:

* placement: ours = an order placed with a coupon (``Coupons.redeem_with``: the coupon
  loaded from the per-process cache and fast-forwarded, redeemed, and saved with the
  order in one transaction), baseline = the same order saved alone; alternating rounds;
* hot coupon: a coupon with U uses already on its stream; ours = a redemption from the
  warm cache (one query for the events since), baseline = the same with the cache dropped
  first (the whole stream replayed: a cold process, or a loser of a version race);
* race: T threads on each of two ``Coupons`` instances (two processes: no lock shared)
  redeem a K-use coupon at once; exactly K must win (checked), and the lost version races
  and the latency percentiles are shown; ours = redemptions/s in the race, baseline = the
  uncontended rate from the placement rounds.

Full size: 300 placement rounds, U = 2,000, 2 x 8 threads for K = 10; --quick: 60, 500,
2 x 4 threads for K = 4.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID, uuid4

from application.coupons import Coupons
from application.quoting import QuoteRequest
from benchmarks.support import (
    Options,
    PgTarget,
    Result,
    main_with_postgres,
    on_both_stores,
    print_table,
    section,
)
from domain.errors import InvalidInput
from domain.orders import Order
from domain.pricing import PartGeometry, PriceBreakdown
from infra.bootstrap import Container
from tests.support.factories import order_builder


def sizes(quick: bool) -> tuple[int, int, int, int]:
    """(placement rounds, prior uses of the hot coupon, threads per instance, K)."""
    return (60, 500, 4, 4) if quick else (300, 2000, 8, 10)


def _builder(order_id: UUID) -> Callable[[PriceBreakdown], Order]:
    return order_builder(
        order_id,
        f"bench-{order_id.hex[:6]}",
        email="bench@example.com",
        tracking_number=f"FL-{order_id.hex[:16].upper()}",
        model={"dim_x_mm": 20, "dim_y_mm": 20, "dim_z_mm": 20, "volume_cm3": 8.0},
        actor="bench",
        fingerprint="bench",
    )


def _redeem(coupons: Coupons, price: PriceBreakdown, code: str) -> bool:
    """One order with the coupon; False when refused (used up)."""
    order_id = uuid4()
    try:
        placed = coupons.redeem_with(
            price,
            code,
            customer_id=f"c-{order_id.hex}",
            order_id=order_id,
            build=_builder(order_id),
        )
    except InvalidInput:
        return False
    return placed is not None


def _pct(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(backend: str, container: Container, opts: Options) -> list[Result]:
    """The three measurements on one backend; their table, and the summary rows."""
    rounds, prior, threads, k = sizes(opts.quick)
    section(f"Coupons on {backend}")
    price = container.quoter.quote(
        QuoteRequest(
            geometry=PartGeometry(20, 20, 20, 8.0),
            material="PLA",
            color=None,
            quantity=2,
            infill_pct=20,
            priority=False,
            fulfillment="pickup",
            shipping_zip=None,
        )
    )
    coupons = Coupons(container.ordering)
    coupons.issue("BENCH", {"percent_off": 10, "max_uses_per_customer": None}, actor="bench")
    ordering = container.ordering

    with_coupon: list[float] = []
    alone: list[float] = []
    for index in range(rounds):
        runs = [
            (with_coupon, lambda: _redeem(coupons, price, "BENCH")),
            (alone, lambda: ordering.save_new(_builder(uuid4())(price))),
        ]
        for times, fn in runs if index % 2 == 0 else reversed(runs):
            times.append(_timed(fn))

    for _ in range(prior - rounds):  # the hot coupon: U uses on its stream
        _redeem(coupons, price, "BENCH")
    warm: list[float] = []
    cold: list[float] = []
    for index in range(max(20, rounds // 3)):
        order = [(warm, False), (cold, True)]
        for times, forget in order if index % 2 == 0 else reversed(order):
            if forget:
                coupons.drop_cache()
            times.append(_timed(lambda: _redeem(coupons, price, "BENCH")))

    race_code = f"RACE-{backend.upper()}"
    coupons.issue(race_code, {"percent_off": 5, "max_uses": k}, actor="bench")
    first, second = Coupons(ordering), Coupons(ordering)  # two processes: no shared lock
    latencies: list[float] = []
    wins: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(2 * threads)

    def contender(instance: Coupons) -> None:
        start.wait()
        began = time.perf_counter()
        won = _redeem(instance, price, race_code)
        spent = time.perf_counter() - began
        with lock:
            latencies.append(spent)
            wins.append(won)

    workers = [
        threading.Thread(target=contender, args=(first if n % 2 else second,))
        for n in range(2 * threads)
    ]
    began = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    race_seconds = time.perf_counter() - began
    placed = sum(wins)
    assert placed == min(k, 2 * threads), f"{placed} won a {k}-use coupon"
    lost = first.conflicts + second.conflicts

    print_table(
        ["what", "p50", "p95", "min"],
        [
            [name, _ms(statistics.median(t)), _ms(_pct(t, 95)), _ms(min(t))]
            for name, t in (
                ("order + coupon (one save)", with_coupon),
                ("order alone", alone),
                (f"hot coupon ({prior:,} uses), warm cache", warm),
                (f"hot coupon ({prior:,} uses), cold replay", cold),
                (f"race: {2 * threads} at once for {k} uses", latencies),
            )
        ],
        align="lrrr",
    )
    print(f"race: {placed} of {2 * threads} won, {lost} version races lost and retried")
    base_rate = 1 / statistics.median(alone)
    coupon_rate = 1 / statistics.median(with_coupon)
    return [
        Result(
            "coupons",
            backend,
            "place an order with a coupon",
            coupon_rate,
            base_rate,
            note="baseline: the same order saved without one",
        ),
        Result(
            "coupons",
            backend,
            f"redeem a hot coupon ({prior:,} uses)",
            1 / statistics.median(warm),
            1 / statistics.median(cold),
            note="baseline: its stream replayed (cold cache)",
        ),
        Result(
            "coupons",
            backend,
            f"race: {2 * threads} threads, 2 instances, K={k}",
            len(latencies) / race_seconds,
            coupon_rate,
            note=f"exactly {placed} won; {lost} lost races retried;"
            f" p95 {_ms(_pct(latencies, 95))}; baseline: uncontended",
        ),
    ]


def run(options: Options, pg: PgTarget | None) -> list[Result]:
    """SQLite, then PostgreSQL when a server is available."""
    return on_both_stores("coupons", measure, options, pg)


def main(argv: list[str] | None = None) -> None:
    """python -m benchmarks.bench_coupons [--quick] [--pg-dsn URL] [--no-postgres]."""
    main_with_postgres(__doc__ or "", run, argv)


if __name__ == "__main__":
    main()
