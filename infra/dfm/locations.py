"""Issue locations: a few representative points, as JSON-ready [x, y, z] lists in mm."""

from __future__ import annotations

import numpy as np

from infra.dfm.indexed import Floats, Ints


def spread(indices: Ints, limit: int) -> Ints:
    """At most limit of the indices, evenly spaced through the list (its order kept)."""
    if len(indices) <= limit:
        return indices
    if limit <= 0:
        return indices[:0]
    return indices[np.linspace(0, len(indices) - 1, limit).round().astype(np.int64)]


def points_list(points: Floats) -> list[list[float]]:
    """Points rounded to the micron, as plain lists."""
    return [[round(float(c), 3) for c in point] for point in points]
