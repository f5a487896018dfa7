"""Slicing's parts in one process: the log, the order follower, the view, the queue and,
in embedded mode, the thread that slices."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import structlog

from application.catalog import CatalogApp
from application.fleet import FleetApp
from application.ordering import OrderingApp
from application.slicing import OrderSlicing, SliceQueue, SlicingApp
from infra.gcode_store import GcodeStore
from infra.model_slicer import ModelSlicer
from infra.model_store import FileModelStore
from infra.settings import Settings
from infra.slicer import PrusaSlicer
from projections.base import ViewDatabase
from projections.slice_jobs import claimable_jobs, job_view, jobs_view

IDLE_POLL_SECONDS = 2.0  # a woken thread starts at once; this only catches other processes' jobs


class SliceJobsView:
    """The slice-jobs view as the application and the API read it."""

    def __init__(self, views: ViewDatabase) -> None:
        self.views = views

    def claimable(self, now: float, limit: int) -> list[UUID]:
        """Open jobs, oldest request first."""
        with self.views.reading() as cur:
            return [UUID(job_id) for job_id in claimable_jobs(cur, now, limit)]

    def job(self, job_id: UUID) -> dict[str, Any] | None:
        """One job's state and figures as folded so far."""
        with self.views.reading() as cur:
            return job_view(cur, str(job_id))

    def jobs(self, job_ids: list[str]) -> dict[str, dict[str, Any]]:
        """These jobs by id (those the view has folded)."""
        with self.views.reading() as cur:
            return jobs_view(cur, job_ids)


@dataclass
class Slicing:
    """What firm quotes need: jobs (log and view), G-code files and, if the slicer runs
    here, the queue a worker (or the embedded thread) works through."""

    app: SlicingApp
    orders: OrderSlicing
    view: SliceJobsView
    gcodes: GcodeStore
    queue: SliceQueue | None  # None: no slicer on this machine (jobs wait for a worker)
    _stop: threading.Event = field(default_factory=threading.Event)
    _wake: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start_in_process(self) -> None:
        """Slice in a thread of this process, woken by each save of the slicing log."""
        if self.queue is None or self._thread is not None:
            return
        self.app.add_listener(lambda _position: self._wake.set())
        self._thread = threading.Thread(target=self._run, name="slicer", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the thread after the slice in flight."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        assert self.queue is not None
        log = structlog.get_logger("fabledger.slicer")
        while not self._stop.is_set():
            self._wake.clear()
            try:
                done = self.queue.work_some(self._stop.is_set)
            except Exception as error:  # the database away: try again after the pause
                log.warning("slicer_step_failed", error_type=type(error).__name__)
                done = 0
            if not done:
                self._wake.wait(IDLE_POLL_SECONDS)


def build_slicing(
    settings: Settings,
    ordering: OrderingApp,
    catalog: CatalogApp,
    fleet: FleetApp,
    model_files: FileModelStore,
    views: ViewDatabase,
) -> Slicing:
    """The parts, with a queue only when the configured slicer runs on this machine."""
    app = SlicingApp(env=settings.event_store_env("slicing"))
    view = SliceJobsView(views)
    gcodes = GcodeStore(settings.data_dir)
    queue = None
    prusa = PrusaSlicer(settings.slicer_command) if settings.slicer_command else None
    if prusa is not None and prusa.available():
        slicer = ModelSlicer(
            model_files,
            gcodes,
            prusa,
            timeout_s=settings.slicer_timeout_seconds,
            memory_bytes=settings.slicer_memory_mb * 1024 * 1024,
            workroot=settings.data_dir / "slicing",
        )
        # The lease outlives the slicer's deadline: only a vanished worker's job is retaken.
        lease = int(settings.slicer_timeout_seconds) + 60
        queue = SliceQueue(app, view, slicer, lease_seconds=lease)
    orders = OrderSlicing(app, ordering, catalog, fleet, view)
    return Slicing(app, orders, view, gcodes, queue)
