"""Streaming, entity-free parser for one 3MF model part (core spec + production paths)."""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from lxml import etree

from domain.errors import InvalidModelFile

CORE = "http://schemas.microsoft.com/3dmanufacturing/core/2015/02"
PRODUCTION = "http://schemas.microsoft.com/3dmanufacturing/production/2015/06"
_PATH = f"{{{PRODUCTION}}}path"
# No 3MF part needs a DTD; refusing declarations before libxml2 sees them rules out
# entity expansion ("billion laughs") and external entities whatever the parser does.
_DECLARATION = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_DECLARATION_OVERLAP = 16
_NOT_UTF8 = (b"\xff\xfe", b"\xfe\xff", b"\x00", b"<\x00")

# Row-vector affine map, 3MF order: rows 0-2 are the linear part, row 3 the translation.
Affine = npt.NDArray[np.float64]
IDENTITY: Affine = np.vstack((np.eye(3), np.zeros((1, 3))))


@dataclass(frozen=True)
class Reference:
    """A build item or component: an object, maybe in another part, placed by a transform."""

    object_id: str
    path: str | None
    transform: Affine


@dataclass
class ModelObject:
    """One <object>: its own mesh and/or components."""

    vertices: array[float] = field(default_factory=lambda: array("d"))
    triangles: array[int] = field(default_factory=lambda: array("q"))
    components: list[Reference] = field(default_factory=list)

    def triangle_table(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """Vertices (k, 3) and triangles (m, 3) as arrays."""
        vertices = np.frombuffer(self.vertices, dtype=np.float64).reshape(-1, 3)
        triangles = np.frombuffer(self.triangles, dtype=np.int64).reshape(-1, 3)
        return vertices, triangles


@dataclass
class ModelPart:
    """What one .model file declares."""

    unit: str = "millimeter"
    objects: dict[str, ModelObject] = field(default_factory=dict)
    items: list[Reference] = field(default_factory=list)
    triangle_count: int = 0


def parse_model_part(chunks: Iterable[bytes], budget: int, max_faces: int) -> ModelPart:
    """Parse a model part from byte chunks, keeping only the current element in memory.

    budget is how many triangles this part may still hold of the model's max_faces.
    """
    parser = etree.XMLPullParser(
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,  # keeps libxml2's depth and node-size limits
        remove_comments=True,
        remove_pis=True,
    )
    reader = _PartReader(budget, max_faces)
    tail = b""
    try:
        for chunk in chunks:
            refuse_declarations(chunk, tail)
            tail = (tail + chunk)[-_DECLARATION_OVERLAP:]
            parser.feed(chunk)
            reader.consume(parser.read_events())
        parser.close()
        reader.consume(parser.read_events())
    except etree.XMLSyntaxError as exc:
        raise InvalidModelFile(f"3MF model part is not well-formed XML: {exc.msg}") from None
    return reader.part


def refuse_declarations(chunk: bytes, tail: bytes = b"") -> None:
    """Refuse non-UTF-8 XML and any DTD or entity declaration, before a parser sees it."""
    if not tail and chunk.startswith(_NOT_UTF8):
        raise InvalidModelFile("3MF part is not UTF-8 XML")
    # tail carries the end of the previous chunk, so a split keyword is still caught.
    if _DECLARATION.search(tail + chunk):
        raise InvalidModelFile("3MF part declares a DTD or entities, which are not allowed")


class _PartReader:
    """Turns pull-parser events into a ModelPart, freeing each element once read."""

    def __init__(self, budget: int, max_faces: int) -> None:
        self.part = ModelPart()
        self._budget = budget
        self._max_faces = max_faces
        self._object: ModelObject | None = None
        self._object_id = ""

    def consume(self, events: Iterable[tuple[str, etree._Element]]) -> None:
        """Handle a batch of events."""
        for event, element in events:
            name = _core_name(element.tag)
            if event == "start":
                self._start(name, element)
                continue
            self._end(name, element)
            # Drop what has been read so memory stays flat however long the part is.
            element.clear()
            parent = element.getparent()
            if parent is not None:
                while element.getprevious() is not None:
                    del parent[0]

    def _start(self, name: str | None, element: etree._Element) -> None:
        if name == "model":
            self.part.unit = element.get("unit", "millimeter")
        elif name == "object":
            object_id = _required(element, "object", "id")
            if object_id in self.part.objects:
                raise InvalidModelFile(f"3MF object id {object_id[:20]} is declared twice")
            self._object, self._object_id = ModelObject(), object_id
            self.part.objects[object_id] = self._object

    def _end(self, name: str | None, element: etree._Element) -> None:
        if name == "vertex":
            self._current(name).vertices.extend(
                [
                    _number(element, name, "x"),
                    _number(element, name, "y"),
                    _number(element, name, "z"),
                ]
            )
        elif name == "triangle":
            self.part.triangle_count += 1
            if self.part.triangle_count > self._budget:
                raise InvalidModelFile(f"model has more than {self._max_faces} triangles")
            self._current(name).triangles.extend(
                [_index(element, "v1"), _index(element, "v2"), _index(element, "v3")]
            )
        elif name == "component":
            self._current(name).components.append(_reference(element, name))
        elif name == "item":
            self.part.items.append(_reference(element, name))
        elif name == "object" and self._object is not None:
            _check_indices(self._object, self._object_id)
            self._object = None

    def _current(self, name: str) -> ModelObject:
        if self._object is None:
            raise InvalidModelFile(f"3MF <{name}> appears outside an <object>")
        return self._object


def _core_name(tag: object) -> str | None:
    """Local name of a core-namespace (or unqualified) element; None for anything else."""
    if not isinstance(tag, str):
        return None
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return local if namespace == CORE else None
    return tag


def _required(element: etree._Element, name: str, attribute: str) -> str:
    value = element.get(attribute)
    if value is None:
        raise InvalidModelFile(f"3MF <{name}> is missing its '{attribute}' attribute")
    return str(value)


def _number(element: etree._Element, name: str, attribute: str) -> float:
    raw = _required(element, name, attribute)
    try:
        return float(raw)
    except ValueError:
        raise InvalidModelFile(f"3MF <{name}> {attribute}={raw[:20]!r} is not a number") from None


def _index(element: etree._Element, attribute: str) -> int:
    raw = _required(element, "triangle", attribute)
    try:
        return int(raw)
    except ValueError:
        raise InvalidModelFile(f"3MF <triangle> {attribute}={raw[:20]!r} is not an index") from None


def _reference(element: etree._Element, name: str) -> Reference:
    path = element.get(_PATH)
    return Reference(
        object_id=_required(element, name, "objectid"),
        path=None if path is None else str(path),
        transform=_transform(element.get("transform")),
    )


def _transform(raw: str | None) -> Affine:
    """Parse the 12-number 3MF matrix (m00 m01 m02 m10 ... m32)."""
    if raw is None:
        return IDENTITY
    try:
        values = [float(token) for token in raw.split()]
    except ValueError:
        values = []
    if len(values) != 12:
        raise InvalidModelFile("3MF transform must hold 12 numbers")
    return np.array(values, dtype=np.float64).reshape(4, 3)


def _check_indices(model_object: ModelObject, object_id: str) -> None:
    """Every triangle must name vertices of its own object."""
    vertices, triangles = model_object.triangle_table()
    if len(triangles) and (triangles.min() < 0 or triangles.max() >= len(vertices)):
        raise InvalidModelFile(
            f"3MF object {object_id[:20]} has a triangle referring to a missing vertex"
        )
