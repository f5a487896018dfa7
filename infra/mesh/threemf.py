"""3MF reader: vetted archive, root model from the package relationships, build composed."""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from lxml import etree

from domain.errors import InvalidModelFile
from infra.mesh.archive import ArchiveLimits, open_archive, read_entry
from infra.mesh.corners import Corners, from_triangles
from infra.mesh.threemf_model import (
    Affine,
    ModelObject,
    ModelPart,
    Reference,
    parse_model_part,
    refuse_declarations,
)

_MODEL_RELATIONSHIP = "http://schemas.microsoft.com/3dmanufacturing/2013/01/3dmodel"
_RELATIONSHIPS = "_rels/.rels"
_DEFAULT_MODEL = "3d/3dmodel.model"
_MAX_RELATIONSHIP_BYTES = 1024 * 1024
_MAX_PARTS = 256
_MAX_DEPTH = 32
# Each placed object costs a few numpy calls: bound them, not just the triangles.
_MAX_INSTANCES = 10_000
_MM_PER_UNIT = {
    "micron": 0.001,
    "millimeter": 1.0,
    "centimeter": 10.0,
    "inch": 25.4,
    "foot": 304.8,
    "meter": 1000.0,
}

Key = tuple[str, str]  # (part name, object id)


def parse_3mf(data: bytes, max_faces: int, max_unpacked_bytes: int) -> Corners:
    """Triangles of every build item, placed by its transforms, in millimetres."""
    archive = open_archive(data, ArchiveLimits(max_unpacked_bytes=max_unpacked_bytes))
    try:
        entries = {_part_name(entry.filename): entry for entry in archive.infolist()}
        root = _root_model(archive, entries)
        parts = _load_parts(archive, entries, root, max_faces)
        return _Assembly(parts, root, max_faces).corners()
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise InvalidModelFile(f"3MF archive is corrupt: {exc}") from None
    finally:
        archive.close()


def _part_name(name: str) -> str:
    """OPC part names are absolute and case-insensitive."""
    return name.lstrip("/").lower()


def _root_model(archive: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo]) -> str:
    """Name of the start part, as the package relationships declare it."""
    relationships = entries.get(_RELATIONSHIPS)
    if relationships is not None and relationships.file_size <= _MAX_RELATIONSHIP_BYTES:
        text = b"".join(read_entry(archive, relationships))
        refuse_declarations(text)
        parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
        )
        try:
            tree = etree.fromstring(text, parser)
        except etree.XMLSyntaxError:
            raise InvalidModelFile("3MF relationships part is not well-formed XML") from None
        for relationship in tree.iter("{*}Relationship"):
            if relationship.get("Type") == _MODEL_RELATIONSHIP and relationship.get("Target"):
                return _part_name(str(relationship.get("Target")))
    if _DEFAULT_MODEL in entries:
        return _DEFAULT_MODEL
    raise InvalidModelFile("not a 3MF file: the archive holds no 3D model part")


def _load_parts(
    archive: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo], root: str, max_faces: int
) -> dict[str, ModelPart]:
    """The root part and every part its objects reach through production-extension paths."""
    parts: dict[str, ModelPart] = {}
    pending = [(root, root)]  # (part name, as the file spells it)
    # One triangle budget for the whole archive, so splitting a mesh over many parts
    # buys no extra memory.
    budget = max_faces
    while pending:
        name, spelled = pending.pop()
        if name in parts:
            continue
        entry = entries.get(name)
        if entry is None:
            raise InvalidModelFile(f"3MF model refers to a missing part '{spelled[:80]}'")
        if len(parts) >= _MAX_PARTS:
            raise InvalidModelFile("3MF model spans too many parts")
        part = parse_model_part(read_entry(archive, entry), budget, max_faces)
        budget -= part.triangle_count
        parts[name] = part
        references = [*part.items, *(c for o in part.objects.values() for c in o.components)]
        pending.extend((_part_name(ref.path), ref.path) for ref in references if ref.path)
    return parts


@dataclass(frozen=True)
class _Extent:
    """How much geometry an object expands to, components included."""

    triangles: int
    instances: int


class _Assembly:
    """Resolves build items and components into one triangle array."""

    def __init__(self, parts: dict[str, ModelPart], root: str, max_faces: int) -> None:
        self._parts = parts
        self._root = root
        self._max_faces = max_faces
        self._extents: dict[Key, _Extent] = {}
        unit = parts[root].unit
        if unit not in _MM_PER_UNIT:
            raise InvalidModelFile(f"3MF unit '{unit[:20]}' is not one the specification allows")
        self._scale = _MM_PER_UNIT[unit]

    def corners(self) -> Corners:
        """Every placed triangle, after checking the whole build stays within limits."""
        root_items = self._parts[self._root].items
        items = [(self._key(self._root, item), item.transform) for item in root_items]
        if not items:
            raise InvalidModelFile("3MF build has no items to print")
        triangles = sum(self._extent(key, ()).triangles for key, _ in items)
        instances = sum(self._extent(key, ()).instances for key, _ in items)
        # Totals are counted symbolically first, so a component "bomb" (objects that each
        # place many copies of the next) is refused before anything is expanded.
        if triangles > self._max_faces:
            raise InvalidModelFile(
                f"3MF build expands to {triangles} triangles; the limit is {self._max_faces}"
            )
        if instances > _MAX_INSTANCES:
            raise InvalidModelFile(f"3MF build places more than {_MAX_INSTANCES} objects")
        pieces: list[npt.NDArray[np.float64]] = []
        for key, transform in items:
            self._place(key, transform, pieces)
        if not pieces:
            return from_triangles(np.empty((0, 3, 3)))
        return from_triangles(np.concatenate(pieces) * self._scale)

    def _key(self, part: str, reference: Reference) -> Key:
        return (_part_name(reference.path) if reference.path else part, reference.object_id)

    def _extent(self, key: Key, stack: tuple[Key, ...]) -> _Extent:
        if key in self._extents:
            return self._extents[key]
        if key in stack:
            raise InvalidModelFile("3MF components refer to each other in a cycle")
        if len(stack) >= _MAX_DEPTH:
            raise InvalidModelFile("3MF components are nested too deeply")
        model_object = self._object(key)
        triangles = len(model_object.triangles) // 3
        instances = 1 if triangles else 0
        for component in model_object.components:
            child = self._extent(self._key(key[0], component), (*stack, key))
            triangles += child.triangles
            instances += child.instances
        self._extents[key] = _Extent(triangles, instances)
        return self._extents[key]

    def _place(self, key: Key, transform: Affine, pieces: list[npt.NDArray[np.float64]]) -> None:
        model_object = self._object(key)
        vertices, triangles = model_object.triangle_table()
        if len(triangles):
            placed = vertices[triangles] @ transform[:3] + transform[3]
            # A mirroring transform turns the surface inside out; restore the winding so
            # mirrored copies add volume rather than cancel it, as the 3MF spec requires.
            if np.linalg.det(transform[:3]) < 0:
                placed = placed[:, ::-1]
            pieces.append(placed)
        for component in model_object.components:
            # Row vectors: the component's own transform applies first, then its parent's.
            linear = component.transform[:3] @ transform[:3]
            offset = component.transform[3] @ transform[:3] + transform[3]
            self._place(self._key(key[0], component), np.vstack((linear, offset)), pieces)

    def _object(self, key: Key) -> ModelObject:
        part, object_id = key
        model_object = self._parts[part].objects.get(object_id)
        if model_object is None:
            raise InvalidModelFile(f"3MF build refers to a missing object {object_id[:20]}")
        return model_object
