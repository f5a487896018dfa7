"""`fabledger worker relay`: publishes each application's event log to its Kafka topic."""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable
from typing import Any

import structlog

from application.base import FabApplication
from infra.bootstrap import Container
from infra.kafka.config import close_producer, ensure_topic, new_producer, topic_for
from infra.kafka.relay import MIRROR_SUFFIX, Abandoned, PositionMoved, Relay
from infra.settings import Settings
from workers.kafka_setup import run_kafka_worker
from workers.runtime import Pace, run_steps

log = structlog.get_logger("fabledger.relay")

# Every application's log goes to Kafka (infra.bootstrap.Container.applications).
APPS = (
    "ordering",
    "developer",
    "identity",
    "catalog",
    "shipping",
    "fleet",
    "shop",
    "payments",
    "support",
    "slicing",
)


class RelayStep:
    """One application's relay as a worker step: builds its producer lazily, rebuilds on error."""

    def __init__(
        self, app: FabApplication, container: Container, stop: threading.Event, batch_size: int
    ) -> None:
        self.app = app
        self.container = container
        self.stop = stop
        self.batch_size = batch_size
        self.relay: Relay | None = None
        self.producer: Any = None

    def __call__(self) -> int:
        """Publish the next batch (0 when the log has nothing new)."""
        try:
            if self.relay is None:
                self.relay = self._build()
            return self.relay.publish(self.stop)
        except Abandoned:
            return 0  # stopping: the batch was not recorded, the next relay sends it again
        except PositionMoved:
            log.warning("relay_raced", application=self.app.name)  # two relays of one app
            return 0
        except Exception:
            self.close()  # a fresh producer after a failure: no half-known sequence state
            raise

    def _build(self) -> Relay:
        settings = self.container.settings
        topic = topic_for(self.app.name, settings.kafka_topic_prefix)
        ensure_topic(settings.kafka_bootstrap, topic, settings.kafka_partitions)
        mirrored = {name.strip() for name in settings.kafka_mirror_previous.split(",")}
        mirror = f"{topic}{MIRROR_SUFFIX}" if self.app.name in mirrored else None
        if mirror is not None:
            ensure_topic(settings.kafka_bootstrap, mirror, settings.kafka_partitions)
        self.producer = new_producer(
            settings.kafka_bootstrap, client_id=f"fabledger-relay-{self.app.name}"
        )
        relay = Relay(
            self.app,
            self.container.views,
            self.producer,
            topic,
            batch_size=self.batch_size,
            mirror=mirror,
        )
        log.info("relay_started", application=self.app.name, topic=topic, at=relay.position())
        return relay

    def close(self) -> None:
        """Close the producer; records it still holds are not ours to wait for."""
        producer, self.producer, self.relay = self.producer, None, None
        if producer is not None:
            close_producer(producer)


def run_threads(stop: threading.Event, targets: dict[str, Callable[[], Any]]) -> None:
    """Run each target in its own thread until all return; the main thread keeps signals."""
    threads = [threading.Thread(target=t, name=name, daemon=True) for name, t in targets.items()]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        for thread in threads:
            thread.join(timeout=0.2)


def _runner(step: RelayStep, stop: threading.Event, pace: Pace) -> Callable[[], None]:
    return lambda: run_steps(f"relay-{step.app.name}", step, stop, pace)


def relay_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Relay the chosen applications' logs (all by default) until SIGTERM."""
    pace = Pace(interval=args.interval)

    def body(container: Container, stop: threading.Event) -> None:
        apps = container.applications()
        steps = [RelayStep(apps[n], container, stop, args.batch) for n in args.app or apps]
        log.info("worker_started", worker="relay", applications=[s.app.name for s in steps])
        run_threads(stop, {f"relay-{s.app.name}": _runner(s, stop, pace) for s in steps})
        for step in steps:
            step.close()

    return run_kafka_worker("relay", settings, pace, body)


def add_command(workers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`worker relay [--app NAME]... [--interval S] [--batch N]` under `fabledger worker`."""
    worker = workers.add_parser("relay", help="publish the event logs to Kafka")
    worker.add_argument(
        "--app", action="append", choices=APPS, help="relay only this application (repeatable)"
    )
    worker.add_argument(
        "--interval", type=float, default=0.2, help="seconds between polls of the log when idle"
    )
    worker.add_argument("--batch", type=int, default=1000, help="events per published batch")
    worker.set_defaults(handler=relay_worker)
