"""What runs inside a sandbox worker: the pool initializer and the analysis task."""

from __future__ import annotations

import os
import resource
from collections.abc import Sequence
from typing import Any

import structlog
import trimesh

from domain.catalog import DEFAULT_PRINTER, PrinterProfile
from domain.errors import DomainError, InvalidModelFile
from infra.dfm.params import DfmParams
from infra.dfm.report import analyze_bytes

_MB = 1024 * 1024
log = structlog.get_logger("fabledger.dfm")


def prepare(memory_mb: int, params: DfmParams) -> None:
    """Pool initializer: warm the analysis up, then cap the worker's address space."""
    # Libraries map most of their address space lazily (Embree's thread pool alone takes
    # ~250 MB of it on first use): one analysis of a cube makes that happen before the cap,
    # so memory_mb is what an analysis may add, not a figure libraries eat into unevenly.
    cube = bytes(trimesh.creation.box(extents=(10.0, 10.0, 10.0)).export(file_type="stl"))
    analyze_bytes(cube, "warm-up.stl", len(cube), params, [DEFAULT_PRINTER])
    limit = _address_space_bytes() + memory_mb * _MB
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)  # never above what the service itself was granted
    # Soft and hard alike: the analysis cannot raise its own cap back.
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def analyze_task(
    data: bytes,
    filename: str,
    max_bytes: int,
    params: DfmParams,
    printers: Sequence[PrinterProfile],
) -> dict[str, Any]:
    """The sandboxed analysis; MemoryError and refusals travel back to the caller."""
    try:
        return analyze_bytes(data, filename, max_bytes, params, printers)
    except DomainError as refusal:
        # The parser turns MemoryError into "model too complex": under the cap that is ours.
        if isinstance(refusal.__context__, MemoryError):
            raise MemoryError from None
        raise
    except MemoryError:
        raise
    except Exception as exc:
        # Whatever the geometry, a crash on an uploaded file is reported as a bad file.
        log.exception("dfm_analysis_crashed", filename=filename[:100])
        raise InvalidModelFile(f"could not analyse the model ({type(exc).__name__})") from None


def _address_space_bytes() -> int:
    """The process's current virtual size (Linux /proc), or 0 when unknown."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")
