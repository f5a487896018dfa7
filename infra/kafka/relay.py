"""The relay: publishes an application's notification log to its Kafka topic, in order.

At least once, never skipping: a batch is sent and flushed, and only when the broker
acknowledged every record of it is the new position recorded (compare-and-set, so two
relays never move it twice). A failed batch is sent again in full; the consumers drop
what they already applied (see infra/kafka/consumer.py and the `previous-position` chain).

The chain links the EVENT records of a partition only: each event names the position of
the previous event put on its partition (0 for the first). `partition_heads` keeps the
last event position per partition, so a batch sent again carries the same links.
Watermarks stand outside the chain; each names its partition's last event instead.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from typing import Any, Protocol

from eventsourcing.application import Application
from eventsourcing.persistence import Transcoder

from infra.kafka.codec import Message, encode_event, encode_watermark
from infra.kafka.config import partition_for
from projections.base import Cursor, ViewDatabase

MIRROR_SUFFIX = ".previous"  # the migration mirror of a topic (Relay's `mirror`)
RELAY_DDL = (
    "CREATE TABLE IF NOT EXISTS relay_positions ("
    " application TEXT PRIMARY KEY, position BIGINT NOT NULL, partition_heads TEXT NOT NULL)"
)


class Producer(Protocol):
    """The part of kafka.KafkaProducer the relay uses."""

    def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> Any:
        """Queue one record; a future of its metadata."""
        ...

    def flush(self, timeout: float | None = None) -> None:
        """Send everything queued and wait for the answers."""
        ...

    def partitions_for(self, topic: str) -> set[int]:
        """The topic's partition ids."""
        ...


class PublishFailed(Exception):
    """The broker did not acknowledge the whole batch: nothing was recorded."""


class Abandoned(Exception):
    """The relay was asked to stop before the batch was acknowledged: nothing was recorded."""


class PositionMoved(Exception):
    """Another relay recorded a batch of this application first."""


class Relay:
    """Publishes one application's log to one topic, a batch at a time."""

    def __init__(
        self,
        app: Application[Any],
        views: ViewDatabase,
        producer: Producer,
        topic: str,
        *,
        batch_size: int = 1000,
        ack_timeout: float = 30.0,
        mirror: str | None = None,
    ) -> None:
        self.app = app
        self.views = views
        self.producer = producer
        self.topic = topic
        # During a breaking change: the whole log again, changed types one version back, so
        # consumers of the old version read a complete stream while they migrate.
        self.mirror = mirror
        self.batch_size = batch_size
        self.ack_timeout = ack_timeout
        self.partitions = len(producer.partitions_for(topic) or ())
        if not self.partitions:
            raise PublishFailed(f"topic {topic} has no partitions (not created?)")
        if mirror is not None and len(producer.partitions_for(mirror) or ()) != self.partitions:
            raise PublishFailed(
                f"topic {mirror} must have the {self.partitions} partitions of {topic}"
            )
        with views.schema_change() as cur:
            cur.execute(RELAY_DDL)

    @property
    def name(self) -> str:
        """The application whose log this relay publishes."""
        return str(self.app.name)

    def position(self) -> int:
        """The last notification position the broker acknowledged."""
        with self.views.reading() as cur:
            return _read_state(cur, self.name, self.partitions)[0]

    def publish(self, stop: threading.Event | None = None) -> int:
        """Publish the next batch; how many events it held (0: nothing new)."""
        with self.views.reading() as cur:
            position, heads = _read_state(cur, self.name, self.partitions)
        notifications = self.app.recorder.select_notifications(
            start=position, limit=self.batch_size, inclusive_of_start=False
        )
        if not notifications:
            return 0
        transcoder = self.app.mapper.transcoder
        batches = []
        if self.mirror is not None:  # the same links: both topics' partitions hold alike
            batches.append(
                (
                    self.mirror,
                    encode_batch(self.name, transcoder, notifications, list(heads), back=True),
                )
            )
        batches.append((self.topic, encode_batch(self.name, transcoder, notifications, heads)))
        futures = [
            self.producer.send(
                topic, value=m.value, key=m.key, headers=m.headers, partition=m.partition
            )
            for topic, messages in batches
            for m in messages
        ]
        self._await(futures, stop)
        with self.views.transaction() as cur:
            _record(cur, self.name, position, notifications[-1].id, heads)
        return len(notifications)

    def _await(self, futures: list[Any], stop: threading.Event | None) -> None:
        """Flush and check every future; a failure or a stop request records nothing."""
        deadline = time.monotonic() + self.ack_timeout
        while True:
            try:
                self.producer.flush(timeout=1.0)  # in slices, so SIGTERM is heard
                break
            except Exception as error:  # kafka-python: KafkaTimeoutError
                if stop is not None and stop.is_set():
                    raise Abandoned(self.name) from error
                if time.monotonic() > deadline:
                    raise PublishFailed(f"{self.name}: no acknowledgement in time") from error
        for future in futures:
            if not future.is_done:
                raise PublishFailed(f"{self.name}: a record is still unacknowledged")
            if future.failed():
                raise PublishFailed(f"{self.name}: {future.exception!r}") from future.exception


def encode_batch(
    application: str,
    transcoder: Transcoder,
    notifications: Sequence[Any],
    heads: list[int],
    *,
    back: bool = False,
) -> list[Message]:
    """A batch's events, then one watermark per partition; advances `heads` (one a partition).

    `heads[p]` is the last EVENT position put on partition p: the next event's
    `previous-position` and the watermark's `last-event-position` (a watermark moves no head).
    """
    partitions = len(heads)
    messages = []
    for n in notifications:
        partition = partition_for(str(n.originator_id).encode(), partitions)
        messages.append(
            encode_event(
                application,
                n,
                transcoder,
                partition=partition,
                previous=heads[partition],
                back=back,
            )
        )
        heads[partition] = n.id
    last = notifications[-1].id
    messages += [
        encode_watermark(application, last, partition=p, previous=heads[p])
        for p in range(partitions)
    ]
    return messages


def _read_state(cur: Cursor, application: str, partitions: int) -> tuple[int, list[int]]:
    """(position, last position published to each partition)."""
    cur.execute(
        "SELECT position, partition_heads FROM relay_positions WHERE application = ?",
        (application,),
    )
    row = cur.fetchone()
    if row is None:
        return 0, [0] * partitions
    heads = json.loads(row[1])
    if len(heads) != partitions:
        # Keys would land on other partitions: a stream could be split and reordered.
        raise PublishFailed(
            f"{application}: topic has {partitions} partitions but {len(heads)} were published to"
        )
    return int(row[0]), [int(h) for h in heads]


def _record(cur: Cursor, application: str, old: int, new: int, heads: list[int]) -> None:
    """Compare-and-set the relay's position (and its partitions' heads)."""
    if old == 0:
        cur.execute(
            "INSERT INTO relay_positions (application, position, partition_heads)"
            " VALUES (?, ?, ?) ON CONFLICT (application) DO NOTHING",
            (application, new, json.dumps(heads)),
        )
    else:
        cur.execute(
            "UPDATE relay_positions SET position = ?, partition_heads = ?"
            " WHERE application = ? AND position = ?",
            (new, json.dumps(heads), application, old),
        )
    if cur.rowcount != 1:
        raise PositionMoved(application)
