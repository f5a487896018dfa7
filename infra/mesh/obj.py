"""Wavefront OBJ reader: refuse references to other files, then let trimesh parse the text."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from trimesh.exchange.obj import load_obj
from trimesh.geometry import triangulate_quads

from domain.errors import InvalidModelFile
from infra.mesh.corners import Corners, from_indexed

# Statements that pull in another file (material libraries, sub-objects, shell commands,
# texture maps). A model upload must be self-contained: we never fetch anything it names.
_REFERENCE = re.compile(
    r"^[ \t]*(mtllib|call|csh|maplib|usemap|shadow_obj|trace_obj|map_\w+|bump|disp|decal|refl)"
    r"\b[ \t]*([^\n]*)",
    re.MULTILINE | re.IGNORECASE,
)
# usemtl only names a material, but a path-like name is an attempt to point at a file.
_PATH_LIKE_MATERIAL = re.compile(r"^[ \t]*usemtl[ \t]+([^\n]*[/\\:][^\n]*)", re.MULTILINE)
_FACE_LINE = re.compile(r"^[ \t]*f[ \t]", re.MULTILINE)


def parse_obj(data: bytes, max_faces: int) -> Corners:
    """Triangles of an OBJ file, all objects and groups together."""
    if b"\x00" in data:
        raise InvalidModelFile("OBJ file is binary data, not text")
    # The geometry is ASCII; undecodable bytes can only sit in names and comments.
    text = data.decode("utf-8", errors="replace")
    # Same normalisation trimesh applies, so a statement split by a line continuation
    # ("mtl\<newline>lib") is screened as trimesh will read it.
    text = text.replace("\r\n", "\n").replace("\\\n", "")
    _refuse_references(text)
    # Each face line yields at least one triangle: refuse early, before trimesh works.
    if len(_FACE_LINE.findall(text)) > max_faces:
        raise InvalidModelFile(f"model has more than {max_faces} triangles")
    loaded = load_obj(
        io.StringIO(text),
        resolver=None,  # nothing can be fetched, whatever the text says
        skip_materials=True,
        group_material=False,
        split_objects=False,
        split_groups=False,
    )
    vertices, faces = _concatenate(loaded.get("geometry", {}).values())
    if len(faces) > max_faces:
        raise InvalidModelFile(f"model has {len(faces)} triangles; the limit is {max_faces}")
    return from_indexed(vertices, faces)


def _refuse_references(text: str) -> None:
    """Raise if any statement names another file."""
    found = _REFERENCE.search(text)
    if found is None:
        found = _PATH_LIKE_MATERIAL.search(text)
        if found is None:
            return
        statement = f"usemtl {found.group(1).strip()}"
    else:
        statement = f"{found.group(1)} {found.group(2).strip()}".strip()
    # The statement is echoed back to the uploader: printable characters only.
    shown = "".join(c if c.isprintable() else "?" for c in statement[:60])
    raise InvalidModelFile(f"OBJ files may not reference other files ({shown})")


def _concatenate(
    geometries: Iterable[Mapping[str, Any]],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """One vertex table and face list from trimesh's per-object pieces."""
    vertex_blocks = []
    face_blocks = []
    offset = 0
    for geometry in geometries:
        vertices = np.asarray(geometry.get("vertices"), dtype=np.float64).reshape(-1, 3)
        # trimesh hands quads and polygons back untriangulated; its constructor would fan
        # them, and so do we.
        faces = triangulate_quads(geometry.get("faces", [])).reshape(-1, 3)
        vertex_blocks.append(vertices)
        face_blocks.append(faces + offset)
        offset += len(vertices)
    if not face_blocks:
        return np.empty((0, 3)), np.empty((0, 3), dtype=np.int64)
    return np.concatenate(vertex_blocks), np.concatenate(face_blocks)
