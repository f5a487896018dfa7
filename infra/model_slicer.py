"""The application's Slicer port: a stored model file sliced by PrusaSlicer, G-code kept."""

from __future__ import annotations

import tempfile
from pathlib import Path

from domain.errors import DomainError
from domain.slicing import SliceFailure, SliceProfile, SliceResult, SlicingFailed
from infra.gcode_store import GcodeStore
from infra.model_store import FileModelStore
from infra.slicer import PrusaSlicer, plain_stl


class ModelSlicer:
    """Reads the model by its digest, hands the slicer only its triangles, keeps the G-code."""

    def __init__(
        self,
        models: FileModelStore,
        gcodes: GcodeStore,
        slicer: PrusaSlicer,
        *,
        timeout_s: float,
        memory_bytes: int,
        workroot: Path,
    ) -> None:
        self.models = models
        self.gcodes = gcodes
        self.slicer = slicer
        self.timeout_s = timeout_s
        self.memory_bytes = memory_bytes
        self.workroot = workroot
        workroot.mkdir(parents=True, exist_ok=True)

    def version(self) -> str:
        """The slicer's name and version."""
        return self.slicer.version()

    def slice_model(self, model_sha256: str, filename: str, profile: SliceProfile) -> SliceResult:
        """Slice one stored model; SlicingFailed (with the reason) when it gives no figures."""
        data = self.models.model_bytes(model_sha256)
        with tempfile.TemporaryDirectory(prefix="slice-", dir=self.workroot) as tmp:
            workdir = Path(tmp)
            try:
                model = plain_stl(data, filename, workdir / "model.stl")
            except (DomainError, ValueError) as error:  # our parsers refused the file
                raise SlicingFailed(SliceFailure.UNPRINTABLE, str(error)) from None
            result = self.slicer.slice(model, profile, workdir, self.timeout_s, self.memory_bytes)
            self.gcodes.put(self.slicer.gcode_path(workdir))
        return result
