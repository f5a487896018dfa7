"""Billing replay: BillingReporter.replay() of 1M usage events against a raw scan of the rows.

One organisation's analyze meter for one period gets N UsageRecorded events (1,000,000 by
default, 100,000 with --quick) in a SQLite developer store, written in saves of 10,000
events from one Meter aggregate (snapshots off while writing: they are not what is
measured). Then, in alternating rounds on the same file:

* ours: ``BillingReporter.replay(org, period)``: reads both products' meter streams in
  batches through ``app.recorder.select_events`` and folds them (json of usage events);
* baseline: one ``sqlite3`` SELECT of the same rows (topic, state) in stream order, with
  ``json.loads`` of every state, the least any replay must do.

Rates are events/s; the ratio is ours / baseline. The goal is an absolute one: a 1M
replay in under 30 s. SQLite only: that is where the goal is set.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from application.billing import BillingReporter
from application.developer import DeveloperApp
from benchmarks.support import (
    Result,
    alternating,
    fmt_rate,
    fmt_seconds,
    median,
    print_machine_info,
    print_summary,
    section,
    timed,
)
from domain.meters import Meter, billing_period, meter_id_for
from domain.plans import ANALYZE, PLANS, PRODUCTS

SAVE_EVERY = 10_000
GOAL_SECONDS = 30.0


class BulkWriter(DeveloperApp):
    """The developer app without snapshots: a bulk load, not the hot path."""

    snapshotting_intervals = {}


def store_env(path: Path) -> dict[str, str]:
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}


def write_usage(path: Path, events: int) -> tuple[str, str]:
    """N usage events on one meter; returns (org id, period)."""
    app = BulkWriter(env=store_env(path))
    try:
        org_id = str(app.create_org(name="Bench Corp", owner_id="u-bench").id)
        period = billing_period(datetime.now(UTC))
        meter = Meter.open(org_id=org_id, product=ANALYZE, period=period, plan=PLANS["starter"])
        for i in range(events):
            meter._usage_recorded(key_id="k0", request_id=f"r{i}", units=1)
            if (i + 1) % SAVE_EVERY == 0:
                app.save(meter)
        app.save(meter)
    finally:
        app.close()
    return org_id, period


def raw_scan(path: Path, org_id: str, period: str) -> int:
    """The baseline: SELECT the same rows and json.loads every state; returns units."""
    ids = [meter_id_for(org_id, p, period).hex for p in PRODUCTS]
    units = 0
    with sqlite3.connect(path) as conn:
        for topic, state in conn.execute(
            "SELECT topic, state FROM stored_events WHERE originator_id IN (?, ?)"
            " ORDER BY originator_id, originator_version",
            ids,
        ):
            data = json.loads(state)
            if topic.endswith(".UsageRecorded"):
                units += data["units"]
    return units


def replay(app: DeveloperApp, org_id: str, period: str) -> int:
    """Ours: the billing replay; returns the units it counted."""
    result = BillingReporter(app, None).replay(org_id, period)
    return sum(p.used for p in result.products)


def main(argv: list[str] | None = None) -> None:
    """python -m benchmarks.bench_replay [--quick] [--events N] [--rounds R] [--profile]."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 events")
    parser.add_argument("--events", type=int, default=None, help="override the event count")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile of one replay")
    args = parser.parse_args(argv)
    events = args.events or (100_000 if args.quick else 1_000_000)
    print_machine_info()
    with tempfile.TemporaryDirectory(prefix="bench_replay_") as tmp:
        path = Path(tmp) / "developer.db"
        section(f"Writing {events:,} usage events (saves of {SAVE_EVERY:,})")
        seconds, (org_id, period) = timed(lambda: write_usage(path, events))
        print(f"wrote in {fmt_seconds(seconds)} ({fmt_rate(events / seconds)})")
        print(f"file: {path.stat().st_size / 1e6:,.0f} MB")
        app = DeveloperApp(env=store_env(path))
        try:
            ours: list[float] = []
            baseline: list[float] = []
            section(f"Replay vs raw scan, {args.rounds} alternating rounds")
            runs = {
                "replay": lambda: replay(app, org_id, period),
                "raw scan": lambda: raw_scan(path, org_id, period),
            }
            for index, order in alternating(args.rounds, list(runs)):
                for name in order:
                    took, units = timed(runs[name])
                    assert units == events, f"{name} counted {units} units, wrote {events}"
                    (ours if name == "replay" else baseline).append(took)
                    print(f"round {index + 1}: {name:8} {fmt_seconds(took):>9}")
            if args.profile:
                _profile(lambda: replay(app, org_id, period))
        finally:
            app.close()
    replay_s, raw_s = median(ours), median(baseline)
    met = "met" if replay_s * 1_000_000 / events < GOAL_SECONDS else "MISSED"
    print_summary(
        [
            Result(
                "replay",
                "sqlite",
                f"{events:,} usage events",
                events / replay_s,
                events / raw_s,
                note=f"replay {fmt_seconds(replay_s)}, raw {fmt_seconds(raw_s)};"
                f" 1M in < {GOAL_SECONDS:g} s: {met}",
            )
        ]
    )


def _profile(run: Callable[[], Any]) -> None:
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.runcall(run)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(15)
    section(f"cProfile: one replay ({fmt_seconds(time.perf_counter() - start)} under profile)")
    print(out.getvalue().strip())


if __name__ == "__main__":
    main()
