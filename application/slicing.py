"""Slicing: firm figures for a model, material, infill and printer, from a real slicer.

A slice is requested (by a firm quote, a placed order or a printer assignment) as a
SliceJob on the slicing log; a worker claims it, runs the slicer (a port: infra.slicer)
with a deadline and a memory limit, and records the figures or the reason it failed.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from application.base import FabApplication
from application.catalog import CatalogApp
from application.fleet import FleetApp
from application.ordering import OrderingApp
from domain.catalog import CostSettings, Material, PrinterProfile
from domain.errors import Conflict, NotFound
from domain.orders import CANCELLED, Order
from domain.pricing import PartGeometry
from domain.slice_jobs import SLICER_ACTOR, SLICING, SliceJob, slice_job_id
from domain.slicing import SliceProfile, SliceResult, SlicingFailed


class Slicer(Protocol):
    """Runs a slicer on a stored model file with one profile."""

    def version(self) -> str:
        """The slicer and its version, e.g. 'PrusaSlicer-2.5.0'."""
        ...

    def slice_model(self, model_sha256: str, filename: str, profile: SliceProfile) -> SliceResult:
        """The firm figures (G-code kept by content); SlicingFailed with the reason if none."""
        ...


@dataclass(frozen=True)
class SliceRequest:
    """A model file and what it is to be printed with."""

    model_sha256: str
    filename: str
    geometry: PartGeometry
    printer: PrinterProfile
    material: Material
    settings: CostSettings
    infill_pct: float

    def profile(self) -> SliceProfile:
        """The slicer settings of this printer, material and infill."""
        return SliceProfile.for_job(self.printer, self.material, self.settings, self.infill_pct)

    def job_id(self) -> UUID:
        """The job that slices (or sliced) exactly this."""
        return slice_job_id(self.model_sha256, self.profile().fingerprint())


class SlicingApp(FabApplication):
    """Slice jobs, one stream each, on their own log (the worker follows it)."""

    name = "slicing"

    def request(self, request: SliceRequest, *, actor: str) -> SliceJob:
        """The job for this request, queued now unless it exists (then as it stands)."""
        profile = request.profile()
        job_id = slice_job_id(request.model_sha256, profile.fingerprint())
        existing = self.find(job_id, SliceJob)
        if existing is not None:
            return existing
        job = SliceJob(
            model_sha256=request.model_sha256,
            model_filename=request.filename,
            profile=profile.to_dict(),
            profile_fingerprint=profile.fingerprint(),
            printer=request.printer.name,
            material=request.material.code,
            geometry=asdict(request.geometry),
            actor=actor,
        )
        try:
            self.save_new(job)
        except Conflict:  # requested at the same moment by another caller: the same job
            return self.job(job_id)
        return job

    def job(self, job_id: UUID) -> SliceJob:
        """The job with this id; NotFound if none."""
        job = self.find(job_id, SliceJob)
        if job is None:
            raise NotFound("slice job not found")
        return job

    def claim(self, job_id: UUID, *, worker: str, lease_seconds: int) -> SliceJob | None:
        """Take the job for one attempt; None when it is not there to take (done, or taken)."""
        now = datetime.now(UTC)
        job = self.find(job_id, SliceJob)
        if job is None or not job.claimable(now):
            return None
        job.claim(worker=worker, now=now, lease_seconds=lease_seconds)
        try:
            self.save_new(job)
        except Conflict:  # another worker claimed it first
            return None
        return job if job.status == SLICING else None  # an abandoned last try failed it

    def work_on(self, job_id: UUID, slicer: Slicer, *, lease_seconds: int) -> SliceJob | None:
        """Claim the job, slice it, record what came of it; the job as left, or None."""
        job = self.claim(job_id, worker=worker_name(), lease_seconds=lease_seconds)
        if job is None:
            return None
        profile = SliceProfile.from_dict(job.profile)
        try:
            result = slicer.slice_model(job.model_sha256, job.model_filename, profile)
        except SlicingFailed as failed:
            job.record_failure(failed.reason, failed.message)
        else:
            job.record_result(result)
        try:
            self.save_new(job)
        except Conflict:  # our lease ran out and another worker took over: its answer stands
            return self.find(job_id, SliceJob)
        return job


def worker_name() -> str:
    """This process, as a claim names it."""
    return f"{socket.gethostname()}:{os.getpid()}"


class JobsView(Protocol):
    """Slice jobs as the view has folded them (state and figures by job id)."""

    def jobs(self, job_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The jobs the view knows of these, by id."""
        ...


class OrderSlicing:
    """The slice each order needs: for the printer it was priced on, then the one staff
    assign it to (the G-code staff download is that printer's). An order's job is found
    by computing its name from the order (no per-order event), so requesting is
    idempotent and a follower may repeat a step."""

    def __init__(
        self,
        slicing: SlicingApp,
        ordering: OrderingApp,
        catalog: CatalogApp,
        fleet: FleetApp,
        view: JobsView,
    ) -> None:
        self.slicing = slicing
        self.ordering = ordering
        self.catalog = catalog
        self.fleet = fleet
        self.view = view

    def order_changed(self, order_id: UUID) -> SliceJob | None:
        """Request the job the order now needs (it exists already for a known model and
        profile); None if the order cannot have one (cancelled, no model file)."""
        order = self.ordering.find(order_id, Order)
        if order is None or order.status == CANCELLED:
            return None
        request = self.request_for(order)
        return None if request is None else self.slicing.request(request, actor=SLICER_ACTOR)

    def of_orders(self, order_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The job (as the view has it) each order needs, for orders that have one."""
        wanted: dict[str, str] = {}
        for order_id in order_ids:
            order = self.ordering.find(UUID(order_id), Order)
            request = self.request_for(order) if order is not None else None
            if request is not None:
                wanted[order_id] = str(request.job_id())
        jobs = self.view.jobs(sorted(set(wanted.values())))
        return {order: jobs[job] for order, job in wanted.items() if job in jobs}

    def request_for(self, order: Order) -> SliceRequest | None:
        """What the order is to be sliced with (its assigned printer, else its priced one)."""
        model = order.model
        sha, filename = model.get("sha256"), model.get("filename")
        if not sha or not filename:
            return None
        settings, default_printer = self.catalog.pricing()
        printer = self._printer(order, default_printer)
        spec = order.price.get("material_spec")
        material = Material.from_dict(spec) if spec else self.catalog.material(order.material)
        geometry = PartGeometry(
            dim_x_mm=float(model["dim_x_mm"]),
            dim_y_mm=float(model["dim_y_mm"]),
            dim_z_mm=float(model["dim_z_mm"]),
            volume_cm3=float(model["volume_cm3"]),
            surface_area_cm2=model.get("surface_area_cm2"),
        )
        return SliceRequest(
            model_sha256=sha,
            filename=filename,
            geometry=geometry,
            printer=printer,
            material=material,
            settings=settings,
            infill_pct=float(order.infill_pct),
        )

    def _printer(self, order: Order, default: PrinterProfile) -> PrinterProfile:
        assigned = getattr(order, "printer_id", None)
        if assigned:
            try:
                return self.fleet.get_printer(UUID(assigned)).current.profile()
            except NotFound:
                pass  # deleted since: the priced printer's figures still slice the part
        priced = order.price.get("printer")
        return PrinterProfile.from_dict(priced) if priced else default


class OpenJobs(Protocol):
    """The slice jobs a worker may claim now (a read model)."""

    def claimable(self, now: float, limit: int) -> list[UUID]:
        """Queued jobs and lapsed claims, oldest request first."""
        ...


class SliceQueue:
    """A worker's loop body: claim the oldest open jobs one by one and slice them."""

    def __init__(
        self, app: SlicingApp, jobs: OpenJobs, slicer: Slicer, *, lease_seconds: int
    ) -> None:
        self.app = app
        self.jobs = jobs
        self.slicer = slicer
        self.lease_seconds = lease_seconds

    def work_some(self, stopping: Callable[[], bool] = lambda: False, limit: int = 4) -> int:
        """Slice up to `limit` open jobs (fewer if asked to stop); how many were worked on."""
        done = 0
        for job_id in self.jobs.claimable(time.time(), limit):
            if stopping():
                break
            if self.app.work_on(job_id, self.slicer, lease_seconds=self.lease_seconds):
                done += 1
        return done
