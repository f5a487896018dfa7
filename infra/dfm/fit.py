"""Build-volume fit: each printer, the best of the six axis-aligned orientations."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from domain.catalog import PrinterProfile

_AXES = "xyz"


def fit_printers(
    dimensions: Sequence[float], printers: Sequence[PrinterProfile]
) -> list[dict[str, Any]]:
    """Per printer: whether the part fits, in which orientation, and with what margin."""
    return [_fit(tuple(dimensions), printer) for printer in printers]


def _fit(dimensions: tuple[float, ...], printer: PrinterProfile) -> dict[str, Any]:
    """The best axis permutation of the part against one printer's build volume."""
    bed = (printer.bed_x_mm, printer.bed_y_mm, printer.bed_z_mm)
    candidates = []
    for order in itertools.permutations(range(3)):
        margins = [bed[k] - dimensions[axis] for k, axis in enumerate(order)]
        fits = min(margins) >= 0.0
        # Rank: fits first; then the pose as modelled (its Z is the build direction the
        # overhang check used); then the widest smallest margin, or the least overflow.
        unrotated = fits and order == (0, 1, 2)
        candidates.append(((fits, unrotated, min(margins)), order, margins))
    (fits, _, worst), order, margins = max(candidates, key=lambda c: c[0])
    return {
        "printer": printer.name,
        "fits": fits,
        "orientation": [_AXES[axis] for axis in order],
        "rotated": order != (0, 1, 2),
        "part_mm": [round(dimensions[axis], 3) for axis in order],
        "build_volume_mm": list(bed),
        "margin_mm": [round(m, 3) for m in margins],
        "min_margin_mm": round(worst, 3),
    }
