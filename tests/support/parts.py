"""Parametric test parts made by trimesh: boxes, tubes, plates, spheres and more, in mm.

Every part is deterministic (no random numbers) and comes out as binary STL bytes; its
geometry is measured by the same trimesh mesh, so a test can compare the slicer with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import trimesh

from domain.pricing import PartGeometry


@dataclass(frozen=True)
class Part:
    """One generated part: a name that says what it is, and its mesh."""

    name: str
    mesh: trimesh.Trimesh

    def stl(self) -> bytes:
        """The part as binary STL bytes."""
        return stl_bytes(self.mesh)

    def geometry(self) -> PartGeometry:
        """Bounding box (mm), volume (cm3) and surface area (cm2) of the mesh."""
        return geometry_of(self.mesh)


def stl_bytes(mesh: trimesh.Trimesh) -> bytes:
    """A mesh as binary STL bytes."""
    exported = mesh.export(file_type="stl")
    assert isinstance(exported, bytes)
    return exported


def geometry_of(mesh: trimesh.Trimesh) -> PartGeometry:
    """PartGeometry of a mesh in millimetres."""
    x, y, z = (float(v) for v in mesh.extents)
    return PartGeometry(
        dim_x_mm=x,
        dim_y_mm=y,
        dim_z_mm=z,
        volume_cm3=float(mesh.volume) / 1000,
        surface_area_cm2=float(mesh.area) / 100,
    )


def _on_bed(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """Moved so its bounding box starts at the origin (z = 0 is the bed)."""
    mesh.apply_translation(-mesh.bounds[0])
    return mesh


def box(x: float, y: float, z: float) -> Part:
    """A solid rectangular block."""
    return Part(f"box_{x:g}x{y:g}x{z:g}", _on_bed(trimesh.creation.box(extents=(x, y, z))))


def cube(size: float) -> Part:
    """A solid cube."""
    part = box(size, size, size)
    return Part(f"cube_{size:g}", part.mesh)


def plate(x: float, y: float, thickness: float) -> Part:
    """A flat plate (thin in z)."""
    part = box(x, y, thickness)
    return Part(f"plate_{x:g}x{y:g}x{thickness:g}", part.mesh)


def tube(outer_d: float, wall: float, height: float, sections: int = 64) -> Part:
    """A round tube standing on the bed (an annulus extruded in z)."""
    mesh = trimesh.creation.annulus(
        r_min=outer_d / 2 - wall, r_max=outer_d / 2, height=height, sections=sections
    )
    return Part(f"tube_d{outer_d:g}_w{wall:g}_h{height:g}", _on_bed(mesh))


def cylinder(diameter: float, height: float, sections: int = 64) -> Part:
    """A solid round cylinder standing on the bed."""
    mesh = trimesh.creation.cylinder(radius=diameter / 2, height=height, sections=sections)
    return Part(f"cylinder_d{diameter:g}_h{height:g}", _on_bed(mesh))


def sphere(diameter: float, subdivisions: int = 4) -> Part:
    """An icosphere (20 * 4**subdivisions faces: 5120 at 4, 20480 at 5)."""
    mesh = trimesh.creation.icosphere(subdivisions=subdivisions, radius=diameter / 2)
    return Part(f"sphere_d{diameter:g}_s{subdivisions}", _on_bed(mesh))


def cone(diameter: float, height: float, sections: int = 64) -> Part:
    """A solid cone, point up."""
    mesh = trimesh.creation.cone(radius=diameter / 2, height=height, sections=sections)
    return Part(f"cone_d{diameter:g}_h{height:g}", _on_bed(mesh))


def torus(major_d: float, minor_d: float) -> Part:
    """A ring lying on the bed."""
    mesh = trimesh.creation.torus(
        major_radius=major_d / 2, minor_radius=minor_d / 2, major_sections=64, minor_sections=32
    )
    return Part(f"torus_D{major_d:g}_d{minor_d:g}", _on_bed(mesh))


def blocks(name: str, xs: list[float], ys: list[float], zs: list[float], filled: Fill) -> Part:
    """A solid made of grid cells: cell (i, j, k) spans xs[i]..xs[i+1] (and so on) if filled.

    Only faces between a filled and an empty cell are kept, so the mesh is a closed,
    outward-wound surface of the union (no booleans library needed).
    """
    shape = (len(xs) - 1, len(ys) - 1, len(zs) - 1)
    grid = (np.asarray(xs, float), np.asarray(ys, float), np.asarray(zs, float))
    corners: list[list[tuple[float, float, float]]] = []
    for i, j, k in np.ndindex(shape):
        if not filled(i, j, k):
            continue
        cell = (i, j, k)
        for axis in range(3):
            for side in (0, 1):
                neighbour = list(cell)
                neighbour[axis] += 1 if side else -1
                n = neighbour[axis]
                if 0 <= n < shape[axis] and filled(*neighbour):
                    continue
                corners.append(_quad(grid, cell, axis, side))
    vertices = np.array([v for quad in corners for v in quad])
    faces = [[q * 4 + a, q * 4 + b, q * 4 + c] for q in range(len(corners)) for a, b, c in _SPLIT]
    mesh = trimesh.Trimesh(vertices=vertices, faces=faces, process=True)
    return Part(name, _on_bed(mesh))


Fill = Callable[[int, int, int], bool]
_SPLIT = ((0, 1, 2), (0, 2, 3))


def _quad(
    grid: tuple[np.ndarray, ...], cell: tuple[int, int, int], axis: int, side: int
) -> list[tuple[float, float, float]]:
    """The cell's face across `axis` (side 1: the far one), wound to face outwards."""
    u, v = (axis + 1) % 3, (axis + 2) % 3  # (u, v, axis) is a right-handed frame
    at = grid[axis][cell[axis] + side]
    u0, u1 = grid[u][cell[u]], grid[u][cell[u] + 1]
    v0, v1 = grid[v][cell[v]], grid[v][cell[v] + 1]
    ring = [(u0, v0), (u1, v0), (u1, v1), (u0, v1)]
    if not side:
        ring.reverse()
    points = []
    for a, b in ring:
        point = [0.0, 0.0, 0.0]
        point[axis], point[u], point[v] = float(at), float(a), float(b)
        points.append((point[0], point[1], point[2]))
    return points


def tray(x: float, y: float, z: float, wall: float) -> Part:
    """An open-top box: a floor and four walls of the given thickness."""

    def filled(i: int, j: int, k: int) -> bool:
        return not (i == 1 and j == 1 and k == 1)

    xs, ys, zs = [0, wall, x - wall, x], [0, wall, y - wall, y], [0, wall, z]
    return blocks(f"tray_{x:g}x{y:g}x{z:g}_w{wall:g}", xs, ys, zs, filled)


def bracket(x: float, y: float, z: float, thickness: float) -> Part:
    """An L-shaped angle bracket: a base plate and an upright wall along one edge."""

    def filled(i: int, j: int, k: int) -> bool:
        return i == 0 or k == 0

    xs, ys, zs = [0, thickness, x], [0, y], [0, thickness, z]
    return blocks(f"bracket_{x:g}x{y:g}x{z:g}_t{thickness:g}", xs, ys, zs, filled)


def frame(x: float, y: float, z: float, wall: float) -> Part:
    """A rectangular frame (a square tube with no floor)."""

    def filled(i: int, j: int, k: int) -> bool:
        return not (i == 1 and j == 1)

    xs, ys, zs = [0, wall, x - wall, x], [0, wall, y - wall, y], [0, z]
    return blocks(f"frame_{x:g}x{y:g}x{z:g}_w{wall:g}", xs, ys, zs, filled)


def steps(width: float, depth: float, step: float, count: int) -> Part:
    """A staircase of `count` steps, each `step` high and deep."""
    xs = [0.0, width]
    ys = [i * depth for i in range(count + 1)]
    zs = [i * step for i in range(count + 1)]

    def filled(i: int, j: int, k: int) -> bool:
        return k <= j

    return blocks(f"steps_{width:g}x{depth:g}x{step:g}_n{count}", xs, ys, zs, filled)


def hollow_cube(size: float, wall: float) -> Part:
    """A closed cube with a sealed cubic cavity inside (two shells)."""

    def filled(i: int, j: int, k: int) -> bool:
        return not (i == 1 and j == 1 and k == 1)

    edges = [0, wall, size - wall, size]
    return blocks(f"hollow_cube_{size:g}_w{wall:g}", edges, edges, edges, filled)


def flat_sheet(size: float = 20.0) -> bytes:
    """A zero-volume square (two triangles in the plane z = 0): nothing to print."""
    vertices = np.array([[0, 0, 0], [size, 0, 0], [size, size, 0], [0, size, 0]], dtype=float)
    mesh = trimesh.Trimesh(vertices=vertices, faces=[[0, 1, 2], [0, 2, 3]], process=False)
    return stl_bytes(mesh)


def garbage_stl() -> bytes:
    """Bytes that look like a binary STL header but hold a wrong triangle count."""
    return b"not a mesh".ljust(80, b" ") + (1000).to_bytes(4, "little") + b"\x01" * 123


def catalogue(quick: bool = False) -> list[Part]:
    """The benchmark's parametric parts: several shapes at several sizes."""
    parts = [
        cube(10),
        cube(20),
        cube(40),
        box(60, 20, 10),
        box(15, 15, 50),
        plate(80, 60, 2),
        plate(50, 50, 4),
        tube(30, 2, 40),
        tube(60, 4, 20),
        tube(16, 3, 60),
        cylinder(25, 30),
        cylinder(50, 10),
        sphere(20),
        sphere(40),
        sphere(60, subdivisions=5),
        cone(40, 40),
        torus(50, 12),
        tray(60, 40, 25, 2),
        bracket(40, 30, 40, 4),
        box(100, 8, 30),
        frame(50, 30, 15, 3),
        steps(30, 10, 8, 5),
        hollow_cube(30, 4),
        tray(100, 80, 15, 1.6),
        cylinder(8, 40),
    ]
    if quick:
        return parts[::2]
    return parts
