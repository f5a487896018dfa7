"""The main both Kafka workers share: broker check, logs, signals, container, close."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import structlog

from infra.bootstrap import Container, bootstrap
from infra.logging import configure_logging
from infra.settings import Settings
from workers.runtime import Pace, retrying, stopping_on_signals

log = structlog.get_logger("fabledger.kafka")


def run_kafka_worker(
    name: str,
    settings: Settings,
    pace: Pace,
    body: Callable[[Container, threading.Event], None],
) -> int:
    """Build the container (retrying while the database is away), run `body` until SIGTERM."""
    if not settings.kafka_bootstrap:
        raise SystemExit("error: FABLEDGER_KAFKA_BOOTSTRAP is not set")
    configure_logging(json_lines=settings.env == "production", level=settings.log_level)
    logging.getLogger("kafka").setLevel(logging.WARNING)  # its INFO is every connection
    stop = threading.Event()
    with stopping_on_signals(stop):
        container = retrying(name, lambda: bootstrap(settings), stop, pace)
        if container is None:
            return 0
        try:
            body(container, stop)
        finally:
            container.close()
    log.info("worker_stopped", worker=name)
    return 0
