"""A process pool whose workers run under an address-space cap and a per-call deadline."""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.context import BaseContext
from typing import Any, TypeVar

import structlog

from domain.errors import InvalidModelFile, Unavailable
from infra.dfm.params import DfmParams
from infra.dfm.worker import prepare

T = TypeVar("T")
# Forking from the warm server takes tens of ms; the very first start imports everything.
_START_SECONDS = 120.0
_QUEUE_ALLOWANCE_SECONDS = 5.0
log = structlog.get_logger("fabledger.dfm")


class Sandbox:
    """Runs tasks in workers; a task past its deadline takes its pool down with it."""

    def __init__(
        self, workers: int, memory_mb: int, timeout_seconds: float, params: DfmParams
    ) -> None:
        self.workers = workers
        self.memory_mb = memory_mb
        self.timeout_seconds = timeout_seconds
        self._params = params
        # A slot per worker: a task is only submitted when a worker is free for it, so its
        # deadline times its own analysis, never the queue in front of it.
        self._slots = threading.BoundedSemaphore(workers)
        # A slot frees within a deadline (two with the retry) plus a pool restart.
        self.queue_seconds = 2.0 * timeout_seconds + _QUEUE_ALLOWANCE_SECONDS
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._closed = False

    def run(self, task: Callable[..., T], *args: Any) -> T:
        """task(*args) in a worker, or InvalidModelFile naming the limit it broke."""
        if not self._slots.acquire(timeout=self.queue_seconds):
            raise Unavailable("every model analysis worker is busy; try again shortly")
        try:
            return self._run(task, *args)
        finally:
            self._slots.release()

    def _run(self, task: Callable[..., T], *args: Any) -> T:
        # One retry: a broken pool may have been killed by another call's timeout, or lost
        # a worker to another call's memory. A bystander succeeds on the fresh pool; the
        # culprit breaks it again and is refused.
        died = False
        for _ in range(2):
            pool = self._current_pool()
            try:
                future = pool.submit(task, *args)
            except (BrokenProcessPool, RuntimeError):
                continue  # another call retired this pool between our lookup and submit
            try:
                return future.result(timeout=self.timeout_seconds)
            except FutureTimeout:
                # The worker cannot be interrupted, only killed, and killing one worker
                # breaks its whole pool: replace the pool.
                self._discard(pool, kill=True)
                raise InvalidModelFile(
                    f"analysis exceeded the time limit of {self.timeout_seconds:g} s"
                ) from None
            except BrokenProcessPool:
                died = True
                self._discard(pool, kill=False)
            except MemoryError:
                raise InvalidModelFile("analysis exceeded the memory limit") from None
        if not died:
            raise Unavailable("the model analysis workers are restarting; try again shortly")
        # RLIMIT_AS turns most overruns into MemoryError; a worker that died outright did
        # so in C code (or while unpickling the upload) for want of memory, as a rule.
        log.warning("dfm_worker_died", memory_mb=self.memory_mb)
        raise InvalidModelFile("analysis exceeded the memory limit")

    def close(self) -> None:
        """Stop the workers; running tasks end within their deadline, queued ones are dropped."""
        with self._lock:
            pool, self._pool = self._pool, None
            self._closed = True
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _current_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("the DFM sandbox is closed")
            if self._pool is None:
                self._pool = self._start_pool()
            return self._pool

    def _start_pool(self) -> ProcessPoolExecutor:
        """A pool whose workers are up and warm, so deadlines time analyses, not start-up."""
        pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=_context(),
            initializer=prepare,
            initargs=(self.memory_mb, self._params),
        )
        # Each submit finding no idle worker starts one: this brings all of them up.
        started = [pool.submit(os.getpid) for _ in range(self.workers)]
        try:
            for future in started:
                future.result(timeout=_START_SECONDS)
        except (FutureTimeout, BrokenProcessPool) as exc:
            _kill(pool)
            log.error("dfm_pool_failed_to_start", error=type(exc).__name__)
            raise Unavailable("the model analysis workers failed to start") from exc
        return pool

    def _discard(self, pool: ProcessPoolExecutor, *, kill: bool) -> None:
        """Forget a pool (if still current) and stop it, killing its workers if asked."""
        with self._lock:
            if self._pool is pool:
                self._pool = None
        if kill:
            _kill(pool)
        else:
            pool.shutdown(wait=False, cancel_futures=True)


def _kill(pool: ProcessPoolExecutor) -> None:
    """Kill every worker of the pool and let it wind down without waiting."""
    # Private, but the only handle on the workers before Python 3.14's kill_workers.
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def _context() -> BaseContext:
    """forkserver where there is one (workers fork from a warm, imported parent), else spawn."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        # Only takes effect when the server starts: later pools fork from the same server.
        context.set_forkserver_preload(["infra.dfm.worker"])
        return context
    return multiprocessing.get_context("spawn")
