"""Print config — the printer fleet: staff CRUD on /api/admin and /api/mod, public specs."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from api.deps import Caller, ContainerDep, parse_id, require_role, staff_auth
from api.schemas.errors import ANY, STAFF, WITH_BODY, errors
from api.schemas.fleet import (
    ChangedPrinter,
    Deleted,
    PrinterBody,
    PrinterChanges,
    PublicPrinterList,
    StaffPrinterList,
)
from domain.fleet.printers import Printer
from domain.users import ADMIN, MODERATOR


def public_printer(printer: Printer) -> dict[str, Any]:
    """Specs for compatibility display: no address, PIN, owners or power draw."""
    spec = printer.spec
    return {
        "id": str(printer.id),
        "name": spec["name"],
        "brand": spec["brand"],
        "materials": list(spec["materials"]),
        "bed_x_mm": spec["bed_x_mm"],
        "bed_y_mm": spec["bed_y_mm"],
        "bed_z_mm": spec["bed_z_mm"],
        "nozzle_mm": spec["nozzle_mm"],
        "layer_height_mm": spec["layer_height_mm"],
        "print_speed_cm3_hr": spec["print_speed_cm3_hr"],
    }


def staff_printer(printer: Printer) -> dict[str, Any]:
    """Everything staff know of a printer."""
    spec = printer.spec
    return {
        **public_printer(printer),
        "wattage_w": spec["wattage_w"],
        "printer_pincode": spec["printer_pincode"],
        "printer_address": spec["printer_address"],
        "notes": spec["notes"],
        "active": spec["active"],
        "owners": list(spec["owners"]),
        "loaded_colors": list(spec["loaded_colors"]),
        "version": printer.version,
    }


public_router = APIRouter(tags=["print config"])


@public_router.get("/api/printer-types", response_model=PublicPrinterList, responses=errors(*ANY))
def active_printers(container: ContainerDep) -> dict[str, Any]:
    """Active printers' specs (bed size, materials, nozzle) for compatibility display."""
    printers = container.print_config.printers()
    return {"printers": [public_printer(p) for p in printers if p.spec["active"]]}


def printers_router(prefix: str, *roles: str) -> APIRouter:
    """The printer routes, guarded by the given roles."""
    router = APIRouter(prefix=prefix, tags=["print config"], responses=errors(*STAFF))
    Staff = Annotated[Caller, Depends(require_role(*roles))]  # JWT only
    # Seed: admins' reads take catalog:read (a PAT may); moderators' are JWT only.
    CatalogRead = Annotated[Caller, staff_auth(roles, "catalog:read")]

    def _changed(response: Response, printer: Printer, position: int) -> dict[str, Any]:
        response.headers["X-Position"] = str(position)
        return {"printer": staff_printer(printer), "position": position}

    @router.get("/printer-types", response_model=StaffPrinterList)
    def printers(_: CatalogRead, container: ContainerDep) -> dict[str, Any]:
        """All printers, active and inactive, with location and owners."""
        return {"printers": [staff_printer(p) for p in container.print_config.printers()]}

    # Seed: JWT only.
    @router.post(
        "/printer-types",
        status_code=201,
        response_model=ChangedPrinter,
        responses=errors(*WITH_BODY),
    )
    def add(
        body: PrinterBody, caller: Staff, container: ContainerDep, response: Response
    ) -> dict[str, Any]:
        """Add a printer: its materials must exist, its owners be moderators or admins."""
        printer, position = container.print_config.add_printer(
            body.model_dump(), actor=caller.actor
        )
        return _changed(response, printer, position)

    # Seed: JWT only.
    @router.put(
        "/printer-types/{printer_id}",
        response_model=ChangedPrinter,
        responses=errors(*WITH_BODY, 404, 409),
    )
    def update(
        printer_id: str,
        body: PrinterChanges,
        caller: Staff,
        container: ContainerDep,
        response: Response,
    ) -> dict[str, Any]:
        """Change a printer's settings, or toggle `active` (inactive printers make no quotes)."""
        printer, position = container.print_config.update_printer(
            parse_id(printer_id, "printer"), body.model_dump(exclude_none=True), actor=caller.actor
        )
        return _changed(response, printer, position)

    # Seed: JWT only.
    @router.delete(
        "/printer-types/{printer_id}", response_model=Deleted, responses=errors(404, 409)
    )
    def delete(
        printer_id: str, caller: Staff, container: ContainerDep, response: Response
    ) -> dict[str, Any]:
        """Delete a printer; 409 while orders are assigned to it."""
        pid = parse_id(printer_id, "printer")
        position = container.print_config.delete_printer(pid, actor=caller.actor)
        response.headers["X-Position"] = str(position)
        return {"id": str(pid), "deleted": True, "position": position}

    return router


admin_router = printers_router("/api/admin", ADMIN)
moderator_router = printers_router("/api/mod", MODERATOR, ADMIN)
