"""TrimeshDfmAnalyzer: the DfmAnalyzer port, quick_info in process, analyze sandboxed."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import structlog

from domain.catalog import PrinterProfile
from domain.errors import DomainError, FileTooLarge, InvalidModelFile
from infra.dfm.loading import load_model
from infra.dfm.params import DfmParams
from infra.dfm.report import summary_of
from infra.dfm.worker import analyze_task, prepare
from infra.sandbox import OwnsSandbox, Sandbox

_MB = 1024 * 1024
log = structlog.get_logger("fabledger.dfm")


class TrimeshDfmAnalyzer(OwnsSandbox):
    """Printability analysis of STL/OBJ/3MF bytes; call close() to stop the worker pool."""

    def __init__(
        self,
        max_bytes: int,
        timeout_seconds: float = 20.0,
        memory_mb: int = 1024,
        workers: int = 2,
        params: DfmParams | None = None,
    ) -> None:
        # memory_mb is what one analysis may allocate: each worker's address space is capped
        # (RLIMIT_AS) at its warmed-up size plus memory_mb. timeout_seconds runs from the
        # moment a free worker takes the call, not from when the call was made.
        self.max_bytes = max_bytes
        self.params = params or DfmParams()
        self.sandbox = Sandbox(
            workers,
            memory_mb,
            timeout_seconds,
            prepare,
            (memory_mb, self.params),
            name="dfm",
            preload=("infra.dfm.worker",),
        )

    def quick_info(self, data: bytes, filename: str) -> dict[str, Any]:
        """Dimensions, volume, area, triangles, bodies, watertight/manifold/winding flags."""
        started = time.perf_counter()
        try:
            model = load_model(data, filename, self.max_bytes, self.params.max_faces, orient=False)
        except DomainError:
            raise
        except MemoryError:
            raise InvalidModelFile("model too complex") from None
        except Exception as exc:
            log.exception("dfm_quick_info_crashed", filename=filename[:100])
            raise InvalidModelFile(f"could not analyse the model ({type(exc).__name__})") from None
        return {**summary_of(model), "analysis_ms": _ms_since(started)}

    def analyze(
        self, data: bytes, filename: str, printers: Sequence[PrinterProfile]
    ) -> dict[str, Any]:
        """The printability report, computed in a worker within the time and memory limits."""
        # Refused here, before the bytes are copied to a worker.
        if len(data) > self.max_bytes:
            raise FileTooLarge(f"file is larger than the {self.max_bytes / _MB:g} MB limit")
        started = time.perf_counter()
        report = self.sandbox.run(
            analyze_task, data, filename, self.max_bytes, self.params, tuple(printers)
        )
        report["analysis_ms"] = _ms_since(started)
        return report


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 1)
