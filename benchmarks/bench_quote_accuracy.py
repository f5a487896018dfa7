"""Instant estimate vs PrusaSlicer on held-out models, before and after calibration.

    python -m benchmarks --only quote_accuracy           # 33 models x 20 % and 50 % infill
    python -m benchmarks --only quote_accuracy --quick   # about half of them

Models: the repo's test meshes (tiny ones scaled to millimetre sizes) and the parametric
parts of tests/support/parts.py, sliced by the real slicer for the default printer
(0.4 mm nozzle, 0.2 mm layers) in PLA. Models are split by a hash of their name into a
fitting set and a held-out set (whole models, never single rows); the estimator is fitted
on the first (application.calibration.fit) and judged on the second only.

Slicer results are cached under ~/.cache/fabledger-bench/quote_accuracy (or
$FABLEDGER_BENCH_CACHE), keyed by (mesh SHA-256, profile fingerprint, slicer version),
so a rerun only slices what changed.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import trimesh

from application.calibration import CalibrationSample, errors, fit, mape
from benchmarks.support import Result, print_table, section
from domain.catalog import DEFAULT_COST_SETTINGS, DEFAULT_MATERIALS, DEFAULT_PRINTER
from domain.estimator import MATERIAL_FEATURES, TIME_FEATURES, EstimatorModel
from domain.pricing import PartGeometry
from domain.slicing import SliceProfile, SliceResult, SlicingFailed
from infra.mesh import TrimeshAnalyzer
from infra.slicer import PrusaSlicer
from tests.support import parts

MESHES = Path(__file__).resolve().parent.parent / "tests" / "data" / "meshes" / "numpy-stl"
# (name, file, scale to mm, laid flat): the numpy-stl samples are a few units across; the
# star stands on a point as drawn (nothing to print on the first layer), so it is laid
# flat. triamid.stl is left out: its inconsistent winding makes its volume meaningless.
REPO_MESHES = (
    ("rear_case", "stl_binary/rear_case.stl", 1.0, False),
    ("bwb", "stl_tests/bwb.stl", 1.0, False),
    ("bwb_x2", "stl_tests/bwb.stl", 2.0, False),
    ("moon_3mf", "3mf/Moon.3mf", 1.0, False),
    ("cube_stl_x12.5", "stl_binary/Cube.stl", 12.5, False),
    ("half_donut_x10", "stl_ascii/HalfDonut.stl", 10.0, False),
    ("star_flat_x10", "stl_binary/Star.stl", 10.0, True),
    ("moon_x15", "stl_binary/Moon.stl", 15.0, False),
)
INFILLS = (20, 50)
MATERIAL_GOAL_PCT = 3.0
TIME_GOAL_PCT = 10.0
HELD_OUT_EVERY = 3  # a third of the models, chosen by a hash of the name
TIMEOUT_S = 300.0
MEMORY_BYTES = 4 * 1024**3


@dataclass(frozen=True)
class Model:
    """One benchmark model: a name, its STL bytes and the geometry our analyzer measures."""

    name: str
    stl: bytes
    geometry: PartGeometry


@dataclass(frozen=True)
class Row:
    """One model at one infill, sliced."""

    model: Model
    infill_pct: int
    result: SliceResult


def cache_dir() -> Path:
    """Where slicer results are kept between runs (outside the repository)."""
    default = Path.home() / ".cache" / "fabledger-bench"
    return Path(os.environ.get("FABLEDGER_BENCH_CACHE", default)) / "quote_accuracy"


def _mesh_model(name: str, mesh: trimesh.Trimesh) -> Model:
    data = parts.stl_bytes(mesh)
    summary = TrimeshAnalyzer().analyze(data, f"{name}.stl")
    geometry = PartGeometry(
        dim_x_mm=summary.dim_x_mm,
        dim_y_mm=summary.dim_y_mm,
        dim_z_mm=summary.dim_z_mm,
        volume_cm3=summary.volume_cm3,
        surface_area_cm2=summary.surface_area_cm2,
    )
    return Model(name, data, geometry)


def models(quick: bool = False) -> list[Model]:
    """The repo's meshes (scaled to mm, laid on the bed) and the parametric parts."""
    found = []
    for name, file, scale, lay_flat in REPO_MESHES:
        mesh = trimesh.load(MESHES / file, force="mesh")
        assert isinstance(mesh, trimesh.Trimesh)
        mesh.apply_scale(scale)
        if lay_flat:  # its thin y axis becomes the height
            mesh.apply_transform(trimesh.transformations.rotation_matrix(math.pi / 2, (1, 0, 0)))
        mesh.apply_translation(-mesh.bounds[0])
        found.append(_mesh_model(name, mesh))
    found += [_mesh_model(part.name, part.mesh) for part in parts.catalogue()]
    return found[::2] if quick else found


def held_out_names(names: Sequence[str]) -> set[str]:
    """Every third model in the order of a hash of its name: stable, and blind to shape."""
    ranked = sorted(names, key=lambda name: hashlib.sha256(name.encode()).hexdigest())
    return set(ranked[::HELD_OUT_EVERY])


def slice_cached(slicer: PrusaSlicer, model: Model, profile: SliceProfile) -> SliceResult:
    """The slicer's result for the model, from the cache when it has it."""
    mesh_sha = hashlib.sha256(model.stl).hexdigest()
    key = f"{mesh_sha[:24]}-{profile.fingerprint()}-{slicer.version()}"
    path = cache_dir() / f"{key}.json"
    if path.exists():
        return SliceResult.from_dict(json.loads(path.read_text()))
    with tempfile.TemporaryDirectory(prefix="fabledger-slice-") as tmp:
        stl = Path(tmp) / "model.stl"
        stl.write_bytes(model.stl)
        result = slicer.slice(stl, profile, Path(tmp) / "job", TIMEOUT_S, MEMORY_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_dict()))
    return result


def collect(quick: bool = False) -> list[Row]:
    """Every model sliced at every infill (failures are reported and left out)."""
    slicer = PrusaSlicer()
    material = DEFAULT_MATERIALS[0]
    rows = []
    for model in models(quick):
        for infill in INFILLS:
            profile = SliceProfile.for_job(DEFAULT_PRINTER, material, DEFAULT_COST_SETTINGS, infill)
            try:
                rows.append(Row(model, infill, slice_cached(slicer, model, profile)))
            except SlicingFailed as failure:
                print(f"{model.name} at {infill} %: {failure.message}")
    return rows


def sample(row: Row) -> CalibrationSample:
    """The calibration sample of a sliced row."""
    return CalibrationSample(
        geometry=row.model.geometry,
        material=DEFAULT_MATERIALS[0].code,
        printer=DEFAULT_PRINTER,
        settings=DEFAULT_COST_SETTINGS,
        infill_pct=float(row.infill_pct),
        filament_cm3=float(row.result.filament_cm3),
        filament_g=float(row.result.filament_g),
        print_seconds=float(row.result.print_seconds),
    )


def _pct(estimate: float, actual: float) -> str:
    return f"{(estimate - actual) / actual * 100:+.1f}"


def report(rows: Sequence[Row], before: EstimatorModel, after: EstimatorModel) -> None:
    """The per-model table of the held-out rows: slicer, estimate before and after."""
    material, printer, settings = DEFAULT_MATERIALS[0], DEFAULT_PRINTER, DEFAULT_COST_SETTINGS
    table = []
    for row in rows:
        g = row.model.geometry
        old = before.estimate(g, material, printer, settings, row.infill_pct)
        new = after.estimate(g, material, printer, settings, row.infill_pct)
        grams, hours = float(row.result.filament_g), row.result.print_seconds / 3600
        table.append(
            [
                row.model.name,
                row.infill_pct,
                f"{grams:.2f}",
                f"{old.grams:.2f}",
                f"{new.grams:.2f}",
                _pct(old.grams, grams),
                _pct(new.grams, grams),
                f"{hours:.2f}",
                f"{old.print_hours:.2f}",
                f"{new.print_hours:.2f}",
                _pct(old.print_hours, hours),
                _pct(new.print_hours, hours),
            ]
        )
    headers = ["model", "infill", "g slicer", "g before", "g after", "err% before"]
    headers += ["err% after", "h slicer", "h before", "h after", "err% before", "err% after"]
    print_table(headers, table, align="lrrrrrrrrrrr")


def run(quick: bool = False) -> list[Result]:
    """Slice (or read the cache), fit on one set, judge on the other, print the tables."""
    slicer = PrusaSlicer()
    if not slicer.available():
        print("quote_accuracy: skipped (prusa-slicer not found; apt-get install prusa-slicer)")
        return []
    rows = collect(quick)
    held = held_out_names(sorted({row.model.name for row in rows}))
    fitting = [row for row in rows if row.model.name not in held]
    judged = [row for row in rows if row.model.name in held]
    names = sorted({row.model.name for row in judged})
    print(f"slicer {slicer.version()}; {len(rows)} rows of {len({r.model.name for r in rows})}")
    print(f"models; fitted on {len(fitting)} rows, judged on {len(judged)} rows of held-out")
    print(f"models: {', '.join(names)}")
    before = EstimatorModel.shell()
    after = fit([sample(row) for row in fitting], before)
    section("quote accuracy on held-out models (PLA, 0.4 mm nozzle, 0.2 mm layers)")
    report(judged, before, after)
    judged_samples = [sample(row) for row in judged]
    material_before, time_before, _ = mape(before, judged_samples)
    material_after, time_after, _ = mape(after, judged_samples)
    fitted_material, fitted_time, _ = mape(after, [sample(row) for row in fitting])
    print()
    print_table(
        ["MAPE (held-out)", "before (shell model)", f"after (estimator v{after.version})", "goal"],
        [
            ["material", f"{material_before:.2f} %", f"{material_after:.2f} %", "<= 3 %"],
            ["print time", f"{time_before:.2f} %", f"{time_after:.2f} %", "<= 10 %"],
        ],
        align="lrrr",
    )
    print(f"(on the fitting set after calibration: material {fitted_material:.2f} %,")
    print(f" print time {fitted_time:.2f} %)")
    loo_material, loo_time = leave_one_model_out(rows)
    print(f"(leave-one-model-out over all {len(rows) // len(INFILLS)} models: material")
    print(f" {loo_material:.2f} %, print time {loo_time:.2f} %)")
    fitted = after.groups.get((DEFAULT_PRINTER.name, DEFAULT_MATERIALS[0].code))
    if fitted is not None:
        for labels, values in ((MATERIAL_FEATURES, fitted.material), (TIME_FEATURES, fitted.time)):
            print(
                "coefficients: "
                + ", ".join(f"{n} {c:.4g}" for n, c in zip(labels, values, strict=True))
            )
    return [
        _result("material", material_after, material_before, MATERIAL_GOAL_PCT),
        _result("print time", time_after, time_before, TIME_GOAL_PCT),
    ]


def leave_one_model_out(rows: Sequence[Row]) -> tuple[float, float]:
    """MAPE of material and time when each model is judged by a fit on all the others."""
    found: list[tuple[float, float]] = []
    for name in sorted({row.model.name for row in rows}):
        model = fit([sample(row) for row in rows if row.model.name != name], None)
        found += errors(model, [sample(row) for row in rows if row.model.name == name])
    return (
        sum(abs(m) for m, _ in found) / len(found),
        sum(abs(t) for _, t in found) / len(found),
    )


def _result(what: str, after: float, before: float, goal: float) -> Result:
    verdict = "met" if after <= goal else "NOT met"
    return Result(
        bench="quote_accuracy",
        backend="prusaslicer",
        metric=f"held-out {what} MAPE (ours: calibrated, baseline: shell model)",
        ours=after,
        baseline=before,
        unit=" %",
        note=f"lower is better; goal <= {goal:g} %: {verdict}",
    )


if __name__ == "__main__":
    run(quick="--quick" in sys.argv[1:])
