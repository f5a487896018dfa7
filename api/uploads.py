"""Reading multipart uploads within the size cap."""

from __future__ import annotations

from pathlib import Path

from fastapi import UploadFile

from domain.errors import FileTooLarge, InvalidModelFile

CHUNK = 1024 * 1024


async def read_upload(upload: UploadFile, max_bytes: int) -> tuple[bytes, str]:
    """The file's bytes and base name; 413 past the cap, 422 when empty."""
    filename = Path(upload.filename or "").name
    if not filename:
        raise InvalidModelFile("model_file must have a file name ending in .stl, .obj or .3mf")
    chunks, size = [], 0
    while chunk := await upload.read(CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise FileTooLarge(f"file is larger than the {max_bytes // (1024 * 1024)} MB limit")
        chunks.append(chunk)
    if size == 0:
        raise InvalidModelFile("the uploaded file is empty")
    return b"".join(chunks), filename
