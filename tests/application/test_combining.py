"""Combining: callers of one key served together, one leader at a time, each its own answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from application.combining import Combiner


class Recorder:
    """A serve function that notes its batches and whether two ran at once for a key."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.active: dict[str, int] = {}
        self.overlaps = 0
        self.lock = threading.Lock()

    def serve(self, key: str, items: Sequence[int]) -> list[int | BaseException]:
        with self.lock:
            self.active[key] = self.active.get(key, 0) + 1
            self.overlaps += self.active[key] > 1
            self.batches.append(list(items))
        time.sleep(0.002)  # a durable write
        with self.lock:
            self.active[key] -= 1
        return [ValueError(f"odd {i}") if i % 7 == 0 else i * 10 for i in items]


def test_each_caller_gets_its_own_answer_and_one_key_has_one_leader() -> None:
    recorder = Recorder()
    combiner: Combiner[str, int, int] = Combiner(recorder.serve)
    answers: dict[int, object] = {}
    start = threading.Barrier(12)

    def caller(n: int) -> None:
        start.wait()
        for i in range(n * 100, n * 100 + 25):
            key = "hot" if i % 2 else f"cold-{i % 3}"
            try:
                answers[i] = combiner.submit(key, i)
            except ValueError as refused:
                answers[i] = str(refused)

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 12 * 25
    for i, answer in answers.items():
        assert answer == (f"odd {i}" if i % 7 == 0 else i * 10)
    assert recorder.overlaps == 0
    assert max(len(batch) for batch in recorder.batches) > 1  # callers were combined
    assert sorted(i for batch in recorder.batches for i in batch) == sorted(answers)
    assert combiner._lines == {}  # idle lines are dropped


def test_a_batch_that_fails_as_a_whole_fails_each_caller_with_its_own_error() -> None:
    release = threading.Event()
    calls = 0

    def serve(_key: str, items: Sequence[int]) -> list[int | BaseException]:
        nonlocal calls
        calls += 1
        if calls == 1:
            release.wait(5)  # hold the first batch so that the others queue behind it
            return list(items)
        raise ConnectionError("database away")

    combiner: Combiner[str, int, int] = Combiner(serve)
    first = threading.Thread(target=combiner.submit, args=("k", 0))
    first.start()
    time.sleep(0.05)
    errors: list[BaseException] = []

    def queued(i: int) -> None:
        with pytest.raises(ConnectionError) as raised:
            combiner.submit("k", i)
        errors.append(raised.value)

    waiting = [threading.Thread(target=queued, args=(i,)) for i in range(1, 4)]
    for thread in waiting:
        thread.start()
    time.sleep(0.05)
    release.set()
    for thread in [first, *waiting]:
        thread.join()
    assert calls == 2  # the three queued callers were one batch
    assert len(errors) == 3 and len({id(error) for error in errors}) == 3
