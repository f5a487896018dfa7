"""Value objects describing an analysed 3D model (the summary kept in events)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

MODEL_FORMATS = ("stl", "obj", "3mf")


@dataclass(frozen=True)
class MeshSummary:
    """Geometry of an uploaded model in millimetres, as recorded on an order."""

    file_format: str
    dim_x_mm: float
    dim_y_mm: float
    dim_z_mm: float
    volume_cm3: float
    surface_area_cm2: float
    triangle_count: int
    body_count: int
    is_watertight: bool

    def to_dict(self) -> dict[str, Any]:
        """Primitive form, safe to store in an event."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MeshSummary:
        """Rebuild from the primitive form."""
        return cls(**data)
