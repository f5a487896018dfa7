"""The real PrusaSlicer behind infra.slicer: figures, limits, refusals and stored G-code."""

from __future__ import annotations

import math
import os
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from domain.catalog import DEFAULT_COST_SETTINGS, DEFAULT_MATERIALS, DEFAULT_PRINTER, Material
from domain.errors import NotFound
from domain.slicing import SliceFailure, SliceProfile, SliceResult, SlicingFailed
from infra.gcode_store import GcodeStore
from infra.slicer import PrusaSlicer, SlicerUnavailable, plain_stl
from tests.conftest import missing_component
from tests.support import parts

PLA = DEFAULT_MATERIALS[0]
MOON_3MF = Path(__file__).parent.parent / "data" / "meshes" / "numpy-stl" / "3mf" / "Moon.3mf"
GB = 1024**3


@pytest.fixture(scope="module")
def slicer() -> PrusaSlicer:
    found = PrusaSlicer()
    if not found.available():
        missing_component("prusa-slicer not found (apt-get install prusa-slicer)")
    return found


def profile(infill: float, material: Material = PLA) -> SliceProfile:
    return SliceProfile.for_job(DEFAULT_PRINTER, material, DEFAULT_COST_SETTINGS, infill)


def model(tmp_path: Path, data: bytes, name: str = "part.stl") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def slice_part(
    slicer: PrusaSlicer,
    tmp_path: Path,
    data: bytes,
    infill: float = 20,
    timeout_s: float = 60,
    memory_bytes: int = 2 * GB,
) -> SliceResult:
    stl = model(tmp_path, data)
    return slicer.slice(stl, profile(infill), tmp_path / "job", timeout_s, memory_bytes)


def test_the_slicer_names_its_version(slicer: PrusaSlicer) -> None:
    assert slicer.version().startswith("PrusaSlicer-2.")
    assert slicer.version() is slicer.version()  # asked once


def test_a_solid_cube_weighs_its_volume_times_the_density(
    slicer: PrusaSlicer, tmp_path: Path
) -> None:
    result = slice_part(slicer, tmp_path, parts.cube(20).stl(), infill=100)
    # 8 cm3 of solid PLA; PrusaSlicer's lines overlap a little, so within a few percent.
    assert result.filament_cm3 == pytest.approx(Decimal(8), rel=Decimal("0.03"))
    assert result.filament_g == pytest.approx(
        result.filament_cm3 * Decimal("1.24"), abs=Decimal("0.02")
    )
    # The filament is a 1.75 mm cylinder: its length is the volume over its section.
    section_mm2 = math.pi * 1.75**2 / 4
    assert float(result.filament_mm) == pytest.approx(8000 / section_mm2, rel=0.03)
    assert result.layers == 100  # 20 mm of 0.2 mm layers
    assert 10 * 60 < result.print_seconds < 3 * 3600
    assert result.profile_fingerprint == profile(100).fingerprint()
    assert result.slicer_version == slicer.version()


def test_more_infill_takes_more_filament_and_more_time(slicer: PrusaSlicer, tmp_path: Path) -> None:
    sparse = slice_part(slicer, tmp_path, parts.cube(20).stl(), infill=20)
    dense = slice_part(slicer, tmp_path, parts.cube(20).stl(), infill=50)
    assert sparse.filament_g < dense.filament_g < Decimal("10")
    assert sparse.print_seconds < dense.print_seconds
    # Walls and skins are solid whatever the infill: 20 % weighs far more than 20 % of solid.
    assert sparse.filament_cm3 > Decimal("0.2") * 8


def test_a_slice_that_runs_past_its_deadline_is_killed_as_a_timeout(
    slicer: PrusaSlicer, tmp_path: Path
) -> None:
    started = time.monotonic()
    with pytest.raises(SlicingFailed) as failed:
        slice_part(slicer, tmp_path, parts.sphere(60, subdivisions=5).stl(), timeout_s=0.2)
    assert failed.value.reason is SliceFailure.TIMEOUT
    assert "0.2 s" in failed.value.message
    assert time.monotonic() - started < 10
    assert not (tmp_path / "job" / "out.gcode").exists()


def test_a_memory_limit_too_low_fails_with_its_reason_instead_of_hanging(
    slicer: PrusaSlicer, tmp_path: Path
) -> None:
    with pytest.raises(SlicingFailed) as failed:
        slice_part(slicer, tmp_path, parts.cube(20).stl(), memory_bytes=64 * 1024**2)
    assert failed.value.reason is SliceFailure.OUT_OF_MEMORY


@pytest.mark.parametrize(
    "data", [parts.flat_sheet(), parts.garbage_stl()], ids=["flat sheet", "garbage"]
)
def test_a_model_that_cannot_be_sliced_is_unprintable_with_the_slicers_words(
    slicer: PrusaSlicer, tmp_path: Path, data: bytes
) -> None:
    with pytest.raises(SlicingFailed) as failed:
        slice_part(slicer, tmp_path, data)
    assert failed.value.reason is SliceFailure.UNPRINTABLE
    assert "failed" in failed.value.detail.lower()
    assert str(tmp_path) not in failed.value.message  # our directories stay ours


def test_a_stale_gcode_from_an_earlier_job_never_passes_for_this_one(
    slicer: PrusaSlicer, tmp_path: Path
) -> None:
    good = slice_part(slicer, tmp_path, parts.cube(10).stl())
    assert (tmp_path / "job" / "out.gcode").stat().st_size == good.gcode_bytes
    with pytest.raises(SlicingFailed):
        slice_part(slicer, tmp_path, parts.garbage_stl())
    assert not (tmp_path / "job" / "out.gcode").exists()


def test_the_profile_file_holds_our_numbers_and_no_text_anyone_typed(
    slicer: PrusaSlicer, tmp_path: Path
) -> None:
    hostile = "PLA\npost_process = touch /tmp/pwned-by-fabledger-test"
    material = Material(hostile, hostile, 1.24, Decimal(1200), ("Black",), notes=hostile)
    stl = model(tmp_path, parts.cube(10).stl(), "-rf.stl")  # a name that looks like a flag
    result = slicer.slice(stl, profile(20, material), tmp_path / "job", 60, 2 * GB)
    written = (tmp_path / "job" / "profile.ini").read_text()
    assert "pwned" not in written and "post_process = \n" in written
    assert not Path("/tmp/pwned-by-fabledger-test").exists()
    assert result.filament_g > 0


def test_a_3mf_is_sliced_only_as_plain_triangles(slicer: PrusaSlicer, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="plain_stl"):
        slicer.slice(MOON_3MF, profile(20), tmp_path / "job", 60, 2 * GB)
    stl = plain_stl(MOON_3MF.read_bytes(), "Moon.3mf", tmp_path / "moon.stl")
    result = slicer.slice(stl, profile(20), tmp_path / "job", 60, 2 * GB)
    assert Decimal(10) < result.filament_g < Decimal(40)  # 37.8 cm3 of two bodies, 20 %


def test_gcode_is_stored_by_its_content(slicer: PrusaSlicer, tmp_path: Path) -> None:
    result = slice_part(slicer, tmp_path, parts.cube(10).stl())
    store = GcodeStore(tmp_path / "data")
    produced = slicer.gcode_path(tmp_path / "job")
    content = produced.read_bytes()
    digest = store.put(produced)
    assert digest == result.gcode_sha256
    assert not produced.exists()  # moved, not copied
    assert store.path_of(digest).read_bytes() == content
    with store.open(digest) as download:
        assert download.read() == content
    copy = tmp_path / "again.gcode"
    copy.write_bytes(content)
    assert store.put(copy) == digest and not copy.exists()  # kept once
    assert len(list((tmp_path / "data" / "gcode").rglob("*"))) == 2  # one folder, one file
    for bad in ("../../etc/passwd", "0" * 64, digest.upper()):
        with pytest.raises(NotFound):
            store.path_of(bad)


def test_a_missing_executable_is_not_the_models_fault(tmp_path: Path) -> None:
    absent = PrusaSlicer(str(tmp_path / "no-such-slicer"))
    assert not absent.available()
    with pytest.raises(SlicerUnavailable):
        absent.slice(model(tmp_path, parts.cube(10).stl()), profile(20), tmp_path / "j", 5, GB)


def test_limits_must_be_positive(slicer: PrusaSlicer, tmp_path: Path) -> None:
    stl = model(tmp_path, parts.cube(10).stl())
    with pytest.raises(ValueError, match="limits"):
        slicer.slice(stl, profile(20), tmp_path / "job", 0, GB)
    with pytest.raises(FileNotFoundError):
        slicer.slice(tmp_path / "gone.stl", profile(20), tmp_path / "job", 5, GB)


def test_the_slicer_leaves_nothing_running_after_a_timeout(
    slicer: PrusaSlicer, tmp_path: Path
) -> None:
    before = _slicer_processes()
    with pytest.raises(SlicingFailed):
        slice_part(slicer, tmp_path, parts.sphere(60, subdivisions=5).stl(), timeout_s=0.3)
    assert _slicer_processes() <= before


def _slicer_processes() -> set[int]:
    """Our own children that are prusa-slicer processes (by their parent, not by name)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and "prusa" in stat:
            found.add(int(entry.name))
    return found


def test_replacing_the_density_changes_the_grams_not_the_volume(
    slicer: PrusaSlicer, tmp_path: Path
) -> None:
    heavy = replace(PLA, code="HEAVY", density_g_cm3=2.48)
    stl = model(tmp_path, parts.cube(10).stl())
    light = slicer.slice(stl, profile(20), tmp_path / "a", 60, 2 * GB)
    dense = slicer.slice(stl, profile(20, heavy), tmp_path / "b", 60, 2 * GB)
    assert dense.filament_cm3 == light.filament_cm3
    assert dense.filament_g == pytest.approx(2 * light.filament_g, abs=Decimal("0.02"))
