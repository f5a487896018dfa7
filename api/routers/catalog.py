"""Public catalog data: the materials on offer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import ContainerDep
from api.schemas.catalog import MaterialList
from api.schemas.errors import ANY, errors
from infra.bootstrap import Container

router = APIRouter(tags=["catalog"])


@router.get("/api/materials", response_model=MaterialList, responses=errors(*ANY))
def list_materials(container: ContainerDep) -> dict[str, Any]:
    """Active materials with display name, colours and density."""
    return materials_payload(container)


def materials_payload(container: Container) -> dict[str, Any]:
    """The materials list shared by the storefront and the developer API."""
    materials = [
        {
            "name": m.code,
            "display_name": m.display_name,
            "density_g_cm3": m.density_g_cm3,
            "colors": list(m.colors),
        }
        for m in sorted(container.catalog.materials().values(), key=lambda m: m.code)
        if m.active
    ]
    return {"materials": materials}
