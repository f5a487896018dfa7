"""Tunable figures of the printability analysis, and the ones the printers decide."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from domain.catalog import DEFAULT_PRINTER, PrinterProfile

# Two perimeters is the thinnest wall a slicer prints reliably as a solid wall.
WALL_NOZZLE_MULTIPLE = 2.0


@dataclass(frozen=True)
class DfmParams:
    """How thoroughly to look; None means "derive it from the printers"."""

    wall_samples: int = 2000  # rays cast: bounds the cost whatever the mesh size
    seed: int = 0  # the same file always gets the same report
    wall_percentile: float = 5.0
    min_wall_mm: float | None = None  # None: 2 x the finest nozzle among the printers
    overhang_angle_deg: float = 45.0  # measured from vertical; 90 is a flat ceiling
    plate_tolerance_mm: float | None = None  # None: the coarsest layer height
    max_locations: int = 20
    max_faces: int = 5_000_000  # the parser refuses more
    max_ray_faces: int = 2_000_000  # above this the wall check is skipped, not attempted
    ray_engine: str = "auto"  # "embree" (if installed), "numpy", or "auto"

    def __post_init__(self) -> None:
        if self.wall_samples < 1 or self.max_locations < 0:
            raise ValueError("wall_samples must be >= 1 and max_locations >= 0")
        if not 0.0 <= self.wall_percentile <= 100.0:
            raise ValueError("wall_percentile must be within 0-100")
        if not 0.0 < self.overhang_angle_deg < 90.0:
            raise ValueError("overhang_angle_deg must be between 0 and 90")

    def resolved(self, printers: Sequence[PrinterProfile]) -> ResolvedParams:
        """The figures one analysis uses, with printer-derived ones filled in."""
        known = list(printers) or [DEFAULT_PRINTER]
        nozzle = min(p.nozzle_mm for p in known)
        min_wall = self.min_wall_mm
        if min_wall is None:
            min_wall = WALL_NOZZLE_MULTIPLE * nozzle
        plate = self.plate_tolerance_mm
        if plate is None:
            plate = max(p.layer_height_mm for p in known)
        return ResolvedParams(self, min_wall, nozzle, plate)


@dataclass(frozen=True)
class ResolvedParams:
    """DfmParams with the printer-derived thresholds decided."""

    base: DfmParams
    min_wall_mm: float
    nozzle_mm: float
    plate_tolerance_mm: float

    def to_dict(self, ray_engine: str) -> dict[str, Any]:
        """The parameters as reported back with the analysis."""
        data = asdict(self.base)
        data.update(
            min_wall_mm=self.min_wall_mm,
            nozzle_mm=self.nozzle_mm,
            plate_tolerance_mm=self.plate_tolerance_mm,
            ray_engine=ray_engine,
            build_direction=[0.0, 0.0, 1.0],
        )
        return data
