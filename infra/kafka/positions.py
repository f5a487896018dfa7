"""Where a Kafka-fed view stands: the watermarks its consumers applied (read-your-writes)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from infra.kafka.config import TOPIC_PREFIX, group_for, topic_for
from projections.base import Cursor, ViewDatabase
from projections.runner import ProjectionRunner
from projections.waiting import LogHead, PositionWaiters

OFFSETS_DDL = (
    "CREATE TABLE IF NOT EXISTS consumer_offsets ("
    " group_id TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL,"
    " next_offset BIGINT, watermark BIGINT NOT NULL, applied_position BIGINT NOT NULL,"
    " PRIMARY KEY (group_id, topic, partition))"
)


def watermark(cur: Cursor, group_id: str, topic: str) -> int:
    """The position every partition's applied watermark has reached (0: none yet)."""
    cur.execute(
        "SELECT MIN(watermark), COUNT(*) FROM consumer_offsets WHERE group_id = ? AND topic = ?",
        (group_id, topic),
    )
    row = cur.fetchone()
    return int(row[0]) if row and row[1] else 0


class KafkaViewPosition:
    """Read-your-writes for a Kafka-fed view: `wait_until` like ProjectionRunner's."""

    def __init__(
        self,
        name: str,
        views: ViewDatabase,
        topic: str,
        group_id: str,
        *,
        poll: float = 0.05,
        log_head: Callable[[], int | None] | None = None,
    ) -> None:
        self.name = name
        self.views = views
        self.topic = topic
        self.group_id = group_id
        self.poll = poll
        # The consumers run elsewhere: only polling the stored watermarks can wake a wait.
        self._waiters = PositionWaiters(self.position, poll=poll)
        self._head = LogHead(log_head) if log_head is not None else None
        with views.schema_change() as cur:
            cur.execute(OFFSETS_DDL)

    def position(self) -> int:
        """The notification position the view has folded everything up to."""
        with self.views.reading() as cur:
            return watermark(cur, self.group_id, self.topic)

    def wait_for(self, position: int, timeout: float) -> bool:
        """Block until the view has folded `position` (True) or the timeout passed."""
        deadline = time.monotonic() + timeout
        while self.position() < position:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(self.poll, remaining))
        return True

    async def wait_until(self, position: int, timeout: float) -> bool:
        """Like `wait_for`, holding no thread while it waits (the API's event loop)."""
        return await self._waiters.wait(position, timeout)

    async def in_log(self, position: int) -> bool:
        """Whether a write produced `position` (always, when built without the log's head)."""
        return self._head is None or await self._head.includes(position)


def kafka_positions(
    runners: Mapping[str, ProjectionRunner], views: ViewDatabase, prefix: str = TOPIC_PREFIX
) -> dict[str, KafkaViewPosition]:
    """Read-your-writes of each view when Kafka consumers (not the log runners) feed it."""
    return {
        name: KafkaViewPosition(
            name,
            views,
            topic_for(runner.app.name, prefix),
            group_for(name, prefix),
            log_head=runner.app.recorder.max_notification_id,
        )
        for name, runner in runners.items()
    }
