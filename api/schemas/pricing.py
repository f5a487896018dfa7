"""Cost settings and price previews as the admin API shows them (rupee numbers, 2 decimals)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.catalog import CustomerPrice, StaffPrice


class CostParameters(BaseModel):
    """The admin-editable parameters of the cost engine."""

    electricity_rate_per_kwh: float = Field(description="Rupees per kWh.")
    setup_fee: float = Field(description="Rupees per order line.")
    overhead_pct: float
    margin_pct: float
    priority_surcharge_pct: float
    gst_pct: float
    display_printing_share_pct: float = Field(
        description="Share of the hidden costs shown as Printing cost (the rest: Material cost)."
    )


class MaterialCost(BaseModel):
    """What a material costs, for the engine's material line."""

    code: str
    display_name: str
    cost_per_kg: float
    density_g_cm3: float
    active: bool


class DefaultPrinter(BaseModel):
    """The printer profile estimates use when no fleet printer is chosen."""

    name: str
    wattage_w: float
    print_speed_cm3_hr: float
    layer_height_mm: float
    nozzle_mm: float


class CostSettingsAnswer(CostParameters):
    """The current settings version and everything that prices a part."""

    version: int
    changed_at: str
    changed_by: str
    currency: str
    wall_thickness_mm: float
    top_bottom_thickness_mm: float
    per_layer_seconds: float
    origin_pincode: str
    printer: DefaultPrinter
    materials: list[MaterialCost]


class FieldChange(BaseModel):
    """One parameter's value before and after a version (before is null at version 1)."""

    before: float | None
    after: float


class SettingsVersionItem(BaseModel):
    """One settings version: who made it, when, what it changed, and the values it holds."""

    version: int
    changed_at: str
    changed_by: str
    changes: dict[str, FieldChange]
    settings: CostParameters


class SettingsVersions(BaseModel):
    """Every settings version, oldest first."""

    versions: list[SettingsVersionItem]


class PreviewGeometry(BaseModel):
    """The part the preview priced (a cube of the volume unless dimensions were given)."""

    dim_x_mm: float
    dim_y_mm: float
    dim_z_mm: float
    volume_cm3: float


class PricePreviewAnswer(BaseModel):
    """A dry-run price: every cost line, and what the customer would see."""

    settings_version: int
    fulfillment: str
    wattage_w: float
    geometry: PreviewGeometry
    price: StaffPrice
    customer_view: CustomerPrice
    note: str
