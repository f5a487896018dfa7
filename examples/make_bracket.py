"""Writes examples/bracket.stl: an L-bracket with three square holes, watertight, binary STL.

Run from the repo root: `.venv/bin/python examples/make_bracket.py`. Needs only numpy and
trimesh (no boolean engine): the solid is a set of cells on one rectilinear grid, and its
surface is every cell face between a filled and an empty cell. All faces share the same grid
lines, so neighbouring faces meet edge to edge and the surface is closed.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import trimesh

# Grid lines in mm: every edge of the part lies on one of them.
XS = (0.0, 8.0, 14.0, 17.0, 23.0, 26.0, 32.0, 40.0)
YS = (0.0, 4.0, 14.0, 20.0, 30.0)
ZS = (0.0, 4.0, 10.0, 16.0, 20.0)
THICKNESS = 4.0  # of the base plate and the upright


def filled(x: float, y: float, z: float) -> bool:
    """Whether the point (a cell centre) is inside the bracket."""
    base = z < THICKNESS
    upright = y < THICKNESS
    base_hole = y > 14 and y < 20 and (8 < x < 14 or 26 < x < 32)
    upright_hole = 17 < x < 23 and 10 < z < 16
    return (base and not base_hole) or (upright and not upright_hole)


def bracket() -> trimesh.Trimesh:
    """The bracket's closed surface, outward-facing."""
    centres = [np.diff(axis) / 2 + axis[:-1] for axis in (XS, YS, ZS)]
    shape = tuple(len(c) for c in centres)
    solid = np.zeros(shape, dtype=bool)
    for i, j, k in itertools.product(*(range(n) for n in shape)):
        solid[i, j, k] = filled(centres[0][i], centres[1][j], centres[2][k])
    lines = [np.asarray(axis) for axis in (XS, YS, ZS)]
    quads = []
    for i, j, k in zip(*np.nonzero(solid), strict=True):
        cell = (i, j, k)
        for axis, side in itertools.product(range(3), (0, 1)):
            neighbour = list(cell)
            neighbour[axis] += 1 if side else -1
            inside = 0 <= neighbour[axis] < shape[axis] and solid[tuple(neighbour)]
            if not inside:
                quads.append(face(lines, cell, axis, side))
    vertices = np.array(quads).reshape(-1, 3)
    corners = np.arange(len(vertices)).reshape(-1, 4)
    triangles = np.vstack([corners[:, [0, 1, 2]], corners[:, [0, 2, 3]]])
    return trimesh.Trimesh(vertices, triangles, process=True)  # merges shared corners


def face(lines: list[np.ndarray], cell: tuple[int, ...], axis: int, side: int) -> np.ndarray:
    """The four corners of one cell face, counter-clockwise seen from outside."""
    u, v = (axis + 1) % 3, (axis + 2) % 3
    corners = []
    for du, dv in ((0, 0), (1, 0), (1, 1), (0, 1)):
        point = np.zeros(3)
        point[axis] = lines[axis][cell[axis] + side]
        point[u] = lines[u][cell[u] + du]
        point[v] = lines[v][cell[v] + dv]
        corners.append(point)
    # (u, v, axis) is right-handed, so this order faces +axis; flip it for the low side.
    return np.array(corners if side else corners[::-1])


def main() -> None:
    mesh = bracket()
    assert mesh.is_watertight and mesh.is_winding_consistent and mesh.volume > 0
    target = Path(__file__).with_name("bracket.stl")
    mesh.export(target, file_type="stl")
    size = "x".join(f"{d:g}" for d in mesh.extents)
    print(f"{target}: {len(mesh.faces)} triangles, {size} mm, {mesh.volume / 1000:.2f} cm3")


if __name__ == "__main__":
    main()
