"""What runs inside a sandbox worker: the pool initializer and the analysis task."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog
import trimesh

from domain.catalog import DEFAULT_PRINTER, PrinterProfile
from domain.errors import DomainError, InvalidModelFile
from infra.dfm.params import DfmParams
from infra.dfm.report import analyze_bytes
from infra.sandbox import cap_address_space

log = structlog.get_logger("fabledger.dfm")


def prepare(memory_mb: int, params: DfmParams) -> None:
    """Pool initializer: warm the analysis up, then cap the worker's address space."""
    # One analysis of a cube maps the libraries' lazy allocations before the cap.
    cube = bytes(trimesh.creation.box(extents=(10.0, 10.0, 10.0)).export(file_type="stl"))
    analyze_bytes(cube, "warm-up.stl", len(cube), params, [DEFAULT_PRINTER])
    cap_address_space(memory_mb)


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
