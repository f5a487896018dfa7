"""Story: two `fabledger worker slicer` processes share the queue on PostgreSQL; every job is
sliced once, by one of them, and both stop cleanly on SIGTERM."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from application.slicing import SliceRequest
from domain.slice_jobs import SLICED
from infra.slicer import PrusaSlicer
from tests.conftest import missing_component
from tests.support import parts
from tests.support.factories import container_for
from tests.support.postgres import PostgresDatabase
from tests.support.worker_process import worker

FABLEDGER = [str(Path(sys.executable).with_name("fabledger"))]
SIZES = (10.0, 12.0, 14.0, 16.0)


def test_two_workers_slice_every_job_once_and_stop_on_sigterm(
    postgres_db: PostgresDatabase, tmp_path: Path
) -> None:
    if not PrusaSlicer().available():
        missing_component("prusa-slicer not found (apt-get install prusa-slicer)")
    data = tmp_path / "data"  # model files and G-code: shared, as a volume is in production
    container = container_for(data, postgres_db.dsn)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "FABLEDGER_DATA_DIR": str(data),
        "FABLEDGER_DATABASE_URL": postgres_db.dsn,
        "FABLEDGER_JWT_SECRET": "x" * 40,
        "PYTHONUNBUFFERED": "1",
    }
    try:
        settings, printer = container.catalog.pricing()
        material = container.catalog.material("PLA")
        jobs = []
        for size in SIZES:
            mesh = parts.cube(size).mesh
            stored = container.checkout.models.put_model(parts.stl_bytes(mesh), "c.stl")
            request = SliceRequest(
                stored.sha256, "c.stl", parts.geometry_of(mesh), printer, material, settings, 20
            )
            jobs.append(container.slicing.app.request(request, actor="test").id)
        container.projections["slice_jobs"].catch_up()  # what the workers list from

        with (
            worker(FABLEDGER, env, tmp_path / "one.log", "slicer", "--interval", "0.2") as one,
            worker(FABLEDGER, env, tmp_path / "two.log", "slicer", "--interval", "0.2") as two,
        ):
            deadline = time.monotonic() + 120
            while any(container.slicing.app.job(j).status != SLICED for j in jobs):
                assert time.monotonic() < deadline, one.tail() + two.tail()
                container.projections["slice_jobs"].catch_up()
                time.sleep(0.3)
            for process in (one, two):
                code, seconds = process.terminate()
                assert code == 0 and seconds < 10, process.tail()

        for job_id in jobs:
            kinds = [
                n.topic.rsplit(".", 1)[-1]
                for n in container.slicing.app.recorder.select_events(job_id)
            ]
            assert kinds == ["Requested", "Claimed", "Sliced"], kinds  # once, by one worker
            job = container.slicing.app.job(job_id)
            assert job.result is not None
            assert container.slicing.gcodes.path_of(job.result["gcode_sha256"]).is_file()
    finally:
        container.close()
