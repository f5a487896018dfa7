"""First-hit distances along rays: Embree when it is installed, else a numpy grid walk."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import numpy as np

from infra.dfm.grid import TriangleGrid, build_grid
from infra.dfm.indexed import Floats, IndexedMesh, Ints

ENGINES = ("auto", "embree", "numpy")
# Barycentric slack: a ray through the edge between two triangles must hit one of them.
_EDGE_SLACK = 1e-9
# Ray-triangle pairs tested per numpy pass: ~300 bytes each of temporaries.
_PAIRS_PER_BATCH = 250_000


@functools.cache
def embree_available() -> bool:
    """Whether trimesh's Embree intersector (the embreex binding) imports and loads."""
    try:
        # Importing, not just finding, the module: a wheel whose shared library cannot
        # load must fall back to numpy rather than fail every analysis.
        import trimesh.ray.ray_pyembree  # noqa: F401
    except Exception:
        return False
    return True


def resolve_engine(engine: str) -> str:
    """The engine that will run: "auto" means Embree when installed."""
    if engine not in ENGINES:
        raise ValueError(f"unknown ray engine {engine!r}; choose one of {ENGINES}")
    if engine == "auto":
        return "embree" if embree_available() else "numpy"
    return engine


def first_hits(mesh: IndexedMesh, origins: Floats, directions: Floats, engine: str) -> Floats:
    """Distance from each origin to the first face along its unit direction (inf: none)."""
    if resolve_engine(engine) == "embree":
        return _embree_hits(mesh, origins, directions)
    return _grid_hits(mesh, origins, directions)


def _embree_hits(mesh: IndexedMesh, origins: Floats, directions: Floats) -> Floats:
    """Embree finds the triangle; the distance is the exact plane intersection in float64."""
    from trimesh import Trimesh
    from trimesh.ray.ray_pyembree import RayMeshIntersector

    shape = Trimesh(vertices=mesh.vertices, faces=mesh.faces, process=False, validate=False)
    hit = np.asarray(RayMeshIntersector(shape).intersects_first(origins, directions))
    distances = np.full(len(origins), np.inf)
    rays = np.flatnonzero(hit >= 0)
    normals = mesh.normals[hit[rays]]
    toward = np.einsum("ij,ij->i", directions[rays], normals)
    gap = np.einsum("ij,ij->i", mesh.triangles[hit[rays], 0] - origins[rays], normals)
    with np.errstate(divide="ignore", invalid="ignore"):
        found = np.abs(gap / toward)
    distances[rays] = np.where(np.isfinite(found), found, np.inf)
    return distances


def _grid_hits(mesh: IndexedMesh, origins: Floats, directions: Floats) -> Floats:
    """Walk all rays through a uniform grid together, testing only the triangles of each cell."""
    triangles = mesh.triangles
    low = np.minimum(triangles.min(axis=(0, 1)), origins.min(axis=0))
    high = np.maximum(triangles.max(axis=(0, 1)), origins.max(axis=0))
    margin = 1e-6 * float(np.max(high - low)) + 1e-9
    grid = build_grid(triangles, low - margin, high + margin)
    walk = _Walk(grid, origins, directions)
    corner = triangles[:, 0]
    edge_a, edge_b = triangles[:, 1] - corner, triangles[:, 2] - corner
    best = np.full(len(origins), np.inf)
    active = np.arange(len(origins))
    # A ray crosses at most one cell per step along each axis: this bounds the loop.
    for _ in range(int(grid.shape.sum()) + 3):
        if not len(active):
            break
        cells = grid.flat(walk.cell[active])
        begins = grid.starts[cells]
        for rays, slots in _pair_batches(active, begins, grid.starts[cells + 1] - begins):
            tris = grid.ids[slots]
            hits = _intersect(
                origins[rays], directions[rays], corner[tris], edge_a[tris], edge_b[tris]
            )
            np.minimum.at(best, rays, hits)
        exit_t = walk.exit_distance(active)
        done = best[active] <= exit_t * (1.0 + 1e-12) + margin * 1e-6
        left = walk.step(active)
        active = active[~done & ~left]
    return best


def _pair_batches(
    rays: Ints, begins: Ints, counts: Ints, limit: int = _PAIRS_PER_BATCH
) -> Iterator[tuple[Ints, Ints]]:
    """(ray, slot in grid.ids) pairs of every ray's cell, in batches of at most 2 x limit."""
    # Split long cell lists into pieces, so even a cell holding every triangle of a hostile
    # mesh is tested in bounded memory (the sandbox's time limit bounds the rest).
    pieces = np.maximum(-(-counts // limit), 1)
    piece = np.arange(int(pieces.sum())) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    piece_rays = np.repeat(rays, pieces)
    piece_begins = np.repeat(begins, pieces) + piece * limit
    piece_counts = np.minimum(np.repeat(counts, pieces) - piece * limit, limit)
    batch = (np.cumsum(piece_counts) - piece_counts) // limit
    edges = np.flatnonzero(np.diff(batch)) + 1
    for chosen in np.split(np.arange(len(batch)), edges):
        counts_here = piece_counts[chosen]
        total = int(counts_here.sum())
        if total == 0:
            continue
        offsets = np.arange(total) - np.repeat(np.cumsum(counts_here) - counts_here, counts_here)
        yield (
            np.repeat(piece_rays[chosen], counts_here),
            np.repeat(piece_begins[chosen], counts_here) + offsets,
        )


class _Walk:
    """Amanatides-Woo traversal state: each ray's cell and where it leaves it on every axis."""

    def __init__(self, grid: TriangleGrid, origins: Floats, directions: Floats) -> None:
        self.shape = grid.shape
        position = (origins - grid.low) / grid.cell
        self.cell: Ints = np.clip(np.floor(position), 0, grid.shape - 1).astype(np.int64)
        self.direction_sign = np.sign(directions).astype(np.int64)
        with np.errstate(divide="ignore", invalid="ignore"):
            boundary = grid.low + (self.cell + (directions > 0)) * grid.cell
            self.next_t = np.where(directions != 0, (boundary - origins) / directions, np.inf)
            self.delta_t = np.where(directions != 0, grid.cell / np.abs(directions), np.inf)

    def exit_distance(self, rays: Ints) -> Floats:
        """Distance along each ray at which it leaves its current cell."""
        return self.next_t[rays].min(axis=1)

    def step(self, rays: Ints) -> Ints:
        """Move each ray into its next cell; True where that leaves the grid."""
        axis = self.next_t[rays].argmin(axis=1)
        self.cell[rays, axis] += self.direction_sign[rays, axis]
        self.next_t[rays, axis] += self.delta_t[rays, axis]
        moved = self.cell[rays, axis]
        return (moved < 0) | (moved >= self.shape[axis])


def _intersect(
    origins: Floats, directions: Floats, corner: Floats, edge_a: Floats, edge_b: Floats
) -> Floats:
    """Möller-Trumbore, both faces, per ray-triangle pair: distance or inf."""
    px, py, pz = _cross(directions, edge_b)
    det = edge_a[:, 0] * px + edge_a[:, 1] * py + edge_a[:, 2] * pz
    with np.errstate(divide="ignore", invalid="ignore"):
        inverse = 1.0 / det
        offset = origins - corner
        u = (offset[:, 0] * px + offset[:, 1] * py + offset[:, 2] * pz) * inverse
        qx, qy, qz = _cross(offset, edge_a)
        v = (directions[:, 0] * qx + directions[:, 1] * qy + directions[:, 2] * qz) * inverse
        t = (edge_b[:, 0] * qx + edge_b[:, 1] * qy + edge_b[:, 2] * qz) * inverse
        # NaN (from det == 0) fails every comparison, so parallel pairs never hit.
        hit = (u >= -_EDGE_SLACK) & (v >= -_EDGE_SLACK) & (u + v <= 1.0 + _EDGE_SLACK) & (t > 0.0)
    return np.where(hit, t, np.inf)


def _cross(a: Floats, b: Floats) -> tuple[Floats, Floats, Floats]:
    """Components of the row-wise cross product (np.cross is slower on (k, 3) rows)."""
    return (
        a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1],
        a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2],
        a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0],
    )
