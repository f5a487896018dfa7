"""`fabledger worker projections --source kafka`: read models fed by Kafka consumer groups."""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable

import structlog

from infra.bootstrap import Container
from infra.kafka.config import group_for, new_consumer, topic_for
from infra.kafka.consumer import KafkaProjection
from infra.settings import Settings
from workers.kafka_setup import run_kafka_worker
from workers.relay import run_threads
from workers.runtime import Pace, retrying, run_steps

log = structlog.get_logger("fabledger.kafka")

SOURCES = ("db", "kafka")


def consume(container: Container, name: str, stop: threading.Event, pace: Pace) -> None:
    """One projection's consumer, in its own thread (a KafkaConsumer is not thread-safe)."""
    settings = container.settings
    runner = container.projections[name]
    prefix = settings.kafka_topic_prefix
    topic, group = topic_for(runner.app.name, prefix), group_for(name, prefix)

    def build() -> KafkaProjection:
        return KafkaProjection(
            runner.projection,
            container.views,
            topic,
            group,
            lambda: new_consumer(settings.kafka_bootstrap, group, client_id=group),
        )

    projection = retrying(f"kafka-{name}", build, stop, pace)
    if projection is None:
        return
    log.info("kafka_projection_started", projection=name, topic=topic, group=group)
    try:
        # poll() waits for records itself, so no extra idle sleep between steps.
        run_steps(f"kafka-{name}", projection.poll, stop, Pace(0.0, pace.first_backoff))
    finally:
        projection.close()


def kafka_projections_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Run the chosen projections (all by default) from Kafka until SIGTERM."""
    pace = Pace(interval=args.interval)

    def body(container: Container, stop: threading.Event) -> None:
        names = args.only or list(container.projections)
        unknown = sorted(set(names) - set(container.projections))
        if unknown:
            raise SystemExit(
                f"unknown projection {unknown[0]!r}; known: {', '.join(container.projections)}"
            )
        log.info("worker_started", worker="projections", source="kafka", projections=names)
        run_threads(stop, {f"kafka-{n}": _consumer(container, n, stop, pace) for n in names})

    return run_kafka_worker("projections", settings, pace, body)


def _consumer(
    container: Container, name: str, stop: threading.Event, pace: Pace
) -> Callable[[], None]:
    return lambda: consume(container, name, stop, pace)


def add_source_option(workers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Give `worker projections` a --source option; `kafka` runs the consumers above."""
    command = workers.choices["projections"]
    from_log = command.get_default("handler")
    command.add_argument(
        "--source",
        choices=SOURCES,
        help="what feeds the read models (default: FABLEDGER_PROJECTIONS_SOURCE, else db)",
    )

    def handler(args: argparse.Namespace, settings: Settings) -> int:
        if (args.source or settings.projections_source) == "kafka":
            return kafka_projections_worker(args, settings)
        return int(from_log(args, settings))

    command.set_defaults(handler=handler)
