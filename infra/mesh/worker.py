"""What runs inside a mesh sandbox worker: the pool initializer and the analysis task."""

from __future__ import annotations

import trimesh

from domain.errors import DomainError
from domain.models import MeshSummary
from infra.mesh.analyzer import TrimeshAnalyzer
from infra.sandbox import cap_address_space


def prepare(memory_mb: int) -> None:
    """Pool initializer: parse a cube in each text and binary path, then cap the worker."""
    # The first parse maps numpy's and scipy's lazy allocations; done before the cap, they
    # do not eat unevenly into what an upload may use.
    cube = trimesh.creation.box(extents=(10.0, 10.0, 10.0))
    analyzer = TrimeshAnalyzer()
    for file_type in ("stl", "obj"):
        exported = cube.export(file_type=file_type)
        data = exported.encode() if isinstance(exported, str) else bytes(exported)
        analyzer.analyze(data, f"warm-up.{file_type}")
    cap_address_space(memory_mb)


def analyze_task(data: bytes, filename: str, max_bytes: int, max_faces: int) -> MeshSummary:
    """The sandboxed analysis; a refusal caused by the memory cap travels back as MemoryError."""
    try:
        return TrimeshAnalyzer(max_bytes=max_bytes, max_faces=max_faces).analyze(data, filename)
    except DomainError as refusal:
        # The analyzer turns MemoryError into "model too complex" (or a parse error): under
        # the cap that is ours to name, so the caller hears which limit the file broke.
        if _caused_by_memory(refusal):
            raise MemoryError from None
        raise


def _caused_by_memory(error: BaseException) -> bool:
    """Whether a MemoryError is anywhere in the error's cause/context chain."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, MemoryError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
