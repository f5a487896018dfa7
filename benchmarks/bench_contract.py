"""Schema validation on the way out: what checking each record against the contract costs.

The ordering store (SQLite) is filled with E events of realistic, interleaved order
lifecycles (``bench_rebuild.generate``). Then, in alternating rounds over the very same
notifications, each run encodes every event as the relay does (``encode_batch``: values,
headers, a watermark per partition):

* baseline: encoding only (the relay's CPU work today);
* jsonschema: ``RecordChecker(engine="jsonschema")`` on every encoded record (pure-Python
  validation, what the contract test uses), added to the same round's encoding time;
* jsonschema_rs: the same with the Rust validator (``engine="jsonschema_rs"``).

Rates are events/s; ratio = encode / (encode + check), paired per round; the share of
relay throughput validation would cost is 1 - ratio of the encoding step (sending to the
broker costs more, so the share of the whole relay is smaller; see bench_relay). Records
off the contract are counted: they take the slower error path, so the numbers mean what
they say only when that count is 0.

    python -m benchmarks.bench_contract [--quick]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from benchmarks.bench_rebuild import backend_store, generate
from benchmarks.support import (
    Result,
    alternating,
    fmt_rate,
    fmt_seconds,
    median,
    print_summary,
    print_table,
    section,
)
from infra.kafka.codec import Message
from infra.kafka.contract_check import ContractViolation, RecordChecker
from infra.kafka.relay import encode_batch

BENCH = "contract"
PARTITIONS = 6
BATCH = 1000  # the relay's default batch
ENGINES = ("jsonschema", "jsonschema_rs")


def encode_all(app: Any, notifications: Sequence[Any]) -> list[Message]:
    """Every notification encoded as the relay does, a batch at a time."""
    heads, messages = [0] * PARTITIONS, []
    for start in range(0, len(notifications), BATCH):
        batch = notifications[start : start + BATCH]
        messages += encode_batch(app.name, app.mapper.transcoder, batch, heads)
    return messages


def check_all(application: str, messages: Sequence[Message], checker: RecordChecker) -> int:
    """Check every record; how many were refused."""
    refused = 0
    for message in messages:
        try:
            checker.check(application, message.key, message.value, message.headers)
        except ContractViolation:
            refused += 1
    return refused


def run(quick: bool = False) -> list[Result]:
    """Side by side on the same events: encoding, and checking the encoded records."""
    target, rounds = (5_000, 3) if quick else (30_000, 5)
    with backend_store("sqlite", None) as (app, _views):
        section(f"Contract validation: generating ~{target:,} events")
        made = generate(app, target)
        notifications = app.recorder.select_notifications(start=1, limit=made.events + 1)
        encoded = encode_all(app, notifications)
        records = encoded
        checkers = {e: RecordChecker(engine=e) for e in ENGINES}
        runs: dict[str, Callable[[], object]] = {"encode": lambda: encode_all(app, notifications)}
        for engine, checker in checkers.items():
            runs[engine] = partial(check_all, app.name, records, checker)
        refused = {e: check_all(app.name, records, c) for e, c in checkers.items()}
        seconds: dict[str, list[float]] = {name: [] for name in runs}
        for _, order in alternating(rounds, list(runs)):
            for name in order:
                start = time.perf_counter()
                runs[name]()
                seconds[name].append(time.perf_counter() - start)
    events, base = len(notifications), seconds["encode"]
    print(f"{events:,} events of {made.orders:,} orders, {len(records):,} records")
    rows, results = [], []
    for engine in ENGINES:
        # Paired per round: encoding then checking, against encoding alone.
        together = [e + c for e, c in zip(base, seconds[engine], strict=True)]
        ratio = median([e / t for e, t in zip(base, together, strict=True)])
        rate = events / median(together)
        rows.append(
            [engine, fmt_seconds(median(seconds[engine])), fmt_rate(rate), f"{1 - ratio:.0%}"]
        )
        note = f"validation costs {1 - ratio:.0%} of encoding throughput; {refused[engine]} refused"
        metric = f"encode + {engine} check"
        results.append(
            Result(
                BENCH, "sqlite", metric, rate, events / median(base), note=note, paired_ratio=ratio
            )
        )
    section("Encoding alone vs encoding and checking every record")
    print(f"encode only: {fmt_seconds(median(base))} ({fmt_rate(events / median(base))} events)")
    print_table(["checker", "check time", "encode+check", "share lost"], rows, align="lrrr")
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a quick look)")
    print_summary(run(quick=parser.parse_args(argv).quick))


if __name__ == "__main__":
    main()
