"""Quoting: the cost engine fed with the catalog's current materials and settings."""

from __future__ import annotations

from dataclasses import dataclass

from application.catalog import CatalogApp
from domain.catalog import CostSettings, Material, PrinterProfile
from domain.errors import InvalidInput
from domain.pricing import (
    PartGeometry,
    PriceBreakdown,
    estimate_print,
    quote,
    require_fit,
    require_printable,
)
from domain.shipping import FULFILLMENT_METHODS, estimate_shipping


@dataclass(frozen=True)
class QuoteRequest:
    """What a customer chose for a part whose geometry is known."""

    geometry: PartGeometry
    material: str
    color: str | None
    quantity: int
    infill_pct: float
    priority: bool
    fulfillment: str
    shipping_zip: str | None


class Quoter:
    """Prices a request with the catalog's settings; the version used is in the result."""

    def __init__(self, catalog: CatalogApp) -> None:
        self.catalog = catalog

    def quote(self, request: QuoteRequest) -> PriceBreakdown:
        """A full price breakdown, shipping from the shop's PIN code to the customer's."""
        if request.fulfillment not in FULFILLMENT_METHODS:
            raise InvalidInput("fulfillment must be 'pickup' or 'shipping'")
        material = self.catalog.material(request.material)
        settings, printer = self.catalog.pricing()
        try:
            require_printable(request.geometry, printer)
            require_fit(request.geometry, printer)
            return self._price(request, material, printer, settings)
        except ArithmeticError as error:  # numbers no real part has
            raise _out_of_range() from error

    def require_printable(self, geometry: PartGeometry) -> None:
        """Refuse geometry no solid has, or finer than the shop's printer can make."""
        _, printer = self.catalog.pricing()
        try:
            require_printable(geometry, printer)
        except ArithmeticError as error:
            raise _out_of_range() from error

    def _price(
        self,
        request: QuoteRequest,
        material: Material,
        printer: PrinterProfile,
        settings: CostSettings,
    ) -> PriceBreakdown:
        # Shipping is priced by weight, which only the print estimate knows.
        estimate = estimate_print(request.geometry, material, printer, settings, request.infill_pct)
        shipping = estimate_shipping(
            request.fulfillment,
            estimate.grams * request.quantity,
            settings.origin_pincode,
            request.shipping_zip,
        )
        return quote(
            request.geometry,
            material,
            printer,
            settings,
            quantity=request.quantity,
            infill_pct=request.infill_pct,
            priority=request.priority,
            color=request.color,
            shipping_cost=shipping,
        )


def _out_of_range() -> InvalidInput:
    return InvalidInput("the part's numbers are out of range; check its units")
