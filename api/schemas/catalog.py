"""Materials, model uploads and instant quotes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class MaterialInfo(BaseModel):
    """A material on offer."""

    name: str
    display_name: str
    density_g_cm3: float
    colors: list[str]


class MaterialList(BaseModel):
    """The active materials."""

    materials: list[MaterialInfo]


class MeshInfo(BaseModel):
    """Geometry of an analysed model in millimetres."""

    file_format: str
    dim_x_mm: float
    dim_y_mm: float
    dim_z_mm: float
    volume_cm3: float
    surface_area_cm2: float
    triangle_count: int
    body_count: int
    is_watertight: bool


class UploadSession(MeshInfo):
    """An analysed upload, to check out later by its session id."""

    session_id: str
    filename: str


class _PriceLines(BaseModel):
    """What every priced line shows: the choices, the physical estimate and the totals."""

    currency: str
    material: str
    color: str
    quantity: int
    infill_pct: float
    priority: bool
    grams_per_unit: float
    grams_total: float
    print_hours_per_unit: float
    print_hours_total: float
    priority_surcharge: float
    pre_tax_total: float
    gst_pct: float
    gst: float
    shipping: float
    total: float
    unit_price: float
    shipping_method: str | None = None  # the partner that priced shipping (None: pickup)
    discount: float = Field(default=0, description="A coupon's line before GST (rupees).")
    coupon_code: str | None = None  # the coupon that discounted the price
    estimate: dict[str, Any] | None = Field(
        default=None,
        description="What gave the grams and hours: {source: estimator, version} (the instant"
        " estimate) or {source: slicer, slicer, profile, job_id} (firm figures), with the"
        " exact figures; null on prices made before it was recorded.",
    )


class CustomerPrice(_PriceLines):
    """The customer-facing price lines (hidden costs folded into material and printing)."""

    material_cost: float
    printing_cost: float
    firm: bool = Field(
        default=False, description="Priced from the slicer's figures, not the instant estimate."
    )


class StaffPrice(_PriceLines):
    """Every cost line of a priced order, with the settings version that priced it."""

    settings_version: int
    layers: int
    material_cm3: float
    material_cost: float
    electricity_cost: float
    setup_fee: float
    overhead: float
    margin: float
    subtotal: float
    material_cost_display: float
    printing_cost_display: float
    catalog_unit_price: float | None = None  # a catalog model's fixed price per copy


class QuoteAnswer(BaseModel):
    """An instant quote."""

    quote: CustomerPrice
