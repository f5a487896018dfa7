"""What every Kafka worker does before it starts: check the broker setting, set up logs."""

from __future__ import annotations

import logging

from infra.logging import configure_logging
from infra.settings import Settings


def prepare_kafka_worker(settings: Settings) -> None:
    """Refuse to start without a broker; log like every worker, without kafka's chatter."""
    if not settings.kafka_bootstrap:
        raise SystemExit("error: FABLEDGER_KAFKA_BOOTSTRAP is not set")
    configure_logging(json_lines=settings.env == "production", level=settings.log_level)
    logging.getLogger("kafka").setLevel(logging.WARNING)  # its INFO is every connection
