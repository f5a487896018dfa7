"""Edge topology of an indexed mesh: open and non-manifold edges, winding, bodies."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from infra.dfm.indexed import IndexedMesh, Ints

Flags = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class EdgeTopology:
    """How the faces of a mesh meet along their edges."""

    boundary_edges: Ints  # (k, 2) vertex pairs used by one face
    non_manifold_edges: Ints  # (k, 2) vertex pairs used by three or more faces
    adjacency: Ints  # (p, 2) face pairs sharing an edge that exactly two faces use
    misoriented_edges: Ints  # (k, 2) two-face edges both faces walk the same way
    body_labels: Ints  # body index per face
    body_count: int
    open_bodies: Flags  # per body: has an edge not shared by exactly two of its faces
    misoriented_bodies: Flags  # per body: holds a misoriented edge

    @property
    def winding_consistent(self) -> bool:
        """Every two-face edge is walked in opposite directions by its faces."""
        return len(self.misoriented_edges) == 0

    @property
    def is_watertight(self) -> bool:
        """trimesh's definition: every edge is shared by exactly two faces."""
        return len(self.boundary_edges) == 0 and len(self.non_manifold_edges) == 0

    @property
    def is_manifold(self) -> bool:
        """Watertight and consistently wound: a surface a slicer can trust."""
        return self.is_watertight and self.winding_consistent


def edge_topology(mesh: IndexedMesh) -> EdgeTopology:
    """Group the 3n half-edges by their vertex pair with one sort."""
    faces = mesh.faces
    starts = faces.ravel()  # face-major: half-edge slot 3 * face + k
    ends = faces[:, [1, 2, 0]].ravel()
    low, high = np.minimum(starts, ends), np.maximum(starts, ends)
    keys = low * np.int64(max(len(mesh.vertices), 1)) + high
    order = np.argsort(keys)
    sorted_keys = keys[order]
    group_starts = np.flatnonzero(np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1])))
    sizes = np.diff(np.append(group_starts, len(keys)))
    first = order[group_starts[sizes == 2]]
    second = order[group_starts[sizes == 2] + 1]
    adjacency = np.column_stack((first // 3, second // 3))
    labels, count = _bodies(len(faces), adjacency)
    forward = starts < ends
    misoriented = first[forward[first] == forward[second]]
    misoriented_bodies = np.zeros(count, dtype=bool)
    misoriented_bodies[labels[misoriented // 3]] = True
    lone = order[group_starts[sizes == 1]]
    crowded = _slots_of_groups(order, group_starts, sizes, sizes > 2)
    return EdgeTopology(
        boundary_edges=np.column_stack((low[lone], high[lone])),
        non_manifold_edges=np.column_stack((low, high))[order[group_starts[sizes > 2]]],
        adjacency=adjacency,
        misoriented_edges=np.column_stack((low[misoriented], high[misoriented])),
        body_labels=labels,
        body_count=count,
        open_bodies=_open_bodies(labels, count, lone, crowded, keys),
        misoriented_bodies=misoriented_bodies,
    )


def _bodies(face_count: int, adjacency: Ints) -> tuple[Ints, int]:
    """Connected components of faces joined across two-face edges (the parser's bodies)."""
    graph = coo_matrix(
        (np.ones(len(adjacency), dtype=np.int8), (adjacency[:, 0], adjacency[:, 1])),
        shape=(face_count, face_count),
    ).tocsr()
    count, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64), int(count)


def _slots_of_groups(order: Ints, group_starts: Ints, sizes: Ints, chosen: Flags) -> Ints:
    """Half-edge slots of every group selected by chosen."""
    starts, lengths = group_starts[chosen], sizes[chosen]
    if not len(starts):
        return np.empty(0, dtype=np.int64)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return order[np.repeat(starts, lengths) + offsets]


def _open_bodies(labels: Ints, count: int, lone: Ints, crowded: Ints, keys: Ints) -> Flags:
    """Per body: whether one of its own edges is not shared by exactly two of its faces."""
    open_flags = np.zeros(count, dtype=bool)
    open_flags[labels[lone // 3]] = True
    if len(crowded):
        # Two closed bodies touching along an edge make it non-manifold for the whole mesh,
        # yet each body on its own may be closed: count that edge per body.
        pairs = np.column_stack((labels[crowded // 3], keys[crowded]))
        rows, uses = np.unique(pairs, axis=0, return_counts=True)
        open_flags[rows[uses != 2, 0]] = True
    return open_flags
