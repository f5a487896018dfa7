"""Assemble the quick_info summary and the full printability report (JSON-ready dicts)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.catalog import DEFAULT_PRINTER, PrinterProfile
from infra.dfm.findings import (
    edge_summary,
    fit_issues,
    overhang_issues,
    topology_issues,
    wall_issues,
)
from infra.dfm.fit import fit_printers
from infra.dfm.issues import ordered, score
from infra.dfm.loading import LoadedModel, load_model
from infra.dfm.overhangs import measure_overhangs
from infra.dfm.params import DfmParams
from infra.dfm.raycast import resolve_engine
from infra.dfm.walls import measure_walls


def summary_of(model: LoadedModel) -> dict[str, Any]:
    """The fast geometry summary: size, volume, area, bodies, watertight/manifold flags."""
    summary, topology = model.summary, model.topology
    return {
        "file_format": summary.file_format,
        "units": "mm",
        "dimensions_mm": {
            "x": round(summary.dim_x_mm, 4),
            "y": round(summary.dim_y_mm, 4),
            "z": round(summary.dim_z_mm, 4),
        },
        "volume_cm3": round(summary.volume_cm3, 4),
        "surface_area_cm2": round(summary.surface_area_cm2, 4),
        "triangle_count": summary.triangle_count,
        "body_count": summary.body_count,
        "is_watertight": summary.is_watertight,
        "is_manifold": topology.is_manifold,
        "is_winding_consistent": topology.winding_consistent,
    }


def analyze_bytes(
    data: bytes,
    filename: str,
    max_bytes: int,
    params: DfmParams,
    printers: Sequence[PrinterProfile],
) -> dict[str, Any]:
    """Load the model and build the report (the part that runs in the sandbox)."""
    model = load_model(data, filename, max_bytes, params.max_faces)
    return build_report(model, params, printers)


def build_report(
    model: LoadedModel, params: DfmParams, printers: Sequence[PrinterProfile]
) -> dict[str, Any]:
    """Walls, overhangs, fit, edges and bodies, with the issues and score they add up to."""
    printers = list(printers) or [DEFAULT_PRINTER]
    resolved = params.resolved(printers)
    engine = resolve_engine(params.ray_engine)
    mesh, topology, limit = model.mesh, model.topology, params.max_locations
    walls = measure_walls(mesh, resolved, engine)
    overhangs = measure_overhangs(mesh, topology, resolved)
    summary = model.summary
    fits = fit_printers((summary.dim_x_mm, summary.dim_y_mm, summary.dim_z_mm), printers)
    issues = ordered(
        [
            *topology_issues(mesh, topology, model.inverted_bodies, limit),
            *fit_issues(fits),
            *wall_issues(walls, resolved),
            *overhang_issues(overhangs, params.overhang_angle_deg),
        ]
    )
    return {
        "model": summary_of(model),
        "score": score(issues),
        "issues": [issue.to_dict() for issue in issues],
        "thin_walls": walls.data,
        "overhangs": overhangs.data,
        "fit": fits,
        "open_edges": edge_summary(mesh, topology, limit),
        "bodies": {
            "count": topology.body_count,
            "open": int(topology.open_bodies.sum()),
            "inverted": model.inverted_bodies,
        },
        "parameters": resolved.to_dict(engine),
    }
