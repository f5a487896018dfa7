"""Printability reports a person can act on: walls, overhangs, fit, holes, bodies, score."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest
import trimesh

from domain.catalog import DEFAULT_PRINTER, PrinterProfile
from infra.dfm import DfmParams, TrimeshDfmAnalyzer
from infra.dfm.raycast import embree_available
from tests.support.factories import CORPUS

MB = 1024 * 1024
PRINTERS = [DEFAULT_PRINTER]  # 250 x 210 x 220 mm, 0.4 mm nozzle, 0.2 mm layers
ENGINES = [
    "numpy",
    pytest.param(
        "embree",
        marks=pytest.mark.skipif(not embree_available(), reason="embreex is not installed"),
    ),
]


def stl(mesh: trimesh.Trimesh) -> bytes:
    """Binary STL bytes of a mesh built in memory."""
    exported = mesh.export(file_type="stl")
    assert isinstance(exported, bytes)
    return exported


def box(x: float, y: float, z: float, at: tuple[float, float, float] = (0, 0, 0)) -> bytes:
    """An axis-aligned box of this size, its lowest corner at `at`."""
    mesh = trimesh.creation.box(extents=(x, y, z))
    return stl(mesh.apply_translation(np.add(at, (x / 2, y / 2, z / 2))))


def standing_profile(outline: Sequence[tuple[float, float]], triangles: list[list[int]]) -> bytes:
    """A 10 mm deep prism of a profile drawn in XY, stood up so the profile's Y is Z."""
    mesh = trimesh.creation.extrude_triangulation(np.array(outline, float), triangles, 10.0)
    return stl(mesh.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, [1, 0, 0])))


def t_shape() -> bytes:
    """A T on its stem: 10 mm stem, 40 x 10 mm bar at z 20-30; arms' undersides 3 cm2."""
    outline = [(-5, 0), (5, 0), (5, 20), (-5, 20), (-20, 20), (20, 20), (20, 30), (-20, 30)]
    return standing_profile(
        outline, [[0, 1, 2], [0, 2, 3], [4, 3, 7], [3, 6, 7], [3, 2, 6], [2, 5, 6]]
    )


def leaning_block() -> bytes:
    """A block whose right side leans out 60 degrees from vertical: a 20 x 10 mm underside."""
    run = 10 * np.sqrt(3)  # 10 mm of rise over this run is 30 degrees from horizontal
    outline = [(0, 0), (10, 0), (10 + run, 10), (10 + run, 20), (0, 20)]
    return standing_profile(outline, [[0, 1, 2], [0, 2, 3], [0, 3, 4]])


def issue(report: dict[str, Any], kind: str) -> dict[str, Any]:
    """The one issue of this kind in a report."""
    found = [i for i in report["issues"] if i["kind"] == kind]
    assert len(found) == 1, report["issues"]
    return found[0]


def assert_plain_json(value: Any) -> None:
    """Only the built-in JSON types, all the way down (no numpy scalars, NaN or infinity)."""
    if isinstance(value, dict):
        assert all(isinstance(key, str) for key in value)
        for item in value.values():
            assert_plain_json(item)
    elif isinstance(value, list):
        for item in value:
            assert_plain_json(item)
    else:
        assert type(value) in (str, int, float, bool, type(None)), (value, type(value))
        assert not isinstance(value, float) or np.isfinite(value)


@pytest.fixture(scope="module", params=ENGINES)
def analyzer(request: pytest.FixtureRequest) -> Iterator[TrimeshDfmAnalyzer]:
    """One sandboxed analyzer per ray engine, shared by the module."""
    params = DfmParams(ray_engine=request.param)
    with TrimeshDfmAnalyzer(max_bytes=50 * MB, params=params) as running:
        yield running


def test_a_solid_cube_is_printable_as_is(analyzer: TrimeshDfmAnalyzer) -> None:
    report = analyzer.analyze(box(20, 20, 20), "cube.stl", PRINTERS)

    walls = report["thin_walls"]
    assert walls["measured"] == walls["samples"] == 2000
    assert walls["min_mm"] == pytest.approx(20.0, abs=0.01)
    assert walls["percentile_mm"] == pytest.approx(20.0, abs=0.01)
    assert walls["thin_count"] == 0
    # The bottom face rests on the plate: nothing hangs in the air.
    assert report["overhangs"]["area_cm2"] == 0.0
    fit = report["fit"][0]
    assert fit["fits"] and not fit["rotated"] and fit["printer"] == DEFAULT_PRINTER.name
    assert fit["min_margin_mm"] == pytest.approx(190.0)
    assert report["open_edges"]["boundary"] == report["open_edges"]["non_manifold"] == 0
    assert report["bodies"] == {"count": 1, "open": 0, "inverted": 0}
    assert report["score"] == 100
    assert report["issues"] == []
    assert report["parameters"]["min_wall_mm"] == pytest.approx(0.8)
    assert report["parameters"]["ray_engine"] == analyzer.params.ray_engine
    assert report["analysis_ms"] > 0
    assert_plain_json(report)


def test_quick_info_summarises_the_cube(analyzer: TrimeshDfmAnalyzer) -> None:
    info = analyzer.quick_info(box(20, 20, 20), "cube.stl")
    assert_plain_json(info)

    assert info["dimensions_mm"] == {"x": 20.0, "y": 20.0, "z": 20.0}
    assert info["volume_cm3"] == pytest.approx(8.0)
    assert info["surface_area_cm2"] == pytest.approx(24.0)
    assert info["triangle_count"] == 12
    assert info["body_count"] == 1
    assert info["is_watertight"] and info["is_manifold"] and info["is_winding_consistent"]


def test_a_plate_thinner_than_two_nozzles_is_flagged_with_locations(
    analyzer: TrimeshDfmAnalyzer,
) -> None:
    report = analyzer.analyze(box(40, 40, 0.4), "plate.stl", PRINTERS)

    walls = report["thin_walls"]
    assert walls["min_mm"] == pytest.approx(0.4, abs=0.005)
    assert walls["percentile_mm"] == pytest.approx(0.4, abs=0.005)
    assert walls["median_mm"] == pytest.approx(0.4, abs=0.005)
    # Only the 0.4 mm rim (2 % of the area) measures across the plate instead.
    assert walls["thin_fraction"] > 0.95
    thin = issue(report, "thin_wall")
    assert thin["severity"] == "error"
    assert "0.40 mm" in thin["message"] and "0.8 mm" in thin["message"]
    assert 0 < len(thin["locations"]) <= 20
    # Thin samples sit on the top or bottom face, inside the plate's outline.
    for x, y, z in thin["locations"]:
        assert 0 <= x <= 40 and 0 <= y <= 40 and min(z, 0.4 - z) == pytest.approx(0.0, abs=1e-6)
    assert report["score"] <= 70


def test_the_arms_of_a_t_overhang_by_their_underside_area(analyzer: TrimeshDfmAnalyzer) -> None:
    report = analyzer.analyze(t_shape(), "tee.stl", PRINTERS)

    overhangs = report["overhangs"]
    assert overhangs["area_cm2"] == pytest.approx(3.0, rel=1e-6)
    assert overhangs["region_count"] == 2
    largest = overhangs["largest_region"]
    assert largest["area_cm2"] == pytest.approx(1.5)
    assert largest["centroid"][2] == pytest.approx(20.0)
    assert abs(largest["centroid"][0]) == pytest.approx(12.5)
    found = issue(report, "overhang")
    assert found["severity"] == "warning"
    assert sorted(x for x, _, _ in found["locations"]) == [-12.5, 12.5]
    assert 0 < 100 - report["score"] <= 20


def test_a_lenient_angle_accepts_a_leaning_side(analyzer: TrimeshDfmAnalyzer) -> None:
    data = leaning_block()
    report = analyzer.analyze(data, "lean.stl", PRINTERS)
    assert report["overhangs"]["area_cm2"] == pytest.approx(2.0, rel=1e-6)

    lenient = DfmParams(overhang_angle_deg=70.0, ray_engine=analyzer.params.ray_engine)
    with TrimeshDfmAnalyzer(max_bytes=50 * MB, workers=1, params=lenient) as other:
        assert other.analyze(data, "lean.stl", PRINTERS)["overhangs"]["area_cm2"] == 0.0


def test_a_part_larger_than_the_build_volume_does_not_fit(analyzer: TrimeshDfmAnalyzer) -> None:
    report = analyzer.analyze(box(300, 230, 230), "huge.stl", PRINTERS)

    fit = report["fit"][0]
    assert not fit["fits"]
    assert fit["min_margin_mm"] < 0
    too_large = issue(report, "too_large")
    assert too_large["severity"] == "error"
    assert "300 x 230 x 230 mm" in too_large["message"]
    assert report["score"] <= 60


def test_a_long_part_fits_when_laid_along_the_bed(analyzer: TrimeshDfmAnalyzer) -> None:
    # 240 mm tall is above the 220 mm of Z, but within the 250 mm of X.
    report = analyzer.analyze(box(20, 20, 240), "rod.stl", PRINTERS)

    fit = report["fit"][0]
    assert fit["fits"] and fit["rotated"]
    assert fit["orientation"][0] == "z"
    assert fit["part_mm"] == [240.0, 20.0, 20.0]
    assert fit["margin_mm"][0] == pytest.approx(10.0)
    assert issue(report, "rotated_fit")["severity"] == "info"
    assert report["score"] == 100


def test_each_printer_is_judged_on_its_own_volume(analyzer: TrimeshDfmAnalyzer) -> None:
    small = PrinterProfile(
        name="Mini 120",
        wattage_w=60,
        print_speed_cm3_hr=8,
        layer_height_mm=0.2,
        nozzle_mm=0.25,
        bed_x_mm=120,
        bed_y_mm=120,
        bed_z_mm=120,
        materials=("PLA",),
    )
    report = analyzer.analyze(box(150, 50, 50), "bar.stl", [DEFAULT_PRINTER, small])

    assert [(f["printer"], f["fits"]) for f in report["fit"]] == [
        (DEFAULT_PRINTER.name, True),
        ("Mini 120", False),
    ]
    assert issue(report, "too_large")["severity"] == "info"
    # The finest nozzle sets the printable wall: 2 x 0.25 mm.
    assert report["parameters"]["min_wall_mm"] == pytest.approx(0.5)


def test_a_box_missing_a_face_is_an_open_body(analyzer: TrimeshDfmAnalyzer) -> None:
    mesh = trimesh.creation.box(extents=(10, 10, 10))
    mesh.update_faces(np.arange(10))  # drop the two triangles of one side
    data = stl(mesh)

    info = analyzer.quick_info(data, "open.stl")
    assert not info["is_watertight"] and not info["is_manifold"]
    report = analyzer.analyze(data, "open.stl", PRINTERS)
    assert report["open_edges"]["boundary"] == 4
    assert report["bodies"]["open"] == 1
    found = issue(report, "open_body")
    assert found["severity"] == "error"
    assert len(found["locations"]) == 4
    # Every location is the midpoint of a rim edge of the missing side (x = +5).
    assert all(x == pytest.approx(5.0) for x, _, _ in found["locations"])
    assert_plain_json(report)
    assert report["score"] <= 70


def test_two_cubes_sharing_an_edge_are_closed_bodies_with_a_non_manifold_edge(
    analyzer: TrimeshDfmAnalyzer,
) -> None:
    first = trimesh.creation.box(extents=(10, 10, 10)).apply_translation((5, 5, 5))
    second = trimesh.creation.box(extents=(10, 10, 10)).apply_translation((15, 15, 5))
    pair = trimesh.util.concatenate([first, second])
    assert isinstance(pair, trimesh.Trimesh)
    report = analyzer.analyze(stl(pair), "pair.stl", PRINTERS)

    assert report["open_edges"]["non_manifold"] == 1
    assert report["open_edges"]["locations"] == [[10.0, 10.0, 5.0]]
    assert report["bodies"] == {"count": 2, "open": 0, "inverted": 0}
    assert issue(report, "non_manifold_edge")["severity"] == "warning"
    assert_plain_json(report)
    assert issue(report, "multiple_bodies")["severity"] == "info"


def test_an_inside_out_cube_is_analysed_flipped_and_flagged(
    analyzer: TrimeshDfmAnalyzer,
) -> None:
    mesh = trimesh.creation.box(extents=(20, 20, 20)).apply_translation((0, 0, 10))
    mesh.invert()
    report = analyzer.analyze(stl(mesh), "inverted.stl", PRINTERS)

    assert report["bodies"]["inverted"] == 1
    assert issue(report, "inverted_normals")["severity"] == "warning"
    # Flipped back before measuring: walls and overhangs read as for the upright cube.
    assert report["thin_walls"]["min_mm"] == pytest.approx(20.0, abs=0.01)
    assert report["overhangs"]["area_cm2"] == 0.0


def test_an_obj_with_quads_is_read_like_the_stl(analyzer: TrimeshDfmAnalyzer) -> None:
    corners = [(x, y, z) for x in (0, 10) for y in (0, 10) for z in (0, 10)]
    quads = ["1 2 4 3", "5 7 8 6", "1 5 6 2", "3 4 8 7", "1 3 7 5", "2 6 8 4"]
    text = "".join(f"v {x} {y} {z}\n" for x, y, z in corners) + "".join(f"f {q}\n" for q in quads)

    info = analyzer.quick_info(text.encode(), "cube.obj")
    assert info["file_format"] == "obj" and info["triangle_count"] == 12
    assert info["is_manifold"] and info["volume_cm3"] == pytest.approx(1.0)
    report = analyzer.analyze(text.encode(), "cube.obj", PRINTERS)
    assert report["thin_walls"]["min_mm"] == pytest.approx(10.0, abs=0.01)
    assert report["score"] == 100


def test_meshes_above_the_ray_budget_skip_the_wall_check() -> None:
    params = DfmParams(max_ray_faces=10)
    with TrimeshDfmAnalyzer(max_bytes=50 * MB, workers=1, params=params) as capped:
        report = capped.analyze(box(20, 20, 20), "cube.stl", PRINTERS)

    assert "12 faces" in report["thin_walls"]["skipped"]
    assert issue(report, "thin_wall")["severity"] == "info"
    assert report["score"] == 100


def test_the_same_file_gets_the_same_report(analyzer: TrimeshDfmAnalyzer) -> None:
    data = stl(trimesh.creation.icosphere(subdivisions=3, radius=10))
    first = analyzer.analyze(data, "ball.stl", PRINTERS)
    second = analyzer.analyze(data, "ball.stl", PRINTERS)

    first.pop("analysis_ms"), second.pop("analysis_ms")
    assert first == second
    # Through the centre, a sphere is its diameter thick.
    assert first["thin_walls"]["median_mm"] == pytest.approx(20.0, abs=0.2)


def test_rear_case_gets_a_plausible_report_quickly(analyzer: TrimeshDfmAnalyzer) -> None:
    data = (CORPUS / "stl_binary" / "rear_case.stl").read_bytes()

    started = time.perf_counter()
    report = analyzer.analyze(data, "rear_case.stl", PRINTERS)
    assert time.perf_counter() - started < 5.0

    model = report["model"]
    assert model["triangle_count"] == 18808
    assert model["is_watertight"] and model["is_manifold"] and model["body_count"] == 1
    assert [model["dimensions_mm"][a] for a in "xyz"] == pytest.approx([88.0, 22.3, 101.0], 0.01)
    walls = report["thin_walls"]
    assert walls["measured"] >= 0.99 * walls["samples"]
    # A case shell: walls of a few mm, thinner at fillets and edges, never beyond its size.
    assert 0 < walls["min_mm"] <= walls["percentile_mm"] <= walls["median_mm"] < 22.5
    assert 1.0 < walls["median_mm"] < 10.0
    assert report["overhangs"]["area_cm2"] > 0
    assert report["fit"][0]["fits"]
    assert 50 <= report["score"] <= 100
    for found in report["issues"]:
        assert found["severity"] in ("error", "warning", "info") and found["message"]
    assert_plain_json(report)


def test_moon_3mf_has_two_closed_bodies(analyzer: TrimeshDfmAnalyzer) -> None:
    data = (CORPUS / "3mf" / "Moon.3mf").read_bytes()

    assert analyzer.quick_info(data, "Moon.3mf")["body_count"] == 2
    report = analyzer.analyze(data, "Moon.3mf", PRINTERS)
    assert report["bodies"] == {"count": 2, "open": 0, "inverted": 0}
    assert report["model"]["file_format"] == "3mf"
    assert issue(report, "multiple_bodies")["severity"] == "info"


def test_triamid_is_watertight_but_not_manifold(analyzer: TrimeshDfmAnalyzer) -> None:
    data = (CORPUS / "stl_tests" / "triamid.stl").read_bytes()

    info = analyzer.quick_info(data, "triamid.stl")
    assert info["is_watertight"]
    assert not info["is_winding_consistent"] and not info["is_manifold"]
    report = analyzer.analyze(data, "triamid.stl", PRINTERS)
    assert issue(report, "inconsistent_winding")["locations"]


@pytest.mark.skipif(not embree_available(), reason="embreex is not installed")
def test_both_ray_engines_measure_the_same_walls() -> None:
    data = (CORPUS / "stl_binary" / "rear_case.stl").read_bytes()
    walls = []
    for engine in ("numpy", "embree"):
        with TrimeshDfmAnalyzer(50 * MB, workers=1, params=DfmParams(ray_engine=engine)) as one:
            walls.append(one.analyze(data, "rear_case.stl", PRINTERS)["thin_walls"])
    numpy_walls, embree_walls = walls
    for key in ("min_mm", "percentile_mm", "median_mm", "thin_count", "measured"):
        assert numpy_walls[key] == pytest.approx(embree_walls[key], abs=1e-3), key
