"""The SliceJob aggregate: one stream per model file and slice profile, and what came of it.

A job is named by what decides its result: the model's SHA-256 and the profile's
fingerprint (domain.slicing), so a quote and the order placed from it, or two customers
uploading the same file, share one slice; an order finds its job by computing that name
(no per-order event: a popular model would otherwise grow one stream without bound).
A job is queued when requested, claimed by one worker per attempt (optimistic concurrency
on the stream decides between two workers), and ends sliced (the firm figures) or failed
(the reason). A claim whose worker vanished may be
taken over after its lease; a failure is final when retrying cannot help (the model cannot
be sliced) and after MAX_ATTEMPTS in any case: a job is never retried forever.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict
from domain.slicing import SliceFailure, SliceResult

QUEUED = "queued"
SLICING = "slicing"
SLICED = "sliced"
FAILED = "failed"
STATUSES = (QUEUED, SLICING, SLICED, FAILED)

MAX_ATTEMPTS = 2
# Failures that another attempt could cure (a busy machine, a crash); the others are final.
TRANSIENT = frozenset({SliceFailure.TIMEOUT, SliceFailure.CRASHED})
SLICER_ACTOR = "system:slicer"
_NAMESPACE = uuid5(NAMESPACE_URL, "https://fabledger.example/slice-jobs")


def slice_job_id(model_sha256: str, profile_fingerprint: str) -> UUID:
    """The job of one model file and one slice profile (the same inputs, the same job)."""
    return uuid5(_NAMESPACE, f"{model_sha256}/{profile_fingerprint}")


class SliceJob(Aggregate):
    """A model file sliced with one profile: queued, slicing, then sliced or failed."""

    @event("Requested")
    def __init__(
        self,
        *,
        model_sha256: str,
        model_filename: str,
        profile: dict[str, Any],
        profile_fingerprint: str,
        printer: str,
        material: str,
        geometry: dict[str, Any],
        actor: str,
    ) -> None:
        self.model_sha256 = model_sha256
        self.model_filename = model_filename
        self.profile = profile
        self.profile_fingerprint = profile_fingerprint
        self.printer = printer
        self.material = material
        self.geometry = geometry  # PartGeometry as stored: what the estimate was given
        self.requested_by = actor
        self.status = QUEUED
        self.attempts = 0
        self.claimed_at: datetime | None = None
        self.lease_seconds = 0
        self.result: dict[str, Any] | None = None
        self.failure: dict[str, str] | None = None

    @classmethod
    def create_id(cls, model_sha256: str, profile_fingerprint: str, **_: Any) -> UUID:
        """Derived from what decides the result (slice_job_id)."""
        return slice_job_id(model_sha256, profile_fingerprint)

    def claimable(self, now: datetime) -> bool:
        """Queued, or claimed by a worker whose lease ran out before it answered."""
        if self.status == QUEUED:
            return True
        if self.status != SLICING or self.claimed_at is None:
            return False
        return now >= self.claimed_at + timedelta(seconds=self.lease_seconds)

    def claim(self, *, worker: str, now: datetime, lease_seconds: int) -> None:
        """Take the job for one attempt; an abandoned last attempt fails it instead."""
        if not self.claimable(now):
            raise Conflict(f"slice job is {self.status}")
        if self.attempts >= MAX_ATTEMPTS:
            self._failed(
                reason=SliceFailure.CRASHED.value,
                message=f"{SliceFailure.CRASHED.message}: no answer after {self.attempts} tries",
                final=True,
                actor=SLICER_ACTOR,
            )
            return
        self._claimed(worker=worker, at=now, lease_seconds=lease_seconds, actor=SLICER_ACTOR)

    def record_result(self, result: SliceResult) -> None:
        """The slicer's figures for the attempt in progress."""
        self._require_slicing()
        if result.profile_fingerprint != self.profile_fingerprint:
            raise Conflict("the result was sliced with another profile")
        self._sliced(result=result.to_dict(), actor=SLICER_ACTOR)

    def record_failure(self, reason: SliceFailure, message: str) -> None:
        """Why the attempt in progress gave no figures; final unless another try may help."""
        self._require_slicing()
        final = reason not in TRANSIENT or self.attempts >= MAX_ATTEMPTS
        self._failed(reason=reason.value, message=message, final=final, actor=SLICER_ACTOR)

    def _require_slicing(self) -> None:
        if self.status != SLICING:
            raise Conflict(f"slice job is {self.status}, not slicing")

    @event("Claimed")
    def _claimed(self, worker: str, at: datetime, lease_seconds: int, actor: str) -> None:
        self.status = SLICING
        self.attempts += 1
        self.claimed_at = at
        self.lease_seconds = lease_seconds

    @event("Sliced")
    def _sliced(self, result: dict[str, Any], actor: str) -> None:
        self.status = SLICED
        self.result = result

    @event("Failed")
    def _failed(self, reason: str, message: str, final: bool, actor: str) -> None:
        self.status = FAILED if final else QUEUED
        self.failure = {"reason": reason, "message": message}
