"""The one in-memory mesh shape every parser hands to the geometry code."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from domain.errors import InvalidModelFile

# float64, C-contiguous, shape (3 axes, 3 corners, n faces): each axis of each corner is a
# contiguous column, which keeps reductions and the cross product vectorised and fast.
Corners = npt.NDArray[np.float64]


def from_triangles(triangles: npt.NDArray[np.floating]) -> Corners:
    """Corners from an (n, 3 corners, 3 axes) array such as a binary STL record field."""
    with np.errstate(invalid="ignore"):  # NaN is refused later, with a proper message
        return np.ascontiguousarray(triangles.transpose(2, 1, 0), dtype=np.float64)


def from_indexed(vertices: npt.NDArray[np.floating], faces: npt.NDArray[np.integer]) -> Corners:
    """Corners from a vertex table and (n, 3) triangle indices into it."""
    faces = np.asarray(faces)
    vertices = np.asarray(vertices, dtype=np.float64)
    if faces.ndim != 2 or faces.shape[1] != 3 or vertices.ndim != 2 or vertices.shape[1] != 3:
        raise InvalidModelFile("model has malformed vertex or triangle data")
    if len(faces) and (faces.min() < 0 or faces.max() >= len(vertices)):
        raise InvalidModelFile("a triangle refers to a vertex that does not exist")
    return np.ascontiguousarray(vertices.T[:, faces.T])
