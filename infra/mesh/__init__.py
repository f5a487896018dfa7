"""Mesh analysis adapter: STL, OBJ and 3MF uploads measured with numpy, trimesh and lxml."""

from infra.mesh.analyzer import TrimeshAnalyzer
from infra.mesh.gate import UploadGate
from infra.mesh.sandboxed import SandboxedMeshAnalyzer

__all__ = ["SandboxedMeshAnalyzer", "TrimeshAnalyzer", "UploadGate"]
