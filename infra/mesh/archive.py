"""ZIP handling for 3MF: judge the directory before inflating, then read within its word."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from domain.errors import InvalidModelFile

_MB = 1024 * 1024
_READ_CHUNK = 1024 * 1024
_END_OF_DIRECTORY = b"PK\x05\x06"
# The end-of-directory record sits in the last 22 bytes plus an optional 64 KiB comment.
_END_OF_DIRECTORY_REACH = 22 + 0xFFFF


@dataclass(frozen=True)
class ArchiveLimits:
    """What a 3MF archive may ask of us before we refuse it."""

    max_unpacked_bytes: int
    max_entries: int = 1000
    max_ratio: float = 100.0
    # Entries this small cannot hurt, whatever their ratio (a 2 KiB manifest of repeats).
    ratio_floor_bytes: int = _MB


def open_archive(data: bytes, limits: ArchiveLimits) -> zipfile.ZipFile:
    """Open the ZIP in memory after checking every declared size; inflates nothing."""
    _refuse_crowded_directory(data, limits)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise InvalidModelFile("not a 3MF file: it is not a ZIP archive") from None
    entries = archive.infolist()
    if len(entries) > limits.max_entries:
        raise InvalidModelFile(
            f"3MF archive has too many entries ({len(entries)}; the limit is {limits.max_entries})"
        )
    total = 0
    for entry in entries:
        _check_entry(entry, limits)
        total += entry.file_size
    if total > limits.max_unpacked_bytes:
        raise InvalidModelFile(
            f"3MF archive would unpack to {total / _MB:.0f} MB; "
            f"the limit is {limits.max_unpacked_bytes / _MB:.0f} MB"
        )
    return archive


def read_entry(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> Iterator[bytes]:
    """The entry's bytes in chunks, stopping if more come out than the directory declared."""
    produced = 0
    with archive.open(entry) as stream:
        while chunk := stream.read(_READ_CHUNK):
            produced += len(chunk)
            # zipfile already stops at the declared size; this keeps the promise explicit
            # should that ever change, since the declared size is what we vetted.
            if produced > entry.file_size:
                raise InvalidModelFile(
                    f"3MF entry '{entry.filename}' unpacks to more than its declared size"
                )
            yield chunk


def _refuse_crowded_directory(data: bytes, limits: ArchiveLimits) -> None:
    """Read the entry count from the end record so a huge directory is never parsed."""
    position = data.rfind(_END_OF_DIRECTORY, max(0, len(data) - _END_OF_DIRECTORY_REACH))
    if position < 0 or position + 12 > len(data):
        return  # not a ZIP at all: zipfile gives the precise complaint
    declared = int.from_bytes(data[position + 10 : position + 12], "little")
    # 0xFFFF means "see the ZIP64 record": far beyond any honest 3MF either way.
    if declared > limits.max_entries:
        raise InvalidModelFile(
            f"3MF archive has too many entries ({declared}; the limit is {limits.max_entries})"
        )


def _check_entry(entry: zipfile.ZipInfo, limits: ArchiveLimits) -> None:
    """Refuse encrypted, exotic, oversized or suspiciously compressible entries."""
    name = entry.filename[:80]
    if entry.flag_bits & 0x1:
        raise InvalidModelFile(f"3MF entry '{name}' is encrypted")
    # OPC (and so 3MF) allows only stored and deflated parts; refusing the rest also keeps
    # bzip2/LZMA decoders and their own bomb behaviour out of reach.
    if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise InvalidModelFile(f"3MF entry '{name}' uses an unsupported compression method")
    if entry.file_size > limits.max_unpacked_bytes:
        raise InvalidModelFile(
            f"3MF entry '{name}' would unpack to {entry.file_size / _MB:.0f} MB; "
            f"the limit is {limits.max_unpacked_bytes / _MB:.0f} MB"
        )
    ratio = entry.file_size / max(entry.compress_size, 1)
    if entry.file_size > limits.ratio_floor_bytes and ratio > limits.max_ratio:
        raise InvalidModelFile(
            f"3MF entry '{name}' is compressed {ratio:.0f}:1 "
            f"(limit {limits.max_ratio:.0f}:1), which looks like a zip bomb"
        )
