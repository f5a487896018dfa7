"""A reference consumer of fabledger's event topics, written as another team would write it.

It uses kafka-python only (no fabledger code) and follows the README's consumer guide
("Kafka event format"):

- every record is an event or a watermark (the `record-kind` header, the value's `kind`);
  a watermark only says how far a partition has been sent, so it moves no state here;
- exactly once per partition: an event is applied only when its `previous-position` equals
  the position of the last event applied on that partition; an event at or below that
  position is a duplicate (dropped); any other is ahead of a gap (dropped too: the relay
  sends the missing event again, followed by this one);
- per-aggregate state: each aggregate's version, its last event type and its fields as
  the events set them.

State and offsets are saved together, in one JSON file replaced atomically after each
poll batch, so a restart neither loses nor repeats an effect.

    python examples/kafka_consumer.py --bootstrap 127.0.0.1:9092 \\
        --topic fabledger.ordering --state ordering-state.json --idle 5
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition

EVENT, WATERMARK = "event", "watermark"


@dataclass
class Partition:
    """What has been taken from one partition: the next offset, the chain, the watermark."""

    next_offset: int | None = None  # None: from the beginning
    applied: int = 0  # position of the last EVENT applied (the chain); 0: none yet
    watermark: int = 0  # every event of the partition up to it is applied


@dataclass
class Aggregate:
    """One aggregate as its events built it."""

    application: str
    version: int = 0
    type: str = ""
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class Tally:
    """What the consumer did with the records it read."""

    applied: int = 0
    duplicates: int = 0
    gaps: int = 0
    watermarks: int = 0
    other: int = 0
    anomalies: list[str] = field(default_factory=list)


class ExactlyOnce:
    """Applies a topic's events exactly once per partition into per-aggregate state."""

    def __init__(self) -> None:
        self.partitions: dict[str, Partition] = {}
        self.aggregates: dict[str, Aggregate] = {}
        self.tally = Tally()

    def handle(
        self,
        topic: str,
        partition: int,
        offset: int,
        headers: list[tuple[str, bytes]],
        value: bytes,
    ) -> str:
        """Take one record; what it was: applied, duplicate, gap, watermark or other."""
        progress = self.partitions.setdefault(f"{topic}:{partition}", Partition())
        progress.next_offset = offset + 1
        text = {name: raw.decode() for name, raw in headers}
        document = json.loads(value)
        kind = document.get("kind") or text.get("record-kind") or _older_kind(text)
        if kind == WATERMARK:
            up_to, last_event = _watermark(document, text)
            # Only once this partition's last event before it is applied (a watermark of a
            # failed batch can arrive ahead of an event that is sent again).
            if last_event <= progress.applied:
                progress.watermark = max(progress.watermark, up_to)
            self.tally.watermarks += 1
            return WATERMARK
        if kind != EVENT:
            self.tally.other += 1  # a kind this consumer does not know: skip it
            return "other"
        position = int(text["notification-position"])
        previous = int(text["previous-position"])
        if position <= progress.applied:
            self.tally.duplicates += 1
            return "duplicate"
        if previous != progress.applied:
            self.tally.gaps += 1
            return "gap"
        self._apply(document)
        progress.applied = position
        self.tally.applied += 1
        return "applied"

    def _apply(self, event: dict[str, Any]) -> None:
        aggregate = self.aggregates.setdefault(
            event["originator_id"], Aggregate(application=event["application"])
        )
        if event["originator_version"] != aggregate.version + 1:
            self.tally.anomalies.append(
                f"{event['originator_id']}: version {event['originator_version']}"
                f" after {aggregate.version}"
            )
        aggregate.version = event["originator_version"]
        aggregate.type = event["type"]
        aggregate.fields.update(event["data"])

    def save(self, path: Path) -> None:
        """Write state and offsets in one go (a crash leaves the old file or the new one)."""
        document = {
            "partitions": {k: asdict(v) for k, v in self.partitions.items()},
            "aggregates": {k: asdict(v) for k, v in self.aggregates.items()},
            "tally": asdict(self.tally),
        }
        temporary = path.with_suffix(path.suffix + ".tmp")
        temporary.write_text(json.dumps(document))
        os.replace(temporary, path)

    @classmethod
    def load(cls, path: Path) -> ExactlyOnce:
        """The state saved by `save`, or a fresh one."""
        consumer = cls()
        if path.exists():
            document = json.loads(path.read_text())
            consumer.partitions = {k: Partition(**v) for k, v in document["partitions"].items()}
            consumer.aggregates = {k: Aggregate(**v) for k, v in document["aggregates"].items()}
            consumer.tally = Tally(**document["tally"])
        return consumer


def _older_kind(headers: dict[str, str]) -> str:
    """Records written before `kind` existed: a watermark said so in `event-type` only."""
    return WATERMARK if headers.get("event-type") == "Watermark" else EVENT


def _watermark(document: dict[str, Any], headers: dict[str, str]) -> tuple[int, int]:
    """(up-to position, last event before it) of a watermark, in either form."""
    if "up_to_position" in document:
        return int(document["up_to_position"]), int(headers.get("last-event-position", "0"))
    return int(document["position"]), int(headers.get("previous-position", "0"))  # older


def consume(bootstrap: str, topics: list[str], state: Path, idle: float) -> ExactlyOnce:
    """Read the topics from the saved offsets; stop after `idle` seconds with no record."""
    consumer = ExactlyOnce.load(state)
    kafka = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        assigned = [
            TopicPartition(topic, p) for topic in topics for p in kafka.partitions_for_topic(topic)
        ]
        kafka.assign(assigned)
        for tp in assigned:  # continue where the saved state says, never where Kafka does
            offset = consumer.partitions.get(f"{tp.topic}:{tp.partition}", Partition()).next_offset
            if offset is None:
                kafka.seek_to_beginning(tp)
            else:
                kafka.seek(tp, offset)
        # A broker's end offsets can be one short: stop only once past them AND quiet.
        ends = kafka.end_offsets(assigned)
        last_record = time.monotonic()
        while True:
            batch = kafka.poll(timeout_ms=200)
            for tp, records in batch.items():
                for r in records:
                    consumer.handle(tp.topic, tp.partition, r.offset, r.headers, r.value)
            if batch:
                consumer.save(state)  # the effects and the offsets, together
                last_record = time.monotonic()
            caught_up = all(kafka.position(tp) >= ends[tp] for tp in assigned)
            if idle > 0 and caught_up and time.monotonic() - last_record >= idle:
                break
    finally:
        kafka.close(autocommit=False)
    return consumer


def main(argv: list[str] | None = None) -> int:
    """Command line: consume, then print the tally and the number of aggregates."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True, help="host:port of a broker")
    parser.add_argument("--topic", action="append", required=True, help="repeatable")
    parser.add_argument("--state", type=Path, required=True, help="JSON file of state+offsets")
    parser.add_argument("--idle", type=float, default=0, help="stop after S quiet seconds")
    args = parser.parse_args(argv)
    consumer = consume(args.bootstrap, args.topic, args.state, args.idle)
    summary = {"aggregates": len(consumer.aggregates), **asdict(consumer.tally)}
    print(json.dumps(summary))
    return 1 if consumer.tally.anomalies else 0


if __name__ == "__main__":
    sys.exit(main())
