"""Quote latency: the fleet-aware engine against today's single-printer engine, same inputs.

    python -m benchmarks.bench_quote_fleet --quick          # SQLite only unless PostgreSQL
    python -m benchmarks --only quote_fleet --quick

Ours: ``Quoter(catalog, shipping, fleet)`` with 1, 10 and 100 active printers (the seeded
built-in printer plus printers of assorted beds, wattages, speeds and PIN codes, all set up
for every material): each quote reads the active printers (cached by the fleet log's head),
picks the printer that makes the part (``domain.fleet.selection``) and ships from its PIN.
Baseline: ``Quoter(catalog, shipping, None)``: the settings' one printer at the shop's PIN,
what quoting did before the fleet existed.

Also measured, as "before": each fleet with the rule as written (``choose_printer`` over
every printer on every quote), what quoting did before ``FleetChoice`` prepared the fleet.

Quotes trust the fleet list for up to a second before reading the fleet log's head again
(``application.fleet.QUOTE_MAX_AGE_SECONDS``, like cost settings): on PostgreSQL that head read
(~130 us) was most of what the fleet added per quote.

Both price the same requests (cubes, a long bar, a big box; PLA, PETG, ABS, TPU; pickup and
Speed Post to several PINs), in the same process, on the same production event stores
(SQLite files, or one PostgreSQL database per fleet size) with warm caches. Each round
times every engine over the same requests one call at a time (perf_counter), engines in
alternating order (forward, then reversed); the reported ratio is the median of the
per-round p50 ratios, fleet / single (goal <= 1.2). The summary row states it as a rate
ratio (single-printer latency / fleet latency, goal >= 1/1.2), like every other row.
"""

from __future__ import annotations

import cProfile
import pstats
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

from application.catalog import CatalogApp
from application.fleet import FleetApp
from application.quoting import Quoter, QuoteRequest
from application.shipping import ShippingApp
from benchmarks.support import (
    Options,
    PgTarget,
    Result,
    alternating,
    main_with_postgres,
    median,
    print_table,
    section,
)
from domain.catalog import CostSettings, Material, PrinterProfile
from domain.fleet.printers import Printer, PrinterSpec
from domain.fleet.selection import choose_printer
from domain.pricing import PartGeometry
from infra.pincodes import OfflinePinDirectory
from infra.settings import Settings

BENCH = "quote_fleet"
GOAL = 1.2  # fleet p50 / single-printer p50, at most
FLEET_SIZES = (1, 10, 100)
PINCODES = ("560001", "400001", "110001", "600001", "700001", "500001", "411001", "380001")
MATERIALS = ["PLA", "PETG", "ABS", "TPU"]


def sizes(quick: bool) -> tuple[int, int]:
    """(rounds, quotes per engine per round)."""
    return (6, 300) if quick else (10, 2000)


def requests() -> list[QuoteRequest]:
    """The same requests for every engine: every one can be made by the built-in printer."""

    def part(x: float, y: float, z: float, fill: float) -> PartGeometry:
        return PartGeometry(x, y, z, x * y * z * fill / 1000)

    shapes = [
        (part(20, 20, 20, 1.0), "PLA", "pickup", None, False),
        (part(42, 42, 42, 1.0), "PETG", "shipping", "110001", False),
        (part(240, 20, 20, 0.9), "PLA", "shipping", "600001", False),  # fits only laid along
        (part(120, 90, 60, 0.35), "ABS", "pickup", None, True),
        (part(30, 30, 55, 0.6), "TPU", "shipping", "700001", False),
        (part(80, 80, 10, 1.0), "PETG", "shipping", "781001", True),
    ]
    return [
        QuoteRequest(
            geometry=geometry,
            material=material,
            color=None,
            quantity=2,
            infill_pct=20,
            priority=priority,
            fulfillment=fulfillment,
            shipping_zip=zip_code,
        )
        for geometry, material, fulfillment, zip_code, priority in shapes
    ]


def printer_spec(index: int) -> PrinterSpec:
    """A farm printer: beds from 180 to 400 mm, 90-450 W, 8-40 cm3/h, assorted PINs."""
    bed = 180 + (index * 37) % 221
    return PrinterSpec.parse(
        {
            "name": f"Farm {index:03d}",
            "brand": "Bench",
            "materials": MATERIALS,
            "bed_x_mm": bed,
            "bed_y_mm": 180 + (index * 53) % 221,
            "bed_z_mm": 180 + (index * 71) % 221,
            "nozzle_mm": 0.4,
            "wattage_w": 90 + (index * 29) % 361,
            "print_speed_cm3_hr": 8 + (index * 7) % 33,
            "printer_pincode": PINCODES[index % len(PINCODES)],
            "printer_address": f"Bay {index}",
        }
    )


def fill_fleet(fleet: FleetApp, count: int) -> None:
    """The seeded printer plus count - 1 more, all active."""
    fleet.seed_defaults()
    for index in range(1, count):
        fleet.save_new(Printer.register(uuid4(), printer_spec(index), actor="bench"))
    assert len(fleet.active_printers()) == count


class RuleAsWrittenQuoter(Quoter):
    """The fleet engine before it prepared the fleet: `choose_printer` over every printer on
    every quote (kept here to show what `FleetChoice` saves, measured in the same run)."""

    def printer_for(
        self, geometry: PartGeometry, material: Material, settings: CostSettings, infill_pct: float
    ) -> tuple[PrinterProfile, str]:
        """The printer by the rule as written, and its PIN."""
        printers = self._printers()
        chosen = choose_printer(geometry, material, [p for p, _ in printers], settings, infill_pct)
        return next((p, pin) for p, pin in printers if p is chosen)


@dataclass
class Engine:
    """One quoter and the latencies it measured (seconds per quote), round by round."""

    name: str
    quoter: Quoter
    rounds: list[list[float]] = field(default_factory=list)

    def measure(self, reqs: Sequence[QuoteRequest], n: int) -> None:
        """Time n quotes, one call at a time, cycling through the requests."""
        clock, quote = time.perf_counter, self.quoter.quote
        took = []
        for i in range(n):
            request = reqs[i % len(reqs)]
            start = clock()
            quote(request)
            took.append(clock() - start)
        self.rounds.append(took)

    def percentile(self, q: float) -> float:
        """A percentile of every measured call, in seconds."""
        every = sorted(t for r in self.rounds for t in r)
        return every[min(len(every) - 1, int(q * len(every)))]

    def round_p50(self) -> list[float]:
        """Each round's median latency."""
        return [median(r) for r in self.rounds]


@contextmanager
def stores(backend: str, pg: PgTarget | None, names: Sequence[str]) -> Iterator[dict[str, str]]:
    """A database URL per name ("" on SQLite, where each name gets its own data dir)."""
    with ExitStack() as stack:
        if backend == "sqlite":
            yield dict.fromkeys(names, "")
        else:
            assert pg is not None
            yield {name: stack.enter_context(pg.database(f"quote_{name}")) for name in names}


def build(backend: str, pg: PgTarget | None, tmp: Path, stack: ExitStack) -> list[Engine]:
    """The single-printer engine first, then one fleet engine per fleet size."""
    names = ["shop", *(f"fleet{n}" for n in FLEET_SIZES)]
    urls = stack.enter_context(stores(backend, pg, names))

    def settings(name: str) -> Settings:
        return Settings(
            data_dir=tmp / name,
            database_url=urls[name],
            jwt_secret="bench-secret-that-is-long-enough-for-hs256",
        )

    shop = settings("shop")
    shop.data_dir.mkdir(parents=True, exist_ok=True)
    catalog = CatalogApp(env=shop.event_store_env("catalog"))
    catalog.seed_defaults()
    shipping = ShippingApp(OfflinePinDirectory(), env=shop.event_store_env("shipping"))
    shipping.seed_defaults()
    stack.callback(catalog.close)
    stack.callback(shipping.close)
    engines = [Engine("single printer", Quoter(catalog, shipping, None))]
    fleets: list[FleetApp] = []
    for count in FLEET_SIZES:
        where = settings(f"fleet{count}")
        where.data_dir.mkdir(parents=True, exist_ok=True)
        fleet = FleetApp(env=where.event_store_env("fleet"))
        stack.callback(fleet.close)
        fill_fleet(fleet, count)
        fleets.append(fleet)
        engines.append(Engine(f"fleet of {count}", Quoter(catalog, shipping, fleet)))
        before = RuleAsWrittenQuoter(catalog, shipping, fleet)
        engines.append(Engine(f"fleet of {count}, before (rule as written)", before))
    return engines


def check_same_prices(engines: Sequence[Engine], reqs: Sequence[QuoteRequest]) -> None:
    """A fleet of only the built-in printer prices exactly as the single-printer engine, and
    the prepared fleet exactly as the rule as written."""
    single, fleet_of_one = engines[0].quoter, engines[1].quoter
    for request in reqs:
        assert fleet_of_one.quote(request) == single.quote(request), request
    fleets = engines[1:]
    for ours, before in zip(fleets[0::2], fleets[1::2], strict=True):
        for request in reqs:
            assert ours.quoter.quote(request) == before.quoter.quote(request), request


def run_backend(
    backend: str, options: Options, pg: PgTarget | None, reqs: list[QuoteRequest]
) -> list[Result]:
    """Measure every engine on one backend; print its table; return its summary rows."""
    rounds, n = sizes(options.quick)
    with tempfile.TemporaryDirectory(prefix="bench-quote-fleet-") as tmp, ExitStack() as stack:
        engines = build(backend, pg, Path(tmp), stack)
        check_same_prices(engines, reqs)
        for engine in engines:  # warm caches and code paths
            engine.measure(reqs, 100)
            engine.rounds.clear()
        for _, order in alternating(rounds, engines):
            for engine in order:
                engine.measure(reqs, n)
        ours_100 = engines[2 * len(FLEET_SIZES) - 1]  # the fleet of 100, prepared
        if options.profile:
            profile(ours_100, reqs, n)

    single = engines[0]
    section(f"quote latency, {backend}: {rounds} alternating rounds x {n} quotes per engine")
    rows, results = [], []
    for engine in engines:
        ratios = [f / s for f, s in zip(engine.round_p50(), single.round_p50(), strict=True)]
        ratio = median(ratios)
        rows.append(
            [
                engine.name,
                f"{engine.percentile(0.5) * 1e6:.1f}",
                f"{engine.percentile(0.95) * 1e6:.1f}",
                "-" if engine is single else f"{ratio:.3f}",
                "" if engine is single else ("met" if ratio <= GOAL else "MISSED"),
            ]
        )
        if engine is not single:
            results.append(
                Result(
                    BENCH,
                    backend,
                    f"quote, {engine.name}",
                    1 / engine.percentile(0.5),
                    1 / single.percentile(0.5),
                    goal=1 / GOAL,
                    note=f"fleet/single p50 latency {ratio:.3f}x (goal <= {GOAL:g})",
                    paired_ratio=1 / ratio,
                )
            )
    print_table(
        ["engine", "p50 us", "p95 us", "p50 ratio vs single", f"goal <= {GOAL:g}"],
        rows,
        align="lrrrl",
    )
    return results


def profile(engine: Engine, reqs: Sequence[QuoteRequest], n: int) -> None:
    """Where one engine's quotes spend their time."""
    profiler = cProfile.Profile()
    profiler.enable()
    engine.measure(reqs, n)
    profiler.disable()
    engine.rounds.pop()  # not a measured round
    section(f"profile: {engine.name}")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def run(options: Options, pg: Any = None) -> list[Result]:
    """SQLite, then PostgreSQL when a server is at hand."""
    reqs = requests()
    results = run_backend("sqlite", options, None, reqs)
    if pg is not None:
        results += run_backend("postgres", options, pg, reqs)
    return results


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    main_with_postgres(__doc__ or BENCH, run, argv)


if __name__ == "__main__":
    main()
