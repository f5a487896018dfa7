"""DFM adapter: printability analysis of STL/OBJ/3MF uploads, heavy work in a sandboxed pool."""

from infra.dfm.analyzer import TrimeshDfmAnalyzer
from infra.dfm.params import DfmParams

__all__ = ["DfmParams", "TrimeshDfmAnalyzer"]
