"""Model files as HTTP answers: streamed from disk, byte ranges honoured, errors as JSON.

Starlette's FileResponse serves single and multiple byte ranges (206, Content-Range) and
answers If-Range; its own refusals are plain text. So the Range header is checked here
first, at least as strictly as FileResponse parses it: whatever passes, FileResponse
serves; whatever does not is refused with the {"error": ...} body (400 for a malformed
header, 416 with `Content-Range: bytes */size` for one no byte of the file satisfies).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi.responses import FileResponse, JSONResponse, Response

from api.errors import error_response
from domain.errors import NotFound

MEDIA_TYPES = {"stl": "model/stl", "obj": "model/obj", "3mf": "model/3mf"}
OTHER = "application/octet-stream"
MAX_RANGES = 16  # a 3D viewer asks for one; many tiny ranges are a way to burn CPU
_SPEC = re.compile(r"^\s*([0-9]*)\s*-\s*([0-9]*)\s*$")

_FILE_CONTENT: dict[str, Any] = {
    t: {"schema": {"type": "string", "format": "binary"}} for t in (*MEDIA_TYPES.values(), OTHER)
}
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The whole file.", "content": _FILE_CONTENT},
    206: {
        "description": "The requested byte range (Content-Range), or several as"
        " multipart/byteranges.",
        "content": {
            **_FILE_CONTENT,
            "multipart/byteranges": {"schema": {"type": "string", "format": "binary"}},
        },
    },
}


class RangeRefused(Exception):
    """A Range header that cannot be served: its status and why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def check_range(header: str, size: int) -> None:
    """Refuse a malformed (400) or unsatisfiable (416) `bytes=` range set; else nothing."""
    unit, _, specs = header.partition("=")
    if unit.strip().lower() != "bytes" or not specs.strip():
        raise RangeRefused(400, "Range: only bytes=first-last ranges are supported")
    parts = specs.split(",")
    if len(parts) > MAX_RANGES:
        raise RangeRefused(400, f"Range: at most {MAX_RANGES} ranges")
    for part in parts:
        match = _SPEC.match(part)
        if match is None or not (match[1] or match[2]):
            raise RangeRefused(400, f"Range: '{part.strip()[:40]}' is not first-last")
        first, last = match[1], match[2]
        if first and last and int(last) < int(first):
            raise RangeRefused(400, "Range: a range ends before it starts")
        if (first and int(first) >= size) or (not first and int(last) == 0):
            raise RangeRefused(416, f"Range: the file has {size} bytes")


def model_file(
    path: Path, filename: str, file_format: str, range_header: str | None, *, download: bool
) -> Response:
    """The file (whole, or the ranges asked for), or a JSON refusal of the Range header."""
    try:
        stat = path.stat()
    except FileNotFoundError as error:  # deleted with its model a moment ago
        raise NotFound("this model's file is missing") from error
    if range_header is not None:
        try:
            check_range(range_header, stat.st_size)
        except RangeRefused as refused:
            headers = (
                {"Content-Range": f"bytes */{stat.st_size}"} if refused.status == 416 else None
            )
            response: JSONResponse = error_response(
                refused.status, refused.message, headers=headers
            )
            return response
    return FileResponse(
        path,
        media_type=MEDIA_TYPES.get(file_format, OTHER),
        filename=filename,
        stat_result=stat,
        content_disposition_type="attachment" if download else "inline",
        # The bytes of one model never change; a new upload is a new model.
        headers={"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"},
    )
