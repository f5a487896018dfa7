"""The fast body count and watertight test agree with trimesh on awkward meshes."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from infra.mesh.corners import from_triangles
from infra.mesh.geometry import summarize
from infra.mesh.topology import _paired_edges


def box_at(x: float, y: float = 0.0, z: float = 0.0, size: float = 1.0) -> trimesh.Trimesh:
    box = trimesh.creation.box(extents=(size, size, size))
    box.apply_translation((x, y, z))
    return box


def open_box() -> trimesh.Trimesh:
    box = box_at(0)
    return trimesh.Trimesh(box.vertices, box.faces[:-1], process=False)


def doubled_face() -> trimesh.Trimesh:
    box = box_at(0)
    return trimesh.Trimesh(box.vertices, np.vstack([box.faces, box.faces[:1]]), process=False)


def flipped_face() -> trimesh.Trimesh:
    box = box_at(0)
    faces = box.faces.copy()
    faces[0] = faces[0][::-1]
    return trimesh.Trimesh(box.vertices, faces, process=False)


CASES = {
    "sphere": lambda: trimesh.creation.icosphere(subdivisions=3),
    "two apart": lambda: trimesh.util.concatenate([box_at(0), box_at(3)]),
    "sharing a face plane": lambda: trimesh.util.concatenate([box_at(0), box_at(1)]),
    "sharing an edge": lambda: trimesh.util.concatenate([box_at(0), box_at(1, 1)]),
    "sharing a corner": lambda: trimesh.util.concatenate([box_at(0), box_at(1, 1, 1)]),
    "identical twins": lambda: trimesh.util.concatenate([box_at(0), box_at(0)]),
    "open": open_box,
    "doubled face": doubled_face,
    "flipped face": flipped_face,
    "torus and cylinder": lambda: trimesh.util.concatenate(
        [trimesh.creation.torus(10, 2), trimesh.creation.cylinder(1, 5)]
    ),
    "annulus": lambda: trimesh.creation.annulus(r_min=1, r_max=2, height=1),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_topology_and_measures_match_trimesh(name: str) -> None:
    mesh = CASES[name]()
    # Unmerged, as an STL would arrive: every triangle with its own three corners.
    triangles = np.asarray(mesh.triangles, dtype=np.float64)
    faces = np.arange(3 * len(triangles)).reshape(-1, 3)
    expected = trimesh.Trimesh(triangles.reshape(-1, 3), faces, process=True)

    summary = summarize(from_triangles(triangles), "stl")

    assert summary.triangle_count == len(expected.faces)
    assert summary.is_watertight is expected.is_watertight
    assert summary.body_count == len(expected.split(only_watertight=False))
    assert summary.volume_cm3 * 1000 == pytest.approx(abs(expected.volume), rel=1e-9)
    assert summary.surface_area_cm2 * 100 == pytest.approx(expected.area, rel=1e-9)


def test_negative_zero_is_the_same_vertex_as_zero() -> None:
    triangles = np.array(box_at(0.5, 0.5, 0.5).triangles)
    # Half the zero coordinates negative: bit patterns differ, positions do not.
    zeros = np.flatnonzero(triangles == 0.0)
    triangles.flat[zeros[::2]] = -0.0

    summary = summarize(from_triangles(triangles), "stl")

    assert (summary.is_watertight, summary.body_count) == (True, 1)


def test_keys_colliding_in_their_high_bits_are_told_apart() -> None:
    # With 6 slots the slot index takes the low 3 bits; these keys share every other bit.
    shared = np.uint64(0xABCD_0000_0000_0000)
    keys = shared | np.array([1, 2, 1, 2, 4, 4], dtype=np.uint64)

    first, second = _paired_edges(
        keys, packed=np.empty(6, dtype=np.uint64), scratch=np.empty(6, dtype=np.uint64)
    )

    assert sorted(zip(first.tolist(), second.tolist(), strict=True)) == [(0, 2), (1, 3), (4, 5)]


def test_a_lone_pair_colliding_in_high_bits_is_not_taken_for_an_edge() -> None:
    # With 4 slots the sort keeps all but the low 2 bits: the first two keys look alike.
    high = 0xFF00_0000_0000_0000
    keys = np.array([high | 1, high | 2, 0x100, 0x100], dtype=np.uint64)

    first, second = _paired_edges(
        keys, packed=np.empty(4, dtype=np.uint64), scratch=np.empty(4, dtype=np.uint64)
    )

    assert list(zip(first.tolist(), second.tolist(), strict=True)) == [(2, 3)]
