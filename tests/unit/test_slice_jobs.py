"""SliceJob: named by its inputs, claimed per attempt, never retried forever."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.errors import Conflict
from domain.slice_jobs import (
    FAILED,
    MAX_ATTEMPTS,
    QUEUED,
    SLICED,
    SLICING,
    SliceJob,
    slice_job_id,
)
from domain.slicing import SliceFailure, SliceResult

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SHA = "ab" * 32


def _job() -> SliceJob:
    return SliceJob(
        model_sha256=SHA,
        model_filename="part.stl",
        profile={"fill_density_pct": "20"},
        profile_fingerprint="f00d",
        printer="Standard FDM 250",
        material="PLA",
        geometry={"dim_x_mm": 20.0, "dim_y_mm": 20.0, "dim_z_mm": 20.0, "volume_cm3": 8.0},
        actor="customer:u1",
    )


def _result(fingerprint: str = "f00d") -> SliceResult:
    return SliceResult(
        filament_g=Decimal("4.84"),
        filament_mm=Decimal("1623.1"),
        filament_cm3=Decimal("3.90"),
        print_seconds=1337,
        layers=100,
        slicer_version="PrusaSlicer-2.5.0",
        profile_fingerprint=fingerprint,
        gcode_sha256="cd" * 32,
        gcode_bytes=123_456,
    )


def test_the_same_model_and_profile_are_the_same_job() -> None:
    assert _job().id == slice_job_id(SHA, "f00d")
    assert slice_job_id(SHA, "f00d") != slice_job_id(SHA, "beef")
    assert slice_job_id(SHA, "f00d") != slice_job_id("cd" * 32, "f00d")


def test_a_claimed_job_records_its_figures_once() -> None:
    job = _job()
    assert job.status == QUEUED and job.claimable(NOW)
    job.claim(worker="w1", now=NOW, lease_seconds=60)
    assert (job.status, job.attempts) == (SLICING, 1)
    assert not job.claimable(NOW + timedelta(seconds=59))
    with pytest.raises(Conflict):
        job.claim(worker="w2", now=NOW, lease_seconds=60)
    with pytest.raises(Conflict, match="another profile"):
        job.record_result(_result("beef"))
    job.record_result(_result())
    assert job.status == SLICED and job.result == _result().to_dict()
    with pytest.raises(Conflict):
        job.record_result(_result())
    assert not job.claimable(NOW + timedelta(days=1))


def test_a_transient_failure_is_retried_once_then_final() -> None:
    job = _job()
    job.claim(worker="w1", now=NOW, lease_seconds=60)
    job.record_failure(SliceFailure.TIMEOUT, "too slow")
    assert job.status == QUEUED and job.failure == {"reason": "timeout", "message": "too slow"}
    job.claim(worker="w1", now=NOW, lease_seconds=60)
    job.record_failure(SliceFailure.TIMEOUT, "too slow again")
    assert (job.status, job.attempts) == (FAILED, MAX_ATTEMPTS)
    assert not job.claimable(NOW + timedelta(days=1))


def test_a_model_the_slicer_cannot_print_fails_at_once() -> None:
    job = _job()
    job.claim(worker="w1", now=NOW, lease_seconds=60)
    job.record_failure(SliceFailure.UNPRINTABLE, "nothing to print")
    assert (job.status, job.attempts) == (FAILED, 1)


def test_a_vanished_workers_claim_is_retaken_after_its_lease_and_then_given_up() -> None:
    job = _job()
    job.claim(worker="w1", now=NOW, lease_seconds=60)
    later = NOW + timedelta(seconds=61)
    assert job.claimable(later)
    job.claim(worker="w2", now=later, lease_seconds=60)
    assert (job.status, job.attempts) == (SLICING, 2)
    last = later + timedelta(seconds=61)
    job.claim(worker="w3", now=last, lease_seconds=60)  # the last attempt vanished too
    assert job.status == FAILED and job.failure is not None
    assert job.failure["reason"] == "crashed" and "2 tries" in job.failure["message"]
