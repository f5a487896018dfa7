"""Eligible-printer ranking: one order against a fleet with a long queue (goal p50 < 20 ms).

The stores are filled as bootstrap() builds them: P printers (Printer aggregates, PINs
spread over the offline PIN dataset, a fifth of them with loaded colours that exclude the
order's, a few inactive or too small) and Q orders placed and assigned round-robin to
them (Order aggregates with a stored price; the mesh step of checkout is not what this
measures), folded into the printer-load view by its ProjectionRunner. Then, alternating:

* ours: ``container.assignment.eligible(order_id)``: what GET .../eligible-printers does
  below HTTP: load the order from its stream, the cached fleet, the printer-load query,
  the great-circle distances (cached per PIN pair) and the pure ranking of every printer;
* baseline: the same ranking with the load query left out (an empty load map): what the
  endpoint would cost without the projection, so the ratio is the price of load.

Also shown: the load query alone, and the first call (cold distance cache). Full size is
1,000 printers and 10,000 queued orders in both modes; --quick times 60 rankings, not 300.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID, uuid4

from benchmarks.support import (
    Options,
    PgTarget,
    Result,
    fmt_seconds,
    main_with_postgres,
    on_both_stores,
    print_table,
    section,
)
from domain.fleet.eligibility import OrderNeeds, rank
from domain.fleet.printers import Printer, PrinterSpec
from domain.orders import Order
from infra.bootstrap import Container

GOAL_P50_MS = 20.0
SAVE_BATCH = 250
MODEL = {"dim_x_mm": 40, "dim_y_mm": 30, "dim_z_mm": 20, "volume_cm3": 12.5}
ADDRESS = {"name": "Asha", "address": "1 Janpath", "city": "New Delhi", "zip": "110001"}


def sizes(quick: bool) -> tuple[int, int, int]:
    """(printers, queued orders, timed rankings)."""
    return (1000, 10_000, 60) if quick else (1000, 10_000, 300)


def _order(hours: float) -> Order:
    return Order.place(
        order_id=uuid4(),
        customer_id="bench",
        customer_email="bench@example.com",
        tracking_number=f"FL-{uuid4().hex[:12].upper()}",
        group_id=None,
        model=MODEL,
        material="PLA",
        color="Black",
        quantity=1,
        infill_pct=20,
        fulfillment="shipping",
        priority=False,
        shipping_address=ADDRESS,
        customer_notes="",
        price={"print_hours_total": hours, "total_paise": 10_000},
        settings_version=1,
        request_fingerprint="bench",
        actor="bench",
    )


def fill(container: Container, printers: int, orders: int) -> tuple[UUID, float]:
    """The fleet and the queue; returns the order to rank and the seconds spent."""
    start = time.perf_counter()
    pins = [p.pincode for p in container.shipping.pins.search("", printers)] or ["560001"]
    fleet: list[Printer] = []
    for i in range(printers):
        spec = PrinterSpec.parse(
            {
                "name": f"Farm {i:04d}",
                "brand": "Bench",
                "materials": ["PLA", "PETG"] if i % 7 else ["PETG"],
                "bed_x_mm": 250 if i % 50 else 20,
                "bed_y_mm": 210,
                "bed_z_mm": 210,
                "nozzle_mm": 0.4,
                "wattage_w": 120,
                "print_speed_cm3_hr": 20,
                "printer_pincode": pins[i % len(pins)],
                "active": i % 40 != 0,
                "loaded_colors": ["White"] if i % 5 == 0 else ["Black", "White"],
            }
        )
        fleet.append(Printer.register(uuid4(), spec, actor="bench"))
    for at in range(0, len(fleet), SAVE_BATCH):
        container.fleet.save(*fleet[at : at + SAVE_BATCH])
    ids = [str(p.id) for p in fleet]
    batch: list[Order] = []
    for i in range(orders):
        order = _order(round(0.5 + (i % 17) * 0.75, 2))
        order.assign_printer(ids[(i * 7) % len(ids)], actor="bench")
        batch.append(order)
        if len(batch) == SAVE_BATCH:
            container.ordering.save(*batch)
            batch = []
    target = _order(2.5)
    container.ordering.save(*batch, target)
    container.projections["printer_load"].catch_up()
    return UUID(str(target.id)), time.perf_counter() - start


def _without_load(container: Container, order_id: UUID) -> Callable[[], Any]:
    assignment = container.assignment

    def run() -> Any:
        order = container.ordering.get_order(order_id)
        settings, _ = container.catalog.pricing()
        needs = OrderNeeds.of(order, shop_pincode=settings.origin_pincode)
        return rank(needs, container.fleet.printer_specs(), {}, assignment.distance_km)

    return run


def _percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def measure(backend: str, container: Container, opts: Options) -> list[Result]:
    """Fill, then alternate ours and the baseline; print a table, return the summary row."""
    printers, orders, rounds = sizes(opts.quick)
    section(f"Eligible printers on {backend}: {printers:,} printers, {orders:,} queued orders")
    order_id, seconds = fill(container, printers, orders)
    print(f"filled in {fmt_seconds(seconds)}")
    ours = lambda: container.assignment.eligible(order_id)  # noqa: E731
    baseline = _without_load(container, order_id)
    load_only = container.assignment.loads.load_hours
    cold, ranked = _timed(ours)
    assert len(ranked) == printers + 1  # the built-in printer too
    assert sum(1 for c in ranked if not c.reasons) > printers // 2
    times: dict[str, list[float]] = {"ours": [], "without load": [], "load query": []}
    for _ in range(rounds):
        for name, fn in (("ours", ours), ("without load", baseline), ("load query", load_only)):
            times[name].append(_timed(fn)[0])
    rows = [
        [
            name,
            f"{statistics.median(t) * 1000:.2f} ms",
            f"{_percentile(t, 95) * 1000:.2f} ms",
            f"{min(t) * 1000:.2f} ms",
        ]
        for name, t in times.items()
    ]
    rows.append(["ours, first call (cold caches)", f"{cold * 1000:.2f} ms", "", ""])
    print_table(["what", "p50", "p95", "min"], rows, align="lrrr")
    p50 = statistics.median(times["ours"])
    p95 = _percentile(times["ours"], 95)
    base = statistics.median(times["without load"])
    met = "met" if p50 * 1000 < GOAL_P50_MS else "MISSED"
    return [
        Result(
            "eligible",
            backend,
            f"rank 1 order x {printers:,} printers, {orders:,} queued",
            1 / p50,
            1 / base,
            note=f"p50 {p50 * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms (goal p50 < 20 ms: {met});"
            " baseline: without the load query",
        )
    ]


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def run(options: Options, pg: PgTarget | None) -> list[Result]:
    """SQLite, then PostgreSQL when a server is available."""
    return on_both_stores("eligible", measure, options, pg)


def main(argv: list[str] | None = None) -> None:
    """python -m benchmarks.bench_eligible [--quick] [--pg-dsn URL] [--no-postgres]."""
    main_with_postgres(__doc__ or "", run, argv)


if __name__ == "__main__":
    main()
