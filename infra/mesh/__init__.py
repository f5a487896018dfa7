"""Mesh analysis adapter: STL, OBJ and 3MF uploads measured with numpy, trimesh and lxml."""

from infra.mesh.analyzer import TrimeshAnalyzer

__all__ = ["TrimeshAnalyzer"]
