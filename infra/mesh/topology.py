"""Watertightness and body count of a triangle soup, in one sort of its half-edges."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from infra.mesh.corners import Corners

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
Flags = npt.NDArray[np.bool_]

# splitmix64 finaliser constants: a bijective mix whose every output bit depends on every
# input bit, so structured coordinates (grids, mirrored values) do not collide.
_MIX_A = np.uint64(0xBF58476D1CE4E5B9)
_MIX_B = np.uint64(0x94D049BB133111EB)
_EDGE_SALT = np.uint64(0x9E3779B97F4A7C15)
_BLOCK_FACES = 16 * 1024


@dataclass(frozen=True)
class Topology:
    """What the connectivity of a mesh says about it."""

    is_watertight: bool
    body_count: int


def analyze_topology(corners: Corners) -> Topology:
    """Merge coincident vertices, pair up edges and count face-connected bodies."""
    face_count = corners.shape[2]
    edge_keys = _edge_keys(corners)
    # Two more words per half-edge, reused: the sort's input and the slots it yields.
    packed = np.empty_like(edge_keys)
    slots = np.empty_like(edge_keys)
    first, second = _paired_edges(edge_keys, packed=packed, scratch=slots)
    # trimesh's definition: watertight when every edge is shared by exactly two faces.
    watertight = 2 * len(first) == len(edge_keys)
    return Topology(watertight, _count_bodies(face_count, first, second, packed))


def _mix(h: U64, scratch: U64) -> U64:
    """splitmix64 finaliser, in place."""
    h ^= np.right_shift(h, np.uint64(30), out=scratch)
    h *= _MIX_A
    h ^= np.right_shift(h, np.uint64(27), out=scratch)
    h *= _MIX_B
    h ^= np.right_shift(h, np.uint64(31), out=scratch)
    return h


def _edge_keys(corners: Corners) -> U64:
    """Key per half-edge, the same both ways round, face-major: slot = 3 * face + k."""
    face_count = corners.shape[2]
    keys = np.empty((face_count, 3), dtype=np.uint64)
    # Block-wise, so the dozen passes of hashing run over cache-sized buffers instead of
    # streaming whole columns through memory each time.
    vertex_block, edge_block, scratch_block = np.empty((3, 3, _BLOCK_FACES), dtype=np.uint64)
    for start in range(0, face_count, _BLOCK_FACES):
        stop = min(start + _BLOCK_FACES, face_count)
        width = stop - start
        vertex, edge, scratch = (
            vertex_block[:, :width],
            edge_block[:, :width],
            scratch_block[:, :width],
        )
        _vertex_keys(corners[:, :, start:stop], out=vertex, scratch=scratch)
        for k in range(3):
            following = vertex[(k + 1) % 3]
            np.minimum(vertex[k], following, out=edge[k])
            np.maximum(vertex[k], following, out=scratch[k])
        edge *= _EDGE_SALT
        edge ^= scratch
        keys[start:stop] = _mix(edge, scratch).T
    return keys.ravel()


def _vertex_keys(corners: Corners, out: U64, scratch: U64) -> None:
    """64-bit key per corner, equal for equal positions: (3 corners, faces)."""
    # + 0.0 folds -0.0 into 0.0, the only two distinct bit patterns that compare equal.
    np.add(corners[0], 0.0, out=out.view(np.float64))
    coordinate = scratch.view(np.float64)
    # Exact merging (trimesh's 1e-8 rounding is finer than float32 spacing anyway) without
    # sorting 3n rows: a sponge of bijective mixes over x, y and z.
    for axis in (1, 2):
        _mix(out, scratch)
        out ^= np.add(corners[axis], 0.0, out=coordinate).view(np.uint64)
    _mix(out, scratch)


def _paired_edges(keys: U64, packed: U64, scratch: U64) -> tuple[I64, I64]:
    """Slots of edges shared by exactly two faces, as two aligned arrays."""
    count = len(keys)
    index_bits = max(1, (count - 1).bit_length())
    low_mask = np.uint64((1 << index_bits) - 1)
    # Pack the slot into the low bits so a plain in-place sort (much faster than argsort)
    # groups equal keys and still says where each came from.
    slots = scratch.ravel()
    slots[:] = np.arange(count, dtype=np.uint64)
    np.bitwise_and(keys, ~low_mask, out=packed)
    packed |= slots
    packed.sort()
    np.bitwise_and(packed, low_mask, out=slots)
    positions = slots.view(np.int64)
    same = (packed[1:] ^ packed[:-1]) <= low_mask
    starts = _runs_of_two(same)
    first, second = positions[starts], positions[starts + 1]
    # The packed keys keep only the high bits, so confirm each pair on the full key.
    genuine = keys[first] == keys[second]
    first, second = first[genuine], second[genuine]
    crowded = _positions_in_longer_runs(same, positions)
    if len(crowded):
        # Non-manifold edges, or truncated keys colliding: regroup those few exactly.
        extra_first, extra_second = _exact_pairs(keys, crowded)
        first = np.concatenate((first, extra_first))
        second = np.concatenate((second, extra_second))
    return first, second


def _neighbours(same: Flags) -> tuple[Flags, Flags]:
    """Whether each link's predecessor and successor link are also equalities."""
    return np.concatenate(([False], same[:-1])), np.concatenate((same[1:], [False]))


def _runs_of_two(same: Flags) -> I64:
    """Start positions of runs of exactly two equal neighbours in a sorted array."""
    before, after = _neighbours(same)
    return np.flatnonzero(same & ~before & ~after)


def _positions_in_longer_runs(same: Flags, positions: I64) -> I64:
    """Slots sitting in runs of three or more equal keys."""
    before, after = _neighbours(same)
    links = np.flatnonzero(same & (before | after))
    return np.unique(np.concatenate((positions[links], positions[links + 1])))


def _exact_pairs(keys: U64, slots: I64) -> tuple[I64, I64]:
    """Pairs among the given slots whose full keys occur exactly twice."""
    ordered = slots[np.argsort(keys[slots], kind="stable")]
    ordered_keys = keys[ordered]
    starts = _runs_of_two(ordered_keys[1:] == ordered_keys[:-1])
    return ordered[starts], ordered[starts + 1]


def _count_bodies(face_count: int, first: I64, second: I64, scratch: U64) -> int:
    """Connected components of faces joined by their two-face edges (trimesh's split)."""
    # One row of three neighbour slots per face; an unpaired slot points at its own face,
    # a harmless self-loop, so the CSR matrix needs no sort to build.
    neighbours = np.arange(3 * face_count, dtype=np.int32) // 3
    neighbours[first] = second // 3
    neighbours[second] = first // 3
    indptr = np.arange(0, 3 * face_count + 1, 3, dtype=np.int32)
    weights = scratch.ravel().view(np.float64)
    weights.fill(1.0)
    graph = csr_matrix((weights, neighbours, indptr), shape=(face_count, face_count))
    # Undirected on purpose: scipy's directed "strong" search (which would skip building the
    # transpose) never returns when a row repeats a column, as it does for two faces that
    # share two edges; a hostile file could hang a worker with that.
    count = connected_components(graph, directed=False, return_labels=False)
    return int(count)
