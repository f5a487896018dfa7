"""STL reader: binary records straight from the buffer, ASCII by a line-anchored scan."""

from __future__ import annotations

import itertools
import re

import numpy as np

from domain.errors import InvalidModelFile
from infra.mesh.corners import Corners, from_triangles

_HEADER_BYTES = 80
_PREAMBLE_BYTES = _HEADER_BYTES + 4
_RECORD = np.dtype([("normal", "<f4", (3,)), ("vertices", "<f4", (3, 3)), ("attr", "<u2")])
_RECORD_BYTES = _RECORD.itemsize  # 50
# Some exporters pad the file; anything short of one more record is ignored.
_MAX_TRAILING_BYTES = _RECORD_BYTES - 1
# [ \t] rather than \s keeps each match on one line, so a run of blank lines cannot make
# the regex backtrack quadratically.
_VERTEX = re.compile(rb"^[ \t]*vertex[ \t]+(\S+)[ \t]+(\S+)[ \t]+(\S+)", re.MULTILINE)
_ASCII_CHUNK_BYTES = 4 * 1024 * 1024


def parse_stl(data: bytes, max_faces: int) -> Corners:
    """Triangles of a binary or ASCII STL file."""
    declared = _declared_count(data)
    ascii_like = _looks_like_ascii(data)
    # Binary headers may also begin with "solid", but the count after them holds NULs
    # (below 16.7M triangles) where text has none.
    text = ascii_like and b"\x00" not in data[:_PREAMBLE_BYTES]
    # Size first: only binary files satisfy 84 + 50 * n == size.
    fits = declared is not None and 0 <= len(data) - _binary_size(declared) <= _MAX_TRAILING_BYTES
    if fits and not text:
        return _parse_binary(data, declared or 0, max_faces)
    if ascii_like:
        corners = _parse_ascii(data, max_faces)
        if corners is not None:
            return corners
        if fits:
            return _parse_binary(data, declared or 0, max_faces)
        if text:
            raise InvalidModelFile("model has no triangles")
    if declared is not None and _binary_size(declared) > len(data):
        held = (len(data) - _PREAMBLE_BYTES) // _RECORD_BYTES
        raise InvalidModelFile(
            f"truncated binary STL: header declares {declared} triangles but the file holds {held}"
        )
    if declared is not None:
        raise InvalidModelFile(
            f"binary STL has {len(data) - _binary_size(declared)} bytes more than "
            f"its {declared} triangles need"
        )
    raise InvalidModelFile("file is neither a binary nor an ASCII STL")


def _looks_like_ascii(data: bytes) -> bool:
    """Whether the file opens with the ASCII keyword (after an optional BOM and blanks)."""
    head = data[:1024].removeprefix(b"\xef\xbb\xbf").lstrip()
    return head[:5].lower() == b"solid"


def _declared_count(data: bytes) -> int | None:
    """Triangle count from a binary header, if the file is long enough to have one."""
    if len(data) < _PREAMBLE_BYTES:
        return None
    return int.from_bytes(data[_HEADER_BYTES:_PREAMBLE_BYTES], "little")


def _binary_size(count: int) -> int:
    """Exact size of a binary STL with this many triangles."""
    return _PREAMBLE_BYTES + _RECORD_BYTES * count


def _parse_binary(data: bytes, count: int, max_faces: int) -> Corners:
    """Read the records without copying the file; the trailing attribute word is ignored."""
    _check_face_count(count, max_faces)
    records = np.frombuffer(data, dtype=_RECORD, count=count, offset=_PREAMBLE_BYTES)
    return from_triangles(records["vertices"])


def _parse_ascii(data: bytes, max_faces: int) -> Corners | None:
    """Vertices of an ASCII STL, or None when the text holds no vertex lines."""
    blocks = []
    vertex_count = 0
    for start, end in _line_aligned_chunks(data, _ASCII_CHUNK_BYTES):
        # Chunks bound the memory held by the regex's list of string tuples.
        found = _VERTEX.findall(data, start, end)
        if not found:
            continue
        # float() over the flattened tuples beats numpy's bytes-to-float cast by about 1.5x.
        numbers = map(float, itertools.chain.from_iterable(found))
        try:
            blocks.append(np.fromiter(numbers, dtype=np.float64, count=3 * len(found)))
        except ValueError:
            raise InvalidModelFile(
                "ASCII STL has a vertex coordinate that is not a number"
            ) from None
        vertex_count += len(found)
        _check_face_count(vertex_count // 3, max_faces)
    if not blocks:
        return None
    if vertex_count % 3:
        raise InvalidModelFile(
            f"ASCII STL has {vertex_count} vertices, which is not three per facet"
        )
    vertices = np.concatenate(blocks)
    return from_triangles(vertices.reshape(-1, 3, 3))


def _line_aligned_chunks(data: bytes, size: int) -> list[tuple[int, int]]:
    """(start, end) spans of about size bytes, each ending just after a newline."""
    spans = []
    start = 0
    while start < len(data):
        end = data.find(b"\n", min(start + size, len(data)))
        end = len(data) if end < 0 else end + 1
        spans.append((start, end))
        start = end
    return spans


def _check_face_count(count: int, max_faces: int) -> None:
    """Refuse meshes above the triangle limit before spending memory on them."""
    if count > max_faces:
        raise InvalidModelFile(f"model has {count} triangles; the limit is {max_faces}")
