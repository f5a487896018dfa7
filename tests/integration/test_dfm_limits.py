"""The sandbox: slow or greedy analyses are cut off with a 422, and the next call still works."""

from __future__ import annotations

import io
import multiprocessing
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import trimesh

from domain.catalog import DEFAULT_PRINTER
from domain.errors import FileTooLarge, InvalidModelFile
from infra.dfm import DfmParams, TrimeshDfmAnalyzer

MB = 1024 * 1024
PRINTERS = [DEFAULT_PRINTER]


def stl(mesh: trimesh.Trimesh) -> bytes:
    """Binary STL bytes of a mesh built in memory."""
    exported = mesh.export(file_type="stl")
    assert isinstance(exported, bytes)
    return exported


@pytest.fixture(scope="module")
def cube() -> bytes:
    """A 20 mm cube: analysed in milliseconds."""
    return stl(trimesh.creation.box(extents=(20, 20, 20)))


@pytest.fixture(scope="module")
def big_sphere() -> bytes:
    """327,680 faces (16 MB of STL): about a second of analysis and ~250 MB of arrays."""
    return stl(trimesh.creation.icosphere(subdivisions=7, radius=50))


def test_an_analysis_past_the_deadline_is_refused_and_the_pool_replaced(
    cube: bytes, big_sphere: bytes
) -> None:
    before = set(multiprocessing.active_children())
    with TrimeshDfmAnalyzer(max_bytes=50 * MB, timeout_seconds=0.05, workers=1) as analyzer:
        assert analyzer.analyze(cube, "cube.stl", PRINTERS)["score"] == 100
        (worker,) = set(multiprocessing.active_children()) - before
        started = time.perf_counter()
        with pytest.raises(InvalidModelFile, match=r"exceeded the time limit of 0\.05 s"):
            analyzer.analyze(big_sphere, "sphere.stl", PRINTERS)
        # Refused at the deadline, not when the worker would have finished...
        assert time.perf_counter() - started < 0.5
        # ...and the worker was killed, not left to burn a core on the rest of the job.
        worker.join(timeout=0.2)
        assert not worker.is_alive()

        # The killed worker's pool was replaced: the next model is analysed as usual.
        assert analyzer.analyze(cube, "cube.stl", PRINTERS)["score"] == 100


def test_a_call_waiting_for_a_busy_worker_is_not_charged_for_the_wait(
    cube: bytes, big_sphere: bytes
) -> None:
    with TrimeshDfmAnalyzer(max_bytes=50 * MB, timeout_seconds=0.5, workers=1) as analyzer:
        analyzer.analyze(cube, "cube.stl", PRINTERS)  # the pool is up before the clock runs
        with ThreadPoolExecutor(max_workers=2) as callers:
            slow = callers.submit(analyzer.analyze, big_sphere, "sphere.stl", PRINTERS)
            time.sleep(0.1)  # the sphere holds the only worker
            queued = callers.submit(analyzer.analyze, cube, "cube.stl", PRINTERS)
            with pytest.raises(InvalidModelFile, match="time limit"):
                slow.result()
            # It waited ~0.4 s for the worker, then got its own 0.5 s on a fresh pool.
            assert queued.result()["score"] == 100


def test_an_analysis_over_the_memory_cap_is_refused(cube: bytes, big_sphere: bytes) -> None:
    params = DfmParams(ray_engine="numpy")
    with TrimeshDfmAnalyzer(max_bytes=50 * MB, memory_mb=60, workers=1, params=params) as capped:
        # The cap is what one analysis may add to a warm worker: a cube needs far less.
        assert capped.analyze(cube, "cube.stl", PRINTERS)["score"] == 100
        with pytest.raises(InvalidModelFile, match="exceeded the memory limit"):
            capped.analyze(big_sphere, "sphere.stl", PRINTERS)
        assert capped.analyze(cube, "cube.stl", PRINTERS)["score"] == 100

    # The same sphere within the default cap: the refusal above was the cap's doing.
    with TrimeshDfmAnalyzer(max_bytes=50 * MB, workers=1, params=params) as roomy:
        assert roomy.analyze(big_sphere, "sphere.stl", PRINTERS)["bodies"]["count"] == 1


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


HOSTILE = {
    "png.stl": b"\x89PNG\r\n\x1a\n" + bytes(200),
    "empty.obj": b"",
    "truncated.stl": bytes(80) + (1000).to_bytes(4, "little") + bytes(50 * 3),
    "nan.stl": b"solid x\nfacet normal 0 0 0\nouter loop\n"
    + b"vertex nan 0 0\nvertex 1 0 0\nvertex 0 1 0\nendloop\nendfacet\nendsolid x\n",
    "flat.stl": stl(trimesh.Trimesh(vertices=[(0, 0, 0), (1, 0, 0), (0, 1, 0)], faces=[[0, 1, 2]])),
    "include.obj": b"mtllib /etc/passwd\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n",
    "bomb.3mf": _zip({"3D/3dmodel.model": b" " * (30 * MB)}),
    "notes.txt": b"solid but not a model",
}


@pytest.fixture(scope="module")
def analyzer() -> Iterator[TrimeshDfmAnalyzer]:
    """A default analyzer for the refusal stories."""
    with TrimeshDfmAnalyzer(max_bytes=4 * MB, workers=1) as running:
        yield running


@pytest.mark.parametrize("filename", sorted(HOSTILE))
def test_hostile_files_are_refused_as_invalid_models(
    analyzer: TrimeshDfmAnalyzer, filename: str
) -> None:
    data = HOSTILE[filename]
    with pytest.raises(InvalidModelFile):
        analyzer.quick_info(data, filename)
    with pytest.raises(InvalidModelFile):
        analyzer.analyze(data, filename, PRINTERS)


def test_a_file_over_the_size_cap_is_too_large(
    analyzer: TrimeshDfmAnalyzer, big_sphere: bytes
) -> None:
    with pytest.raises(FileTooLarge):
        analyzer.quick_info(big_sphere, "ball.stl")
    with pytest.raises(FileTooLarge):
        analyzer.analyze(big_sphere, "ball.stl", PRINTERS)


def test_concurrent_analyses_share_the_pool(analyzer: TrimeshDfmAnalyzer, cube: bytes) -> None:
    shapes = [stl(trimesh.creation.box(extents=(10 + k, 10, 10))) for k in range(6)]
    with ThreadPoolExecutor(max_workers=6) as callers:
        reports = list(callers.map(lambda d: analyzer.analyze(d, "box.stl", PRINTERS), shapes))
    widths = [r["model"]["dimensions_mm"]["x"] for r in reports]
    assert widths == pytest.approx(np.arange(10, 16))


def test_close_stops_the_workers(cube: bytes) -> None:
    before = set(multiprocessing.active_children())
    analyzer = TrimeshDfmAnalyzer(max_bytes=4 * MB, workers=2)
    analyzer.analyze(cube, "cube.stl", PRINTERS)
    workers = set(multiprocessing.active_children()) - before
    assert len(workers) == 2

    analyzer.close()
    assert not any(worker.is_alive() for worker in workers)
    with pytest.raises(RuntimeError, match="closed"):
        analyzer.analyze(cube, "cube.stl", PRINTERS)
