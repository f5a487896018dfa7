"""Print config — materials: staff CRUD on /api/admin and /api/mod (public list: catalog)."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Response

from api.deps import Caller, ContainerDep, require_role, staff_auth
from api.schemas.errors import STAFF, WITH_BODY, errors
from api.schemas.fleet import (
    ChangedMaterial,
    Deleted,
    MaterialBody,
    MaterialChanges,
    StaffMaterialList,
)
from application.print_config import MaterialEntry
from domain.errors import NotFound
from domain.material_records import CODE, material_id_for
from domain.money import to_paise
from domain.users import ADMIN, MODERATOR


def material_ref(raw: str) -> UUID:
    """A material's id, or its code (PLA); anything else names no material: 404."""
    try:
        return UUID(raw)
    except ValueError:
        if CODE.match(raw.strip().upper()):
            return material_id_for(raw.strip())
        raise NotFound("material not found") from None


def staff_material(entry: MaterialEntry) -> dict[str, Any]:
    """A material as staff see it."""
    m = entry.material
    return {
        "id": str(entry.id),
        "name": m.code,
        "display_name": m.display_name,
        "density_g_cm3": m.density_g_cm3,
        "cost_per_kg": f"{m.cost_per_kg:.2f}",
        "cost_per_kg_paise": to_paise(m.cost_per_kg),
        "colors": list(m.colors),
        "notes": m.notes,
        "active": m.active,
    }


def _fields(body: MaterialBody | MaterialChanges) -> dict[str, Any]:
    """The body as domain fields (the API's `name` is the material's code)."""
    fields = body.model_dump(exclude_none=True)
    if "name" in fields:
        fields["code"] = fields.pop("name")
    return fields


def materials_router(prefix: str, *roles: str) -> APIRouter:
    """The material routes, guarded by the given roles."""
    router = APIRouter(prefix=prefix, tags=["print config"], responses=errors(*STAFF))
    Staff = Annotated[Caller, Depends(require_role(*roles))]  # JWT only
    # Seed: admins' reads take catalog:read (a PAT may); moderators' are JWT only.
    CatalogRead = Annotated[Caller, staff_auth(roles, "catalog:read")]

    def _changed(response: Response, entry: MaterialEntry, position: int) -> dict[str, Any]:
        response.headers["X-Position"] = str(position)
        return {"material": staff_material(entry), "position": position}

    @router.get("/materials", response_model=StaffMaterialList)
    def materials(_: CatalogRead, container: ContainerDep) -> dict[str, Any]:
        """All materials, active and inactive."""
        entries = container.print_config.materials()
        return {"materials": [staff_material(e) for e in entries]}

    # Seed: JWT only.
    @router.post(
        "/materials",
        status_code=201,
        response_model=ChangedMaterial,
        responses=errors(*WITH_BODY, 409),
    )
    def add(
        body: MaterialBody, caller: Staff, container: ContainerDep, response: Response
    ) -> dict[str, Any]:
        """Add a material (409 if its code exists; a deleted code comes back)."""
        entry, position = container.print_config.add_material(_fields(body), actor=caller.actor)
        return _changed(response, entry, position)

    # Seed: JWT only.
    @router.put(
        "/materials/{material_id}",
        response_model=ChangedMaterial,
        responses=errors(*WITH_BODY, 404, 409),
    )
    def update(
        material_id: str,
        body: MaterialChanges,
        caller: Staff,
        container: ContainerDep,
        response: Response,
    ) -> dict[str, Any]:
        """Change a material; `active: false` retires it (the way to take it off sale)."""
        entry, position = container.print_config.update_material(
            material_ref(material_id), _fields(body), actor=caller.actor
        )
        return _changed(response, entry, position)

    # Seed: JWT only.
    @router.delete("/materials/{material_id}", response_model=Deleted, responses=errors(404, 409))
    def delete(
        material_id: str, caller: Staff, container: ContainerDep, response: Response
    ) -> dict[str, Any]:
        """Delete a material; 409 naming the reason while open orders or printers use it."""
        ref = material_ref(material_id)
        position = container.print_config.delete_material(ref, actor=caller.actor)
        response.headers["X-Position"] = str(position)
        return {"id": str(ref), "deleted": True, "position": position}

    return router


admin_router = materials_router("/api/admin", ADMIN)
moderator_router = materials_router("/api/mod", MODERATOR, ADMIN)
