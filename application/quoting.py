"""Quoting: the cost engine fed with the catalog's current materials and settings."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from application.catalog import CatalogApp
from application.fleet import FleetApp
from application.shipping import ShippingApp
from domain.catalog import CostSettings, Material, PrinterProfile
from domain.errors import InvalidInput
from domain.fleet.selection import FleetChoice, printable_on_any
from domain.money import from_paise
from domain.pricing import (
    PartGeometry,
    PriceBreakdown,
    estimate_print,
    quote,
)
from domain.shipping import FULFILLMENT_METHODS


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
    shipping_method: str | None = None  # a partner's id or slug; None: Speed Post
    unit_price_paise: int | None = None  # a catalog model's fixed price per copy before GST


class Quoter:
    """Prices a request with the catalog's settings; the version used is in the result."""

    def __init__(
        self,
        catalog: CatalogApp,
        shipping: ShippingApp | None = None,
        fleet: FleetApp | None = None,
    ) -> None:
        self.catalog = catalog
        self.fleet = fleet  # None: the settings' one printer at the shop's PIN (benchmarks)
        self.shipping = shipping  # None: pickup only (benchmarks of the cost engine)
        self._chosen_from: tuple[list[tuple[PrinterProfile, str]], FleetChoice] | None = None

    def quote(self, request: QuoteRequest, material: Material | None = None) -> PriceBreakdown:
        """A full price breakdown, shipping from the shop's PIN code to the customer's.

        `material`: the request's material already looked up (a cart of many parts reads
        the catalog's materials once, not once per part).
        """
        if request.fulfillment not in FULFILLMENT_METHODS:
            raise InvalidInput("fulfillment must be 'pickup' or 'shipping'")
        if material is None:
            material = self.catalog.material(request.material)
        settings, _ = self.catalog.pricing()
        try:
            printer, origin = self.printer_for(
                request.geometry, material, settings, request.infill_pct
            )
            return self._price(request, material, printer, settings, origin)
        except ArithmeticError as error:  # numbers no real part has
            raise _out_of_range() from error

    def require_printable(self, geometry: PartGeometry) -> None:
        """Refuse geometry no solid has, or finer than every active printer can make."""
        try:
            printable_on_any(geometry, [printer for printer, _ in self._printers()])
        except ArithmeticError as error:
            raise _out_of_range() from error

    def _price(
        self,
        request: QuoteRequest,
        material: Material,
        printer: PrinterProfile,
        settings: CostSettings,
        origin_pincode: str,
    ) -> PriceBreakdown:
        # Shipping is priced by weight, which only the print estimate knows.
        estimate = estimate_print(request.geometry, material, printer, settings, request.infill_pct)
        shipping = self.shipping_cost(request, estimate.grams * request.quantity, origin_pincode)
        fixed = request.unit_price_paise
        price = quote(
            request.geometry,
            material,
            printer,
            settings,
            quantity=request.quantity,
            infill_pct=request.infill_pct,
            priority=request.priority,
            color=request.color,
            shipping_cost=shipping,
            unit_price=None if fixed is None else from_paise(fixed),
        )
        if request.fulfillment == "pickup" or self.shipping is None:
            return price
        partner = self.shipping.choose(request.shipping_method)
        return replace(price, shipping_method=str(partner.spec["slug"]))

    def shipping_cost(self, request: QuoteRequest, weight_g: float, origin_pincode: str) -> Decimal:
        """Shipping in rupees (exact paise) from origin_pincode: the printer's or the shop's."""
        if request.fulfillment == "pickup":
            return Decimal("0.00")
        if self.shipping is None:
            raise InvalidInput("shipping estimates are not available here; choose pickup")
        paise = self.shipping.shipping_paise(
            fulfillment=request.fulfillment,
            weight_g=weight_g,
            origin_pincode=origin_pincode,
            destination_pincode=request.shipping_zip,
            method=request.shipping_method,
        )
        return Decimal(paise).scaleb(-2)

    def printer_for(
        self, geometry: PartGeometry, material: Material, settings: CostSettings, infill_pct: float
    ) -> tuple[PrinterProfile, str]:
        """The active printer that would make the part and its PIN (domain.fleet.selection)."""
        printers = self._printers()
        chosen = self._choice(printers).choose(geometry, material, settings, infill_pct)
        return next((p, pin) for p, pin in printers if p is chosen)

    def _choice(self, printers: list[tuple[PrinterProfile, str]]) -> FleetChoice:
        """The fleet prepared for choosing, kept while the active printers are the same."""
        cached = self._chosen_from
        if cached is None or cached[0] != printers:  # the same objects: a pointer comparison
            cached = (printers, FleetChoice([p for p, _ in printers]))
            self._chosen_from = cached
        return cached[1]

    def _printers(self) -> list[tuple[PrinterProfile, str]]:
        if self.fleet is None:
            settings, printer = self.catalog.pricing()
            return [(printer, settings.origin_pincode)]
        return self.fleet.active_printers()


def _out_of_range() -> InvalidInput:
    return InvalidInput("the part's numbers are out of range; check its units")
