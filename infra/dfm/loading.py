"""From uploaded bytes to a checked, indexed, outward-wound mesh and its edge topology."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from domain.errors import InvalidModelFile
from domain.models import MeshSummary
from infra.dfm.edges import EdgeTopology, edge_topology
from infra.dfm.indexed import IndexedMesh
from infra.mesh import TrimeshAnalyzer
from infra.mesh.corners import Corners
from infra.mesh.obj import parse_obj
from infra.mesh.stl import parse_stl
from infra.mesh.threemf import parse_3mf

# Matches the parser's own allowance: XML inflates 5-20x, so a 3MF may unpack to 5x the cap.
_UNPACK_FACTOR = 5


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to analyse: the parser's summary, the mesh, how its edges meet."""

    summary: MeshSummary
    mesh: IndexedMesh
    topology: EdgeTopology
    inverted_bodies: int  # closed bodies that were inside out (and are now flipped)


def load_model(
    data: bytes, filename: str, max_bytes: int, max_faces: int, *, orient: bool = True
) -> LoadedModel:
    """Check the file with the mesh parser, then index it; raises InvalidModelFile/FileTooLarge."""
    # The parser's analyze owns every refusal (size, format, hostile content) and its
    # wording; a second parse of accepted bytes is cheap next to the analysis that follows.
    summary = TrimeshAnalyzer(max_bytes=max_bytes, max_faces=max_faces).analyze(data, filename)
    corners = _parse(summary.file_format, data, max_bytes, max_faces)
    mesh = IndexedMesh.from_corners(corners)
    topology = edge_topology(mesh)
    # Orientation matters to rays and overhangs, not to the summary: quick_info skips it.
    mesh, inverted = _wind_outward(mesh, topology) if orient else (mesh, 0)
    return LoadedModel(summary, mesh, topology, inverted)


def _parse(file_format: str, data: bytes, max_bytes: int, max_faces: int) -> Corners:
    """The parser's triangles for a format it already accepted."""
    parsers: dict[str, Callable[[], Corners]] = {
        "stl": lambda: parse_stl(data, max_faces),
        "obj": lambda: parse_obj(data, max_faces),
        "3mf": lambda: parse_3mf(data, max_faces, _UNPACK_FACTOR * max_bytes),
    }
    try:
        return parsers[file_format]()
    except InvalidModelFile:
        raise
    except Exception as exc:
        raise InvalidModelFile(f"could not parse {file_format.upper()} file") from exc


def _wind_outward(mesh: IndexedMesh, topology: EdgeTopology) -> tuple[IndexedMesh, int]:
    """Flip closed, consistently wound bodies that enclose negative volume (inside out)."""
    labels = topology.body_labels
    volumes = np.bincount(labels, weights=mesh.signed_volumes, minlength=topology.body_count)
    # Only a closed, consistent body has a meaningful sign; an open one is left as drawn.
    trusted = ~topology.open_bodies & ~topology.misoriented_bodies
    inverted = trusted & (volumes < 0.0)
    if not inverted.any():
        return mesh, 0
    return mesh.flipped(inverted[labels]), int(inverted.sum())
