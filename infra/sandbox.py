"""A process pool whose workers run under an address-space cap and a per-call deadline."""

from __future__ import annotations

import multiprocessing
import os
import resource
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.context import BaseContext
from types import TracebackType
from typing import Any, Self, TypeVar

import structlog

from domain.errors import InvalidModelFile, Unavailable

T = TypeVar("T")
# Forking from the warm server takes tens of ms; the very first start imports everything.
_START_SECONDS = 120.0
_QUEUE_ALLOWANCE_SECONDS = 5.0
_MB = 1024 * 1024
# Modules every sandbox's workers need, imported once in the forkserver for all of them.
_PRELOAD: set[str] = set()
log = structlog.get_logger("fabledger.sandbox")


class Sandbox:
    """Runs tasks in workers; a task past its deadline takes its pool down with it.

    initializer(*initargs) runs in each new worker: it warms the task's libraries up and
    then calls cap_address_space(memory_mb). At most `workers` tasks run at once; up to
    `max_waiting` more callers wait (None: any number) for at most queue_seconds, and the
    rest are refused with Unavailable at once, so what callers hold stays bounded.
    """

    def __init__(
        self,
        workers: int,
        memory_mb: int,
        timeout_seconds: float,
        initializer: Callable[..., None],
        initargs: tuple[Any, ...] = (),
        *,
        name: str = "sandbox",
        preload: Iterable[str] = (),
        max_waiting: int | None = None,
    ) -> None:
        if timeout_seconds <= 0 or memory_mb <= 0 or workers < 1:
            raise ValueError("timeout_seconds and memory_mb must be positive, workers >= 1")
        if max_waiting is not None and max_waiting < 0:
            raise ValueError("max_waiting must be >= 0 (or None for no bound)")
        self.name = name
        self.workers = workers
        self.memory_mb = memory_mb
        self.timeout_seconds = timeout_seconds
        self.max_waiting = max_waiting
        self._initializer = initializer
        self._initargs = initargs
        _PRELOAD.update(preload)
        # A slot per worker: a task is only submitted when a worker is free for it, so its
        # deadline times its own analysis, never the queue in front of it.
        self._slots = threading.BoundedSemaphore(workers)
        # A slot frees within a deadline (two with the retry) plus a pool restart.
        self.queue_seconds = 2.0 * timeout_seconds + _QUEUE_ALLOWANCE_SECONDS
        self.running = 0  # tasks holding a worker now
        self.waiting = 0  # callers waiting for a worker now
        self.rejected = 0  # callers refused for want of a slot, since start
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._closed = False

    def run(self, task: Callable[..., T], *args: Any) -> T:
        """task(*args) in a worker, or InvalidModelFile naming the limit it broke."""
        self._acquire()
        with self._lock:
            self.running += 1
        try:
            return self._run(task, *args)
        finally:
            with self._lock:
                self.running -= 1
            self._slots.release()

    def _acquire(self) -> None:
        """Take a worker slot, waiting in a bounded queue; Unavailable when it is full."""
        if self._slots.acquire(blocking=False):
            return
        with self._lock:
            if self.max_waiting is not None and self.waiting >= self.max_waiting:
                self.rejected += 1
                raise Unavailable("every model analysis worker is busy; try again shortly")
            self.waiting += 1
        try:
            acquired = self._slots.acquire(timeout=self.queue_seconds)
        finally:
            with self._lock:
                self.waiting -= 1
        if not acquired:
            with self._lock:
                self.rejected += 1
            raise Unavailable("every model analysis worker is busy; try again shortly")

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
        log.warning("sandbox_worker_died", sandbox=self.name, memory_mb=self.memory_mb)
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
                raise RuntimeError(f"the {self.name} sandbox is closed")
            if self._pool is None:
                self._pool = self._start_pool()
            return self._pool

    def _start_pool(self) -> ProcessPoolExecutor:
        """A pool whose workers are up and warm, so deadlines time analyses, not start-up."""
        pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=_context(),
            initializer=self._initializer,
            initargs=self._initargs,
        )
        # Each submit finding no idle worker starts one: this brings all of them up.
        started = [pool.submit(os.getpid) for _ in range(self.workers)]
        try:
            for future in started:
                future.result(timeout=_START_SECONDS)
        except (FutureTimeout, BrokenProcessPool) as exc:
            _kill(pool)
            log.error("sandbox_pool_failed_to_start", sandbox=self.name, error=type(exc).__name__)
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


class OwnsSandbox:
    """An adapter that owns a Sandbox: closing it, or leaving its with-block, stops the pool."""

    sandbox: Sandbox

    def close(self) -> None:
        """Shut the worker pool down (the composition root calls this on exit)."""
        self.sandbox.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def cap_address_space(memory_mb: int) -> None:
    """In a warmed-up worker: allow memory_mb more address space than it has now, for good."""
    # Libraries map most of their address space lazily (Embree's thread pool alone takes
    # ~250 MB of it on first use): the initializer's warm-up makes that happen before the
    # cap, so memory_mb is what a task may add, not a figure libraries eat into unevenly.
    limit = _address_space_bytes() + memory_mb * _MB
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)  # never above what the service itself was granted
    # Soft and hard alike: the task cannot raise its own cap back.
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _address_space_bytes() -> int:
    """The process's current virtual size (Linux /proc), or 0 when unknown."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


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
        # Only takes effect when the server starts: later pools fork from the same server,
        # so the modules of every sandbox built before the first pool starts are preloaded.
        context.set_forkserver_preload(sorted(_PRELOAD))
        return context
    return multiprocessing.get_context("spawn")
