"""Wall thickness by ray casting: from surface samples, inward, to the opposite wall."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from infra.dfm.indexed import Floats, IndexedMesh
from infra.dfm.locations import points_list, spread
from infra.dfm.params import ResolvedParams
from infra.dfm.raycast import first_hits

# Inward start offset, as a share of the bbox diagonal: clears the sampled face itself
# (and Embree's float32 rounding) while staying far below any printable wall.
_START_OFFSET = 1e-4
_MAX_START_OFFSET_MM = 0.01


@dataclass(frozen=True)
class WallReport:
    """Thickness statistics, and where the thin samples are."""

    data: dict[str, Any]
    thin_fraction: float
    thin_min_mm: float
    locations: list[list[float]]


def measure_walls(mesh: IndexedMesh, params: ResolvedParams, engine: str) -> WallReport:
    """Sample the surface by area, cast inward along -normal, and read the first hits."""
    base = params.base
    if mesh.face_count > base.max_ray_faces:
        reason = f"{mesh.face_count} faces is above the {base.max_ray_faces} analysed by rays"
        return WallReport({"skipped": reason, "engine": engine}, 0.0, float("nan"), [])
    points, normals = _sample(mesh, base.wall_samples, base.seed)
    diagonal = float(np.linalg.norm(np.ptp(mesh.vertices, axis=0)))
    offset = min(_START_OFFSET * diagonal, _MAX_START_OFFSET_MM)
    distances = first_hits(mesh, points - offset * normals, -normals, engine) + offset
    measured = np.isfinite(distances)
    thickness = distances[measured]
    thin = measured & (distances < params.min_wall_mm)
    # Thinnest first, then spread, so the list shows the worst spots across the part.
    thin_order = np.flatnonzero(thin)[np.argsort(distances[thin], kind="stable")]
    locations = points_list(points[spread(thin_order, base.max_locations)])
    thin_count = int(thin.sum())
    fraction = thin_count / len(thickness) if len(thickness) else 0.0
    data: dict[str, Any] = {
        "skipped": None,
        "engine": engine,
        "samples": len(points),
        "measured": len(thickness),
        "no_hit": int(len(points) - len(thickness)),
        "min_mm": _stat(thickness, np.min),
        "percentile": base.wall_percentile,
        "percentile_mm": _stat(thickness, lambda a: np.percentile(a, base.wall_percentile)),
        "median_mm": _stat(thickness, np.median),
        "min_printable_mm": params.min_wall_mm,
        "thin_count": thin_count,
        "thin_fraction": round(fraction, 4),
        "locations": locations,
    }
    thin_min = float(distances[thin].min()) if thin_count else float("nan")
    return WallReport(data, fraction, thin_min, locations)


def _sample(mesh: IndexedMesh, count: int, seed: int) -> tuple[Floats, Floats]:
    """Area-weighted uniform points on the surface and the normals of their faces."""
    rng = np.random.default_rng(seed)
    areas = mesh.areas
    cumulative = np.cumsum(areas)
    # searchsorted on the running total is choice(p=...) without its normalisation checks.
    faces = np.searchsorted(cumulative, rng.random(count) * cumulative[-1], side="right")
    faces = np.minimum(faces, len(areas) - 1)
    first, second = rng.random(count), rng.random(count)
    root = np.sqrt(first)
    weights = np.column_stack((1.0 - root, root * (1.0 - second), root * second))
    points = np.einsum("ij,ijk->ik", weights, mesh.triangles[faces])
    return points, mesh.normals[faces]


def _stat(values: Floats, reduce: Callable[[Floats], Any]) -> float | None:
    """A rounded statistic, or None when no ray found the opposite wall."""
    return round(float(reduce(values)), 4) if len(values) else None
