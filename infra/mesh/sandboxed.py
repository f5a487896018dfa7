"""SandboxedMeshAnalyzer: the MeshAnalyzer port run in capped worker processes."""

from __future__ import annotations

from domain.models import MeshSummary
from infra.mesh.analyzer import screen
from infra.mesh.gate import UploadGate
from infra.mesh.worker import analyze_task, prepare
from infra.sandbox import OwnsSandbox, Sandbox

_MB = 1024 * 1024


class SandboxedMeshAnalyzer(OwnsSandbox):
    """Storefront mesh analysis off the API process, within memory, time and queue bounds.

    At most `workers` analyses run at once, each in a worker whose address space is capped
    at memory_mb above its warmed-up size and killed after timeout_seconds; up to
    max_waiting more callers wait for a worker, the rest get Unavailable (503) at once. The
    API holds `gate` around reading an upload and analysing it, so waiting requests keep
    their files spooled on disk: its memory grows by about `workers` uploads (each with its
    pickled copy on the way to a worker), whatever and however many files are sent.
    """

    def __init__(
        self,
        max_bytes: int = 50 * _MB,
        max_faces: int = 5_000_000,
        *,
        workers: int = 2,
        memory_mb: int = 1024,
        timeout_seconds: float = 20.0,
        max_waiting: int = 6,
    ) -> None:
        self.max_bytes = max_bytes
        self.max_faces = max_faces
        self.sandbox = Sandbox(
            workers,
            memory_mb,
            timeout_seconds,
            prepare,
            (memory_mb,),
            name="mesh",
            preload=("infra.mesh.worker",),
            max_waiting=max_waiting,
        )
        # For the API: the same bound, applied before a request reads its upload into memory.
        self.gate = UploadGate(workers, max_waiting, self.sandbox.queue_seconds)

    def analyze(self, data: bytes, filename: str) -> MeshSummary:
        """Summary of the model, or InvalidModelFile / FileTooLarge / Unavailable."""
        # Refused here, before the bytes are copied to a worker.
        screen(data, filename, self.max_bytes)
        return self.sandbox.run(analyze_task, data, filename, self.max_bytes, self.max_faces)
