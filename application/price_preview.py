"""Dry runs of the cost engine for staff: any inputs, any settings version, nothing recorded."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from application.catalog import CatalogApp
from domain.cart_pricing import group_goods_paise, with_group_discount
from domain.catalog import CostSettings, Material, PrinterProfile
from domain.coupons import discount_as_applied
from domain.errors import InvalidInput
from domain.money import from_paise
from domain.orders import Order
from domain.pricing import (
    PartGeometry,
    PriceBreakdown,
    goods_paise,
    quote,
    recorded_estimate,
    with_discount,
)
from domain.printability import require_fit, require_printable
from domain.shipping import FULFILLMENT_METHODS


@dataclass(frozen=True)
class PreviewRequest:
    """The seed's price-preview inputs; no dimensions means a cube of the volume."""

    material: str
    volume_cm3: float
    quantity: int
    infill_pct: float
    fulfillment: str
    priority: bool
    wattage_w: float | None = None  # overrides the printer's draw
    settings_version: int | None = None  # None: the current settings
    dims_mm: tuple[float, float, float] | None = None
    color: str | None = None


@dataclass(frozen=True)
class Preview:
    """A priced dry run and the geometry it assumed."""

    price: PriceBreakdown
    geometry: PartGeometry
    wattage_w: float


class PricePreview:
    """Prices what-ifs and re-prices recorded orders from their settings version."""

    def __init__(self, catalog: CatalogApp) -> None:
        self.catalog = catalog

    def preview(self, request: PreviewRequest) -> Preview:
        """A dry-run price; shipping is quoted separately and never part of it."""
        if request.fulfillment not in FULFILLMENT_METHODS:
            raise InvalidInput("fulfillment must be 'pickup' or 'shipping'")
        settings, printer = self._settings(request.settings_version)
        if request.wattage_w is not None:
            printer = replace(printer, wattage_w=request.wattage_w)
        geometry = _geometry(request.volume_cm3, request.dims_mm)
        try:
            require_printable(geometry, printer)
            require_fit(geometry, printer)
            price = self._quote(geometry, request, settings, printer)
        except ArithmeticError as error:  # numbers no real part has
            raise InvalidInput("the part's numbers are out of range; check its units") from error
        return Preview(price=price, geometry=geometry, wattage_w=printer.wattage_w)

    def reprice(self, order: Order) -> PriceBreakdown:
        """The order's price recomputed from its recorded settings version (an audit check).

        Shipping is carried over as recorded: it is quoted by the carrier, not this engine.
        An order of a group with a coupon holds a share of the group's discount: reprice the
        group together (reprice_group).
        """
        price = self._undiscounted(order)
        coupon = order.price.get("coupon")
        if coupon:  # the coupon's line, recomputed from the terms the order recorded
            price = with_discount(price, discount_as_applied(coupon, goods_paise(price)), coupon)
        return price

    def reprice_group(self, orders: Sequence[Order]) -> list[PriceBreakdown]:
        """A group's prices recomputed together: its coupon's discount is decided on the
        group's goods and shared in proportion (domain.cart_pricing), as at checkout."""
        prices = [self._undiscounted(order) for order in orders]
        coupon = orders[0].price.get("coupon")
        if not coupon:
            return prices
        discount = discount_as_applied(coupon, group_goods_paise(prices))
        return with_group_discount(prices, discount, coupon)

    def _undiscounted(self, order: Order) -> PriceBreakdown:
        """The order's price before any coupon, from what its events recorded."""
        settings, printer = self.catalog.pricing_at(order.settings_version)
        # The printer and material as they were when priced (before the fleet: the settings').
        recorded = order.price.get("printer")
        printer = PrinterProfile.from_dict(recorded) if recorded else printer
        spec = order.price.get("material_spec")
        material = Material.from_dict(spec) if spec else self.catalog.material(order.material)
        model = order.model
        fixed = order.price.get("catalog_unit_price_paise")  # a catalog model's fixed price
        geometry = PartGeometry(
            dim_x_mm=model["dim_x_mm"],
            dim_y_mm=model["dim_y_mm"],
            dim_z_mm=model["dim_z_mm"],
            volume_cm3=model["volume_cm3"],
            surface_area_cm2=model.get("surface_area_cm2"),
        )
        price = quote(
            geometry,
            material,
            printer,
            settings,
            quantity=order.quantity,
            infill_pct=order.infill_pct,
            priority=order.priority,
            color=order.color,
            shipping_cost=from_paise(order.price["shipping_paise"]),
            unit_price=None if fixed is None else from_paise(fixed),
            # The grams and hours as estimated then (a fitted estimator's, or the slicer's).
            estimate=recorded_estimate(order.price.get("estimate")),
            estimated_by=_source(order.price.get("estimate")),
        )
        # The carrier that priced the shipping line is recorded, not recomputed, like its price.
        return replace(price, shipping_method=order.price.get("shipping_method"))

    def _settings(self, version: int | None) -> tuple[CostSettings, PrinterProfile]:
        return self.catalog.pricing() if version is None else self.catalog.pricing_at(version)

    def _quote(
        self,
        geometry: PartGeometry,
        request: PreviewRequest,
        settings: CostSettings,
        printer: PrinterProfile,
    ) -> PriceBreakdown:
        return quote(
            geometry,
            self.catalog.material(request.material),
            printer,
            settings,
            quantity=request.quantity,
            infill_pct=request.infill_pct,
            priority=request.priority,
            color=request.color,
            shipping_cost=Decimal("0.00"),
        )


def _geometry(volume_cm3: float, dims_mm: tuple[float, float, float] | None) -> PartGeometry:
    """The part as given, or a cube of the volume (the seed's preview sends no dimensions)."""
    if dims_mm is None:
        numeric = isinstance(volume_cm3, int | float) and math.isfinite(volume_cm3)
        if not numeric or volume_cm3 <= 0:
            raise InvalidInput(f"volume_cm3 must be a positive number, got {volume_cm3!r}")
        side = math.cbrt(volume_cm3) * 10
        dims_mm = (side, side, side)
    return PartGeometry(*dims_mm, volume_cm3=volume_cm3)


def _source(record: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the recorded estimate names as its source (its figures are recomputed)."""
    if not record:
        return None
    figures = ("layers", "shell_cm3", "material_cm3", "grams", "print_hours")
    return {key: value for key, value in record.items() if key not in figures}
