"""An indexed triangle mesh (shared vertices) built from the parser's triangle soup."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from infra.mesh.corners import Corners

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

# splitmix64 finaliser constants: every output bit depends on every input bit, so mirrored
# coordinates (x, -x differ only in the sign bit) do not cancel out as in a plain XOR.
_MIX_A = np.uint64(0xBF58476D1CE4E5B9)
_MIX_B = np.uint64(0x94D049BB133111EB)


@dataclass(frozen=True)
class IndexedMesh:
    """Vertices (v, 3) in mm and faces (n, 3) indexing them, wound outward when closed."""

    vertices: Floats
    faces: Ints

    @classmethod
    def from_corners(cls, corners: Corners) -> IndexedMesh:
        """Merge bit-identical corners, as the parser's watertightness check does."""
        rows = np.ascontiguousarray(corners.transpose(2, 1, 0).reshape(-1, 3))
        vertices, inverse = merge_rows(rows)
        return cls(vertices, inverse.reshape(-1, 3))

    @property
    def face_count(self) -> int:
        """Number of triangles."""
        return len(self.faces)

    @cached_property
    def triangles(self) -> Floats:
        """Corner coordinates per face, (n, 3 corners, 3 axes)."""
        return self.vertices[self.faces]

    @cached_property
    def _cross(self) -> Floats:
        triangles = self.triangles
        return np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])

    @cached_property
    def areas(self) -> Floats:
        """Area of each face in mm2."""
        return 0.5 * np.linalg.norm(self._cross, axis=1)

    @cached_property
    def normals(self) -> Floats:
        """Unit normal of each face (zero for degenerate faces)."""
        lengths = 2.0 * self.areas
        safe = np.where(lengths > 0.0, lengths, 1.0)
        return self._cross / safe[:, None]

    @cached_property
    def signed_volumes(self) -> Floats:
        """Each face's share of the enclosed volume (divergence theorem), in mm3."""
        return np.einsum("ij,ij->i", self.triangles[:, 0], self._cross) / 6.0

    def flipped(self, faces_to_flip: npt.NDArray[np.bool_]) -> IndexedMesh:
        """The same mesh with the winding (and so the normals) of some faces reversed."""
        faces = self.faces.copy()
        faces[faces_to_flip] = faces[faces_to_flip][:, ::-1]
        return IndexedMesh(self.vertices, faces)


def merge_rows(rows: Floats) -> tuple[Floats, Ints]:
    """Unique rows and, for each input row, the index of its unique row (exact equality)."""
    rows = rows + 0.0  # folds -0.0 into 0.0, the one pair of bit patterns that compare equal
    bits = rows.view(np.uint64)
    # A hash sort is ~3x faster than a three-key lexsort; equality is still checked exactly.
    keys = _mix(bits[:, 0].copy())
    for axis in (1, 2):
        keys ^= bits[:, axis]
        keys = _mix(keys)
    order = np.argsort(keys)
    ordered = rows[order]
    differs = np.any(ordered[1:] != ordered[:-1], axis=1)
    same_key = keys[order][1:] == keys[order][:-1]
    if np.any(differs & same_key):
        # Two different points share a hash (crafted or astronomically unlucky): go exact.
        unique, inverse = np.unique(rows, axis=0, return_inverse=True)
        return unique, inverse.reshape(-1).astype(np.int64)
    group = np.concatenate(([0], np.cumsum(differs)))
    inverse = np.empty(len(rows), dtype=np.int64)
    inverse[order] = group
    starts = np.concatenate(([0], np.flatnonzero(differs) + 1))
    return ordered[starts], inverse


def _mix(h: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64 finaliser, in place (uint64 arithmetic wraps, as intended)."""
    h ^= h >> np.uint64(30)
    h *= _MIX_A
    h ^= h >> np.uint64(27)
    h *= _MIX_B
    h ^= h >> np.uint64(31)
    return h
