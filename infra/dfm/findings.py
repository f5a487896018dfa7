"""Turn measurements into issues with messages that say what to change."""

from __future__ import annotations

from typing import Any

import numpy as np

from infra.dfm.edges import EdgeTopology
from infra.dfm.indexed import IndexedMesh, Ints
from infra.dfm.issues import (
    OVERHANG_SHARE_FLAGGED,
    PENALTY_INVERTED,
    PENALTY_NON_MANIFOLD,
    PENALTY_OPEN_BODY,
    PENALTY_TOO_LARGE,
    PENALTY_WINDING,
    THIN_SHARE_ERROR,
    THIN_SHARE_FLAGGED,
    Issue,
    overhang_penalty,
    thin_wall_penalty,
)
from infra.dfm.locations import points_list, spread
from infra.dfm.overhangs import OverhangReport
from infra.dfm.params import ResolvedParams
from infra.dfm.walls import WallReport


def wall_issues(walls: WallReport, params: ResolvedParams) -> list[Issue]:
    """Thin walls, or a note that the check was skipped."""
    if walls.data["skipped"]:
        return [Issue("thin_wall", "info", f"wall thickness not checked: {walls.data['skipped']}")]
    if not walls.data["thin_count"]:
        return []
    fraction = walls.thin_fraction
    floor = (
        f"minimum printable is {params.min_wall_mm:g} mm "
        f"({params.min_wall_mm / params.nozzle_mm:g} x {params.nozzle_mm:g} mm nozzle)"
    )
    if fraction < THIN_SHARE_FLAGGED:
        message = (
            f"a few spots ({_percent(fraction)} of samples) are thinner than "
            f"{params.min_wall_mm:g} mm, down to {walls.thin_min_mm:.2f} mm; usually sharp "
            f"edges or tips, which print rounded"
        )
        return [Issue("thin_wall", "info", message, walls.locations)]
    severity = "error" if fraction >= THIN_SHARE_ERROR else "warning"
    message = (
        f"walls down to {walls.thin_min_mm:.2f} mm thick in {_percent(fraction)} of samples; "
        f"{floor}: thicken them or they may print with gaps or not at all"
    )
    return [Issue("thin_wall", severity, message, walls.locations, thin_wall_penalty(fraction))]


def overhang_issues(overhangs: OverhangReport, angle_deg: float) -> list[Issue]:
    """Surfaces that need support material in the model's orientation."""
    if overhangs.area_cm2 <= 0.0:
        return []
    fraction = overhangs.fraction
    severity = "warning" if fraction >= OVERHANG_SHARE_FLAGGED else "info"
    message = (
        f"{overhangs.area_cm2:.2f} cm2 ({_percent(fraction)} of the surface) overhangs more "
        f"than {angle_deg:g} degrees from vertical; it needs supports, or turn the part so "
        f"those faces point up or rest on the plate"
    )
    return [Issue("overhang", severity, message, overhangs.locations, overhang_penalty(fraction))]


def fit_issues(fits: list[dict[str, Any]]) -> list[Issue]:
    """Printers the part does not fit, or fits only when turned."""
    if not fits:
        return []
    misfits = [f for f in fits if not f["fits"]]
    if len(misfits) == len(fits):
        part = " x ".join(f"{d:g}" for d in misfits[0]["part_mm"])
        names = "; ".join(f"{f['printer']} ({_volume(f['build_volume_mm'])})" for f in misfits)
        message = (
            f"the part ({part} mm) does not fit the build volume of {names} in any "
            f"orientation; scale it down or split it into pieces"
        )
        return [Issue("too_large", "error", message, penalty=PENALTY_TOO_LARGE)]
    issues = []
    if misfits:
        names = ", ".join(f["printer"] for f in misfits)
        issues.append(Issue("too_large", "info", f"the part does not fit {names}"))
    for fit in fits:
        if fit["fits"] and fit["rotated"]:
            axes = ", ".join(
                f"model {axis.upper()} along printer {printer}"
                for axis, printer in zip(fit["orientation"], "XYZ", strict=True)
            )
            message = f"fits {fit['printer']} only when turned: {axes}"
            issues.append(Issue("rotated_fit", "info", message))
    return issues


def topology_issues(
    mesh: IndexedMesh, topology: EdgeTopology, inverted: int, limit: int
) -> list[Issue]:
    """Holes, non-manifold and misoriented edges, inside-out and multiple bodies."""
    issues = []
    open_count = int(topology.open_bodies.sum())
    if open_count:
        holes = len(topology.boundary_edges)
        message = (
            f"{open_count} of {topology.body_count} bodies are open: {holes} edges belong to "
            f"only one face (holes in the surface); close them so the slicer knows what is solid"
        )
        where = _midpoints(mesh, topology.boundary_edges, limit)
        issues.append(Issue("open_body", "error", message, where, PENALTY_OPEN_BODY))
    if len(topology.non_manifold_edges):
        message = (
            f"{len(topology.non_manifold_edges)} edges are shared by more than two faces "
            f"(non-manifold); separate the touching parts or merge them into one solid"
        )
        where = _midpoints(mesh, topology.non_manifold_edges, limit)
        issues.append(Issue("non_manifold_edge", "warning", message, where, PENALTY_NON_MANIFOLD))
    if len(topology.misoriented_edges):
        message = (
            f"{len(topology.misoriented_edges)} edges join faces that disagree about which "
            f"side is outside (inconsistent winding); recalculate the normals"
        )
        where = _midpoints(mesh, topology.misoriented_edges, limit)
        issues.append(Issue("inconsistent_winding", "warning", message, where, PENALTY_WINDING))
    if inverted:
        message = (
            f"{inverted} closed bodies are inside out (normals point inward); they were "
            f"analysed flipped, but flip their normals before printing"
        )
        issues.append(Issue("inverted_normals", "warning", message, penalty=PENALTY_INVERTED))
    if topology.body_count > 1:
        message = (
            f"the file holds {topology.body_count} separate bodies; each prints as its own "
            f"part unless they are joined"
        )
        issues.append(Issue("multiple_bodies", "info", message))
    return issues


def edge_summary(mesh: IndexedMesh, topology: EdgeTopology, limit: int) -> dict[str, Any]:
    """The open_edges block of the report."""
    problem = np.vstack((topology.boundary_edges, topology.non_manifold_edges))
    return {
        "boundary": len(topology.boundary_edges),
        "non_manifold": len(topology.non_manifold_edges),
        "locations": _midpoints(mesh, problem, limit),
    }


def _midpoints(mesh: IndexedMesh, edges: Ints, limit: int) -> list[list[float]]:
    """Midpoints of up to limit edges, spread through the list."""
    chosen = edges[spread(np.arange(len(edges)), limit)]
    return points_list(mesh.vertices[chosen].mean(axis=1))


def _percent(fraction: float) -> str:
    """A share as a readable percentage."""
    value = 100.0 * fraction
    return f"{value:.0f} %" if value >= 10 else f"{value:.1f} %"


def _volume(bed: list[float]) -> str:
    return " x ".join(f"{d:g}" for d in bed) + " mm"
