"""The cost engine's settings for admins: read, change (a new version each time), dry-run."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from pydantic import Field

from api.deps import AdminDep, AdminReadDep, ContainerDep
from api.schemas.errors import STAFF, WITH_BODY, errors
from api.schemas.pricing import CostSettingsAnswer, PricePreviewAnswer, SettingsVersions
from api.text import TextBody
from application.catalog import SettingsVersion
from application.price_preview import PreviewRequest, PricePreview
from domain.catalog import COST_LIMITS
from domain.errors import InvalidInput
from domain.pricing import MAX_QUANTITY
from infra.bootstrap import Container

router = APIRouter(prefix="/api/admin", tags=["cost engine"], responses=errors(*STAFF))

PREVIEW_NOTE = "Shipping is quoted separately by the carrier and never taxed by the cost engine."


def _bounded(field: str, description: str) -> Any:
    """An optional number within the domain's limits for the field (documented in OpenAPI)."""
    low, high, _ = COST_LIMITS[field]
    return Field(
        default=None, ge=float(low), le=float(high), allow_inf_nan=False, description=description
    )


class CostSettingsBody(TextBody):
    """Any subset of the editable parameters; what is left out keeps its value."""

    electricity_rate_per_kwh: float | None = _bounded("electricity_rate_per_kwh", "Rupees per kWh.")
    setup_fee: float | None = _bounded("setup_fee", "Rupees per order line, whole paise.")
    overhead_pct: float | None = _bounded("overhead_pct", "Percent of direct costs.")
    margin_pct: float | None = _bounded("margin_pct", "Percent of cost plus overhead.")
    priority_surcharge_pct: float | None = _bounded("priority_surcharge_pct", "Percent.")
    gst_pct: float | None = _bounded("gst_pct", "Percent of the pre-tax total.")
    display_printing_share_pct: float | None = _bounded(
        "display_printing_share_pct", "Share of hidden costs shown as Printing cost."
    )


class PricePreviewBody(TextBody):
    """The seed's preview inputs, plus an optional earlier settings version and dimensions."""

    material: str = Field(max_length=40)
    volume_cm3: float = Field(gt=0, le=1_000_000, allow_inf_nan=False)
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY)
    infill: float = Field(default=20, ge=0, le=100, allow_inf_nan=False)
    wattage_w: float | None = Field(default=None, ge=0, le=10_000, allow_inf_nan=False)
    fulfillment: str = Field(default="pickup", max_length=20)
    priority_print: bool = False
    color: str | None = Field(default=None, max_length=40)
    settings_version: int | None = Field(default=None, ge=1, le=1_000_000)
    dim_x_mm: float | None = Field(default=None, gt=0, le=10_000, allow_inf_nan=False)
    dim_y_mm: float | None = Field(default=None, gt=0, le=10_000, allow_inf_nan=False)
    dim_z_mm: float | None = Field(default=None, gt=0, le=10_000, allow_inf_nan=False)


# Seed scope: admin:read.
@router.get("/cost-settings", response_model=CostSettingsAnswer)
def cost_settings(_: AdminReadDep, container: ContainerDep) -> dict[str, Any]:
    """The current cost settings version, the default printer and material costs."""
    return _current(container)


# JWT only (no PAT scope may change prices). 409: another admin changed them meanwhile.
@router.put("/cost-settings", response_model=CostSettingsAnswer, responses=errors(*WITH_BODY, 409))
def change_cost_settings(
    body: CostSettingsBody, caller: AdminDep, container: ContainerDep
) -> dict[str, Any]:
    """Change some parameters: a new version, recorded with its actor and previous values."""
    changes = {k: Decimal(str(v)) for k, v in body.model_dump(exclude_none=True).items()}
    container.catalog.change_cost_settings(changes, actor=caller.actor)
    return _current(container)


# Not in the seed; admin:read like the cost settings it lists the versions of.
@router.get("/cost-settings/versions", response_model=SettingsVersions)
def cost_settings_versions(_: AdminReadDep, container: ContainerDep) -> dict[str, Any]:
    """Every settings version, oldest first: who changed what, and when."""
    return {"versions": [_version(v) for v in container.catalog.cost_settings_versions()]}


# Seed scope: admin:read (a dry run: nothing is recorded).
@router.post("/price-preview", response_model=PricePreviewAnswer, responses=errors(*WITH_BODY))
def price_preview(
    body: PricePreviewBody, _: AdminReadDep, container: ContainerDep
) -> dict[str, Any]:
    """A dry-run price (nothing recorded), against the current or any earlier settings version."""
    dims = _dimensions(body.dim_x_mm, body.dim_y_mm, body.dim_z_mm)
    preview = PricePreview(container.catalog).preview(
        PreviewRequest(
            material=body.material,
            volume_cm3=body.volume_cm3,
            quantity=body.quantity,
            infill_pct=body.infill,
            fulfillment=body.fulfillment,
            priority=body.priority_print,
            wattage_w=body.wattage_w,
            settings_version=body.settings_version,
            dims_mm=dims,
            color=body.color,
        )
    )
    geometry = preview.geometry
    return {
        "settings_version": preview.price.settings_version,
        "fulfillment": body.fulfillment,
        "wattage_w": preview.wattage_w,
        "geometry": {
            "dim_x_mm": geometry.dim_x_mm,
            "dim_y_mm": geometry.dim_y_mm,
            "dim_z_mm": geometry.dim_z_mm,
            "volume_cm3": geometry.volume_cm3,
        },
        "price": preview.price.rupees(),
        "customer_view": preview.price.customer_view(),
        "note": PREVIEW_NOTE,
    }


def _dimensions(
    x: float | None, y: float | None, z: float | None
) -> tuple[float, float, float] | None:
    """All three dimensions, or none (a cube): half a bounding box prices nothing."""
    if x is not None and y is not None and z is not None:
        return (x, y, z)
    if x is None and y is None and z is None:
        return None
    raise InvalidInput("send all of dim_x_mm, dim_y_mm and dim_z_mm, or none (a cube)")


def _current(container: Container) -> dict[str, Any]:
    # The stream, not the per-process cache: an admin sees a change made elsewhere at once.
    latest = container.catalog.cost_settings_versions()[-1]
    settings, (_, printer) = latest.settings, container.catalog.pricing()
    return {
        **{k: float(v) for k, v in settings.editable().items()},
        "version": settings.version,
        "changed_at": latest.at.isoformat(),
        "changed_by": latest.actor,
        "currency": settings.currency,
        "wall_thickness_mm": settings.wall_thickness_mm,
        "top_bottom_thickness_mm": settings.top_bottom_thickness_mm,
        "per_layer_seconds": settings.per_layer_seconds,
        "origin_pincode": settings.origin_pincode,
        "printer": {
            "name": printer.name,
            "wattage_w": printer.wattage_w,
            "print_speed_cm3_hr": printer.print_speed_cm3_hr,
            "layer_height_mm": printer.layer_height_mm,
            "nozzle_mm": printer.nozzle_mm,
        },
        "materials": [
            {
                "code": m.code,
                "display_name": m.display_name,
                "cost_per_kg": float(m.cost_per_kg),
                "density_g_cm3": m.density_g_cm3,
                "active": m.active,
            }
            for m in container.catalog.materials().values()
        ],
    }


def _version(version: SettingsVersion) -> dict[str, Any]:
    return {
        "version": version.settings.version,
        "changed_at": version.at.isoformat(),
        "changed_by": version.actor,
        "changes": {
            field: {"before": None if before is None else float(before), "after": float(after)}
            for field, (before, after) in version.changes.items()
        },
        "settings": {k: float(v) for k, v in version.settings.editable().items()},
    }
