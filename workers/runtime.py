"""The loop every worker runs: step, sleep, back off on errors, stop cleanly on SIGTERM."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import TypeVar

import structlog

from infra.logging import configure_logging
from infra.settings import Settings

T = TypeVar("T")


def _log() -> structlog.typing.FilteringBoundLogger:
    """A fresh logger each time: a module-level one caches the configuration of its first use."""
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger("fabledger.worker")
    return logger


# A step returns how much work it did: more than 0 runs the next step at once (catching up).
Step = Callable[[], int]


@dataclass(frozen=True)
class Pace:
    """How often a worker polls, and how it backs off while something (the database) fails."""

    interval: float = 0.5
    first_backoff: float = 0.5
    max_backoff: float = 15.0

    def backoff(self, failures: int) -> float:
        """Seconds to wait after `failures` consecutive failed steps (doubling, capped)."""
        return float(min(self.max_backoff, self.first_backoff * 2 ** (failures - 1)))


@contextmanager
def stopping_on_signals(stop: threading.Event) -> Iterator[list[str]]:
    """SIGTERM/SIGINT only set `stop`: the current step always finishes (main thread only).

    Yields the names of the signals received; the handler does not log, because writing
    to a stream the interrupted code may be writing to raises a reentrant-call error.
    """
    received: list[str] = []

    def handler(signum: int, _frame: FrameType | None) -> None:
        received.append(signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_steps(name: str, step: Step, stop: threading.Event, pace: Pace = Pace()) -> None:
    """Call `step` until `stop` is set; an exception is logged and retried after a backoff."""
    failures = 0
    while not stop.is_set():
        try:
            done = step()
        except Exception as error:  # the database may come back: a worker outlives outages
            failures += 1
            wait = pace.backoff(failures)
            _log().warning(
                "worker_step_failed",
                worker=name,
                error_type=type(error).__name__,
                error=str(error).splitlines()[0] if str(error) else "",
                failures=failures,
                retry_in=wait,
            )
        else:
            if failures:
                _log().info("worker_recovered", worker=name, after_failures=failures)
            failures = 0
            wait = 0.0 if done else pace.interval
        if wait and stop.wait(wait):
            break


def retrying(name: str, build: Callable[[], T], stop: threading.Event, pace: Pace) -> T | None:
    """`build()`, retried with backoff until it works (None if stopped first)."""
    failures = 0
    while not stop.is_set():
        try:
            return build()
        except Exception as error:
            failures += 1
            wait = pace.backoff(failures)
            _log().warning(
                "worker_start_failed", worker=name, error_type=type(error).__name__, retry_in=wait
            )
            stop.wait(wait)
    return None


def run_worker(
    name: str,
    settings: Settings,
    build: Callable[[], T],
    step_of: Callable[[T, threading.Event], Step],
    close: Callable[[T], None],
    pace: Pace = Pace(),
) -> int:
    """A worker's main: build its parts, run its steps until SIGTERM, close, exit 0."""
    configure_logging(json_lines=settings.env == "production", level=settings.log_level)
    stop = threading.Event()
    with stopping_on_signals(stop) as received:
        parts = retrying(name, build, stop, pace)
        if parts is None:
            _log().info("worker_stopped", worker=name, signals=received, before_start=True)
            return 0
        _log().info("worker_started", worker=name, interval=pace.interval)
        try:
            run_steps(name, step_of(parts, stop), stop, pace)
        finally:
            close(parts)
    _log().info("worker_stopped", worker=name, signals=received)
    return 0
