"""Topic naming and Kafka client factories, configured for per-aggregate order."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaTimeoutError, TopicAlreadyExistsError
from kafka.partitioner.default import murmur2

TOPIC_PREFIX = "fabledger."  # another prefix lets environments share one cluster
DEFAULT_PARTITIONS = 6

# kafka-python 3: idempotence needs acks=all and at most 5 requests in flight; with it on,
# the sender keeps one batch in flight per partition, so retries cannot reorder a stream.
PRODUCER_DEFAULTS: dict[str, Any] = {
    "enable_idempotence": True,
    "acks": "all",
    "max_in_flight_requests_per_connection": 5,
    "linger_ms": 5,
    "batch_size": 256 * 1024,
    "request_timeout_ms": 10_000,
    "delivery_timeout_ms": 30_000,  # >= request_timeout_ms + linger_ms
    "max_block_ms": 10_000,  # metadata of a dead broker: fail the step, back off, retry
}
# A consumer group join waits about session_timeout_ms / 2 on tansu (45 s default: ~23 s).
CONSUMER_DEFAULTS: dict[str, Any] = {
    "enable_auto_commit": False,  # offsets live in the view database, beside the effects
    "auto_offset_reset": "earliest",
    "session_timeout_ms": 10_000,
    "heartbeat_interval_ms": 3_000,
    "max_poll_records": 2_000,
    "max_poll_interval_ms": 300_000,
}


def topic_for(application: str, prefix: str = TOPIC_PREFIX) -> str:
    """The topic of one application (bounded context): fabledger.<app name>."""
    return f"{prefix}{application}"


def group_for(projection: str, prefix: str = TOPIC_PREFIX) -> str:
    """The consumer group of one read model, so each view scales and rebuilds alone."""
    return f"{prefix}projection.{projection}"


@lru_cache(maxsize=65_536)
def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner picks for a key (murmur2, as in Java)."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def servers(bootstrap: str) -> list[str]:
    """host:port list out of a comma-separated setting."""
    return [s.strip() for s in bootstrap.split(",") if s.strip()]


def new_producer(bootstrap: str, **overrides: Any) -> KafkaProducer:
    """An idempotent, acks=all producer of raw bytes."""
    return KafkaProducer(bootstrap_servers=servers(bootstrap), **{**PRODUCER_DEFAULTS, **overrides})


def new_consumer(bootstrap: str, group_id: str | None, **overrides: Any) -> KafkaConsumer:
    """A consumer of raw bytes that never commits offsets to Kafka by itself."""
    return KafkaConsumer(
        bootstrap_servers=servers(bootstrap),
        group_id=group_id,
        **{**CONSUMER_DEFAULTS, **overrides},
    )


def ensure_topic(bootstrap: str, topic: str, partitions: int, replication: int = 1) -> None:
    """Create the topic if it is missing (an existing one keeps its partition count)."""
    admin = KafkaAdminClient(bootstrap_servers=servers(bootstrap), request_timeout_ms=10_000)
    try:
        admin.create_topics([NewTopic(topic, partitions, replication)])
    except TopicAlreadyExistsError:
        pass
    finally:
        admin.close()


def close_producer(producer: KafkaProducer) -> None:
    """Close at once, dropping unsent records (kafka-python 3.0's close(0) raises instead)."""
    try:
        producer.close(timeout=0)
    except KafkaTimeoutError:
        # close() flushes first and gives up before it stops the sender thread: stop it,
        # or every failed batch would leak a producer still retrying in the background.
        producer._sender.force_close()
        producer._closed = True
