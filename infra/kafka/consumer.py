"""Kafka-fed projections: a poll batch and its offsets commit in one view transaction.

Exactly-once effects: `consumer_offsets` holds, per (group, topic, partition), the next
offset to read, the newest watermark applied and the last EVENT position applied. A
record below the stored offset was applied already (a redelivery) and is skipped. The
relay may send a batch twice after a failure, so an event is applied only when its
`previous-position` is the partition's last applied event position: a copy sent again is
behind it (dropped), and one whose predecessor was lost is ahead of it (dropped too,
since the relay sends the predecessor again, followed by it). Watermarks are no links of
that chain: one is taken (its up-to position kept) only once the partition's last event
before it has been applied; records of a kind unknown here are passed over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from kafka import ConsumerRebalanceListener, TopicPartition

from infra.kafka.codec import decode
from infra.kafka.positions import OFFSETS_DDL
from projections.base import Cursor, EventRecord, Projection, ViewDatabase

log = structlog.get_logger("fabledger.kafka")


@dataclass
class PartitionState:
    """What a group has applied of one partition (next_offset None: from the beginning)."""

    next_offset: int | None = None
    watermark: int = 0
    applied: int = 0


class OffsetsMoved(Exception):
    """Another instance of the group committed this partition first: re-seek, retry."""


class KafkaProjection:
    """Folds one topic into one projection's view, as one member of a consumer group."""

    def __init__(
        self,
        projection: Projection,
        views: ViewDatabase,
        topic: str,
        group_id: str,
        new_consumer: Callable[[], Any],
        *,
        poll_timeout_ms: int = 500,
        join_timeout_ms: int = 5000,
    ) -> None:
        self.projection = projection
        self.views = views
        self.topic = topic
        self.group_id = group_id
        self.poll_timeout_ms = poll_timeout_ms
        self.join_timeout_ms = join_timeout_ms
        with views.schema_change() as cur:
            cur.execute(OFFSETS_DDL)
            projection.create(cur)
        self.consumer = new_consumer()
        self._resync = False  # the consumer may be past what the database holds
        self.consumer.subscribe([topic], listener=_SeekToStored(self))

    @property
    def name(self) -> str:
        """The projection's name."""
        return self.projection.name

    def poll(self) -> int:
        """Fold one poll batch; how many events it applied."""
        if self._resync:
            self.seek_to_stored(self.consumer.assignment())
        # kafka-python 3.0 drops a group join that completes while no poll() waits for it
        # and starts over, so wait through a whole join (tansu holds it session/2).
        joined = bool(self.consumer.assignment())
        timeout = (
            self.poll_timeout_ms if joined else max(self.poll_timeout_ms, self.join_timeout_ms)
        )
        batch: Mapping[TopicPartition, Sequence[Any]] = self.consumer.poll(timeout_ms=timeout)
        if not batch:
            return 0
        try:
            return self._apply(batch)
        except OffsetsMoved:
            self._resync = True
            return 0
        except BaseException:
            self._resync = True  # the transaction rolled back; read the batch again
            raise

    def _apply(self, batch: Mapping[TopicPartition, Sequence[Any]]) -> int:
        reseek: dict[TopicPartition, int] = {}
        with self.views.transaction() as cur:
            states = self._lock(cur, [tp.partition for tp in batch])
            records: list[EventRecord] = []
            olds = {p: s.next_offset for p, s in states.items()}
            for tp, messages in batch.items():
                state = states[tp.partition]
                if state.next_offset is not None and messages[0].offset > state.next_offset:
                    reseek[tp] = state.next_offset  # we are ahead of the database: re-read
                    continue
                records += _fold_partition(state, messages, tp.partition, self.name)
            records.sort(key=lambda r: r.position)  # log order across partitions
            if records:
                self.projection.apply(cur, records)
            for partition, state in states.items():
                if state.next_offset != olds[partition]:
                    _store(cur, self.group_id, self.topic, partition, olds[partition], state)
        for tp, offset in reseek.items():
            self.consumer.seek(tp, offset)
        return len(records)

    def _lock(self, cur: Cursor, partitions: Iterable[int]) -> dict[int, PartitionState]:
        """The partitions' stored states, locked until the transaction ends."""
        wanted = sorted(set(partitions))
        lock = " FOR UPDATE" if self.views.dialect == "postgres" else ""
        marks = ", ".join("?" for _ in wanted)
        select = (
            "SELECT partition, next_offset, watermark, applied_position"  # noqa: S608
            f" FROM consumer_offsets WHERE group_id = ? AND topic = ? AND partition IN ({marks})"
            f" ORDER BY partition{lock}"
        )
        cur.execute(select, (self.group_id, self.topic, *wanted))
        rows = cur.fetchall()
        if len(rows) < len(wanted):  # first batch of a partition the listener never saw
            _ensure_rows(cur, self.group_id, self.topic, wanted)
            cur.execute(select, (self.group_id, self.topic, *wanted))
            rows = cur.fetchall()
        return {
            int(p): PartitionState(None if o is None else int(o), int(w), int(a))
            for p, o, w, a in rows
        }

    def seek_to_stored(self, partitions: Iterable[TopicPartition]) -> None:
        """Position the consumer where the database says each partition continues."""
        partitions = list(partitions)
        if partitions:
            with self.views.transaction() as cur:
                _ensure_rows(cur, self.group_id, self.topic, self._all_partitions(partitions))
                states = _read(cur, self.group_id, self.topic)
            for tp in partitions:
                offset = states[tp.partition].next_offset
                if offset is None:
                    self.consumer.seek_to_beginning(tp)
                else:
                    self.consumer.seek(tp, offset)
        self._resync = False

    def _all_partitions(self, assigned: list[TopicPartition]) -> list[int]:
        """Every partition of the topic, so the view's position covers them all."""
        known = self.consumer.partitions_for_topic(self.topic) or set()
        return sorted(known | {tp.partition for tp in assigned})

    def close(self) -> None:
        """Leave the group (nothing to commit: offsets are in the database)."""
        self.consumer.close(autocommit=False)


class _SeekToStored(ConsumerRebalanceListener):
    """On assignment, continue each partition from the offset stored beside the view."""

    def __init__(self, owner: KafkaProjection) -> None:
        self.owner = owner

    def on_partitions_revoked(self, revoked: Any) -> None:
        """Nothing to do: every applied batch is already committed with its offsets."""

    def on_partitions_assigned(self, assigned: Any) -> None:
        """Seek; if the database is down, the next poll seeks again before reading."""
        try:
            self.owner.seek_to_stored(assigned)
        except Exception as error:
            self.owner._resync = True
            log.warning("kafka_seek_failed", projection=self.owner.name, error=repr(error))


def _fold_partition(
    state: PartitionState, messages: Sequence[Any], partition: int, name: str
) -> list[EventRecord]:
    """The partition's new events in order; advances `state` (offset, chain, watermark)."""
    records = []
    for message in messages:
        if state.next_offset is not None and message.offset < state.next_offset:
            continue  # redelivered: applied with an earlier batch
        state.next_offset = message.offset + 1
        delivered = decode(message.value, message.headers)
        if delivered is None:
            continue  # a kind of record this release does not know: not ours to fold
        if delivered.event is None:
            if delivered.previous <= state.applied:  # all of this partition up to it is in
                state.watermark = max(state.watermark, delivered.position)
        elif delivered.position <= state.applied:
            continue  # the relay sent it again after a failure: applied already
        elif delivered.previous == state.applied:
            records.append(delivered.event)
            state.applied = delivered.position
        else:
            log.info(
                "kafka_gap_skipped",
                projection=name,
                partition=partition,
                position=delivered.position,
                previous=delivered.previous,
                applied=state.applied,
            )
    return records


def _ensure_rows(cur: Cursor, group_id: str, topic: str, partitions: Iterable[int]) -> None:
    cur.executemany(
        "INSERT INTO consumer_offsets"
        " (group_id, topic, partition, next_offset, watermark, applied_position)"
        " VALUES (?, ?, ?, NULL, 0, 0) ON CONFLICT (group_id, topic, partition) DO NOTHING",
        [(group_id, topic, p) for p in partitions],
    )


def _read(cur: Cursor, group_id: str, topic: str) -> dict[int, PartitionState]:
    cur.execute(
        "SELECT partition, next_offset, watermark, applied_position FROM consumer_offsets"
        " WHERE group_id = ? AND topic = ?",
        (group_id, topic),
    )
    return {
        int(p): PartitionState(None if o is None else int(o), int(w), int(a))
        for p, o, w, a in cur.fetchall()
    }


def _store(
    cur: Cursor, group_id: str, topic: str, partition: int, old: int | None, state: PartitionState
) -> None:
    """Compare-and-set one partition's offset with its watermark and chain position."""
    cur.execute(
        "UPDATE consumer_offsets SET next_offset = ?, watermark = ?, applied_position = ?"
        " WHERE group_id = ? AND topic = ? AND partition = ?"
        " AND next_offset IS NOT DISTINCT FROM ?",
        (state.next_offset, state.watermark, state.applied, group_id, topic, partition, old),
    )
    if cur.rowcount != 1:
        raise OffsetsMoved(f"{group_id} {topic}[{partition}]")


def reset(views: ViewDatabase, projection: Projection, group_id: str) -> None:
    """Drop the view and its offsets: the group reads its topic again from the start."""
    with views.schema_change() as cur:
        projection.drop(cur)
        projection.create(cur)
        cur.execute(OFFSETS_DDL)
        cur.execute("DELETE FROM consumer_offsets WHERE group_id = ?", (group_id,))
