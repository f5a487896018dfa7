"""Overhangs: downward faces steeper than the limit from vertical, grouped into regions."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from infra.dfm.edges import EdgeTopology
from infra.dfm.indexed import Floats, IndexedMesh, Ints
from infra.dfm.locations import points_list
from infra.dfm.params import ResolvedParams


@dataclass(frozen=True)
class OverhangReport:
    """Overhang figures for the report, and what the issue list needs."""

    data: dict[str, Any]
    area_cm2: float
    fraction: float
    locations: list[list[float]]


def measure_overhangs(
    mesh: IndexedMesh, topology: EdgeTopology, params: ResolvedParams
) -> OverhangReport:
    """Faces whose surface leans past the angle from vertical, build direction +Z."""
    angle = params.base.overhang_angle_deg
    # A surface leans angle degrees from vertical when its normal's z is -sin(angle).
    downward = mesh.normals[:, 2] < -math.sin(math.radians(angle))
    bottom = float(mesh.vertices[:, 2].min())
    tops = mesh.triangles[:, :, 2].max(axis=1)
    # Faces within a layer of the lowest point rest on the build plate, not on air.
    on_plate = tops <= bottom + params.plate_tolerance_mm
    chosen = np.flatnonzero(downward & ~on_plate & (mesh.areas > 0.0))
    total_area = float(mesh.areas.sum())
    area = float(mesh.areas[chosen].sum())
    fraction = round(area / total_area, 4) if total_area else 0.0
    regions = _Regions(mesh, topology.adjacency, chosen)
    limit = params.base.max_locations
    locations = points_list(regions.centroids[:limit])
    data = {
        "angle_deg": angle,
        "area_cm2": round(area / 100.0, 4),
        "fraction": fraction,
        "face_count": len(chosen),
        "region_count": len(regions.areas),
        "largest_region": regions.largest(),
        "locations": locations,
    }
    return OverhangReport(data, area / 100.0, fraction, locations)


class _Regions:
    """Connected groups of overhang faces (across shared edges), largest area first."""

    def __init__(self, mesh: IndexedMesh, adjacency: Ints, chosen: Ints) -> None:
        self.mesh = mesh
        self.chosen = chosen
        position = np.full(mesh.face_count, -1, dtype=np.int64)
        position[chosen] = np.arange(len(chosen))
        pairs = position[adjacency]
        pairs = pairs[(pairs >= 0).all(axis=1)]
        graph = coo_matrix(
            (np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])),
            shape=(len(chosen), len(chosen)),
        ).tocsr()
        count, labels = connected_components(graph, directed=False)
        areas = mesh.areas[chosen]
        region_areas = np.bincount(labels, weights=areas, minlength=count).astype(np.float64)
        centres = mesh.triangles[chosen].mean(axis=1)
        sums = [
            np.bincount(labels, weights=areas * centres[:, k], minlength=count) for k in range(3)
        ]
        order = np.argsort(-region_areas, kind="stable")
        self.labels: Ints = labels
        self.order: Ints = order
        self.areas: Floats = region_areas[order]
        self.centroids: Floats = (np.column_stack(sums) / region_areas[:, None])[order]

    def largest(self) -> dict[str, Any] | None:
        """The largest region: area, face count, centroid and bounding box."""
        if not len(self.areas):
            return None
        faces = self.chosen[self.labels == self.order[0]]
        corners = self.mesh.triangles[faces].reshape(-1, 3)
        low, high = points_list(np.vstack((corners.min(axis=0), corners.max(axis=0))))
        return {
            "area_cm2": round(float(self.areas[0]) / 100.0, 4),
            "face_count": len(faces),
            "centroid": points_list(self.centroids[:1])[0],
            "bbox_min": low,
            "bbox_max": high,
        }
