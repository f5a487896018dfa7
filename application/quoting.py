"""Quoting: the cost engine fed with the catalog's current materials and settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from application.catalog import CatalogApp
from application.fleet import FleetApp
from application.shipping import ShippingApp
from application.shop import ShopApp
from domain.catalog import CostSettings, Material, PrinterProfile
from domain.errors import InvalidInput
from domain.estimator import EstimatorModel
from domain.fleet.selection import FleetChoice, printable_on_any
from domain.money import from_paise
from domain.pricing import (
    PartGeometry,
    PriceBreakdown,
    PrintEstimate,
    quote,
)
from domain.shipping import FULFILLMENT_METHODS
from domain.shop.estimating import ESTIMATOR_SETTING
from domain.slicing import SliceResult


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


@dataclass(frozen=True)
class FirmFigures:
    """The slicer's figures for one copy of a part, and what sliced it."""

    printer: str  # the printer profile's name the part was sliced for
    result: SliceResult
    job_id: str

    def estimate(self) -> PrintEstimate:
        """The figures as the cost engine takes them (the slicer reports no shell volume)."""
        return PrintEstimate(
            layers=self.result.layers,
            shell_cm3=0.0,
            material_cm3=float(self.result.filament_cm3),
            grams=float(self.result.filament_g),
            print_hours=self.result.print_seconds / 3600,
        )

    def source(self) -> dict[str, Any]:
        """What the price records as the figures' origin."""
        return {
            "source": "slicer",
            "slicer": self.result.slicer_version,
            "profile": self.result.profile_fingerprint,
            "job_id": self.job_id,
        }


class Estimators:
    """The instant estimator in force: the shop setting, parsed once per stored value."""

    def __init__(self, shop: ShopApp) -> None:
        self.shop = shop
        self._parsed: tuple[object, EstimatorModel] | None = None

    def __call__(self) -> EstimatorModel:
        stored = self.shop.value(ESTIMATOR_SETTING)
        parsed = self._parsed
        if parsed is None or parsed[0] is not stored:
            parsed = (stored, EstimatorModel.from_dict(stored))
            self._parsed = parsed
        return parsed[1]


class Quoter:
    """Prices a request with the catalog's settings; the version used is in the result."""

    def __init__(
        self,
        catalog: CatalogApp,
        shipping: ShippingApp | None = None,
        fleet: FleetApp | None = None,
        estimators: Callable[[], EstimatorModel] = EstimatorModel.shell,
    ) -> None:
        self.catalog = catalog
        self.fleet = fleet  # None: the settings' one printer at the shop's PIN (benchmarks)
        self.shipping = shipping  # None: pickup only (benchmarks of the cost engine)
        self.estimators = estimators  # the instant estimate in force (fitted from slices)
        self._chosen_from: tuple[list[tuple[PrinterProfile, str]], FleetChoice] | None = None

    def quote(
        self,
        request: QuoteRequest,
        material: Material | None = None,
        firm: FirmFigures | None = None,
    ) -> PriceBreakdown:
        """A full price breakdown, shipping from the shop's PIN code to the customer's.

        `material`: the request's material already looked up (a cart of many parts reads
        the catalog's materials once, not once per part). `firm`: the slicer's figures for
        the part on the printer the quote chooses (ignored when it chooses another now).
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
            return self._price(request, material, printer, settings, origin, firm)
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
        firm: FirmFigures | None = None,
    ) -> PriceBreakdown:
        if firm is not None and firm.printer == printer.name:
            estimate, source = firm.estimate(), firm.source()
        else:
            model = self.estimators()
            estimate = model.estimate(
                request.geometry, material, printer, settings, request.infill_pct
            )
            source = {"source": "estimator", "version": model.version}
        # Shipping is priced by weight, which only the print estimate knows.
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
            estimate=estimate,
            estimated_by=source,
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
