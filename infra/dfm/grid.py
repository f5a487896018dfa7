"""A uniform grid over triangles: which triangles may touch each cell (the numpy ray engine)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Int32s = npt.NDArray[np.int32]

# Aim for about this many triangle references per non-empty cell of a surface mesh.
_CELLS_PER_TRIANGLE = 2.0
_MAX_CELLS_PER_AXIS = 256
# Bounds the memory of the cell lists; long thin triangles over a fine grid shrink it.
_MAX_REFERENCES = 6_000_000


@dataclass(frozen=True)
class TriangleGrid:
    """Cells of equal size over a box; cell c holds triangles ids[starts[c]:starts[c + 1]]."""

    low: Floats  # (3,) corner of the box
    cell: Floats  # (3,) cell size
    shape: Ints  # (3,) cells per axis
    starts: Ints  # (cells + 1,)
    ids: Int32s  # triangle ids, grouped by cell

    def flat(self, index: Ints) -> Ints:
        """Flat cell number of (k, 3) integer cell coordinates."""
        return (index[:, 0] * self.shape[1] + index[:, 1]) * self.shape[2] + index[:, 2]


def build_grid(triangles: Floats, low: Floats, high: Floats) -> TriangleGrid:
    """Grid over the box [low, high] holding every triangle in each cell its bbox touches."""
    size = np.maximum(high - low, 1e-9)
    # Padding puts a triangle lying on a cell wall into both cells, so the ray that meets it
    # there finds it whichever side rounding places the hit.
    pad = 1e-7 * float(size.max())
    tri_low, tri_high = triangles.min(axis=1) - pad, triangles.max(axis=1) + pad
    # Cells per unit length so that the box holds ~2 cells per triangle, shaped like the box.
    density = (_CELLS_PER_TRIANGLE * len(triangles) / float(np.prod(size))) ** (1.0 / 3.0)
    shape = np.clip(np.ceil(size * density), 1, _MAX_CELLS_PER_AXIS).astype(np.int64)
    while True:
        cell = size / shape
        first = _cell_of(tri_low, low, cell, shape)
        last = _cell_of(tri_high, low, cell, shape)
        spans = last - first + 1
        counts = spans.prod(axis=1)
        if counts.sum() <= _MAX_REFERENCES or shape.max() == 1:
            break
        shape = np.maximum(shape // 2, 1)
    flat, ids = _references(first, spans, counts, shape)
    cell_count = int(shape.prod())
    order = np.argsort(flat, kind="stable")
    starts = np.zeros(cell_count + 1, dtype=np.int64)
    np.cumsum(np.bincount(flat, minlength=cell_count), out=starts[1:])
    return TriangleGrid(low, cell, shape, starts, ids[order])


def _cell_of(points: Floats, low: Floats, cell: Floats, shape: Ints) -> Ints:
    """Cell coordinates holding each point, clamped into the grid."""
    return np.clip(np.floor((points - low) / cell), 0, shape - 1).astype(np.int64)


def _references(first: Ints, spans: Ints, counts: Ints, shape: Ints) -> tuple[Int32s, Int32s]:
    """Flat cell number and triangle id for every cell of every triangle's bbox."""
    # int32 throughout: 256**3 cells and the parser's face cap both fit, at half the memory.
    total = int(counts.sum())
    counts32 = counts.astype(np.int32)
    ids = np.repeat(np.arange(len(counts), dtype=np.int32), counts32)
    local = np.arange(total, dtype=np.int32)
    local -= np.repeat((np.cumsum(counts) - counts).astype(np.int32), counts32)
    flat = np.zeros(total, dtype=np.int32)
    # Unravel each triangle's counter over its own bbox, z fastest, and add the cell offsets.
    for axis in (2, 1, 0):
        span = spans[:, axis].astype(np.int32)[ids]
        offset = local % span
        local //= span
        offset += first[:, axis].astype(np.int32)[ids]
        stride = int(np.prod(shape[axis + 1 :]))
        flat += offset * np.int32(stride)
    return flat, ids
