"""The cost engine: geometry and settings in, a transparent Decimal price breakdown out.

Stored form of a breakdown (Order.Placed, version 2; see domain.money): every money line is
`<line>_paise` (int), gst_pct a decimal string; version 1 held rupee floats (upcast_price_v1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from domain.catalog import CostSettings, Material, PrinterProfile
from domain.errors import InvalidInput
from domain.money import (
    as_decimal,
    decimal_text,
    from_paise,
    paise_from_legacy_rupees,
    round_to_paise,
    rupees_json,
    to_paise,
)

MAX_QUANTITY = 1000

_HUNDRED = Decimal(100)
# Every line is rounded once, by domain.money.round_to_paise (to the paisa, half up).
_money = round_to_paise


def _dec(value: float | int | Decimal) -> Decimal:
    """Decimal of the number as written (str avoids binary float noise)."""
    return Decimal(str(value))


def _round(value: float, places: int) -> float:
    """Half-up rounding of a reported quantity (grams, hours), stable across round trips."""
    return float(_dec(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def _finite_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class PartGeometry:
    """Size of one part: bounding box in mm, volume in cm3, surface area in cm2 if known."""

    dim_x_mm: float
    dim_y_mm: float
    dim_z_mm: float
    volume_cm3: float
    surface_area_cm2: float | None = None

    def __post_init__(self) -> None:
        for field in ("dim_x_mm", "dim_y_mm", "dim_z_mm", "volume_cm3"):
            value = getattr(self, field)
            if not _finite_number(value) or value <= 0:
                raise InvalidInput(f"{field} must be a positive number, got {value!r}")
        area = self.surface_area_cm2
        if area is not None and (not _finite_number(area) or area <= 0):
            raise InvalidInput(f"surface_area_cm2 must be a positive number, got {area!r}")

    def effective_surface_area_cm2(self) -> float:
        """The known surface area, or an estimate from the bounding box and volume.

        A solid that fills a fraction f of its bounding box is treated as the box shrunk
        uniformly, so its area is the box area times f^(2/3) (exact for boxes, about 25 %
        high for a sphere, so conservative). Nothing of a given volume has less area than a
        sphere, so the estimate never goes below that; the floor only matters when a client
        reports a volume larger than its own bounding box (within rounding: require_printable
        refuses more).
        """
        if self.surface_area_cm2 is not None:
            return self.surface_area_cm2
        x, y, z = self.dim_x_mm / 10, self.dim_y_mm / 10, self.dim_z_mm / 10
        box_area = 2 * (x * y + y * z + z * x)
        # A mesh volume a hair above its box (rounding in the client) must not inflate the area.
        fill = min(1.0, self.volume_cm3 / (x * y * z))
        sphere_area = math.cbrt(36 * math.pi * self.volume_cm3**2)
        return max(box_area * math.pow(fill, 2 / 3), sphere_area)


@dataclass(frozen=True)
class PrintEstimate:
    """Physical estimate for one copy of a part: material, weight, layers and machine time."""

    layers: int
    shell_cm3: float
    material_cm3: float
    grams: float
    print_hours: float


def estimate_print(
    geometry: PartGeometry,
    material: Material,
    printer: PrinterProfile,
    settings: CostSettings,
    infill_pct: float,
) -> PrintEstimate:
    """Estimate one copy with a shell model: solid walls at the surface, sparse infill inside."""
    if not _finite_number(infill_pct) or not 0 <= infill_pct <= 100:
        raise InvalidInput(f"infill must be between 0 and 100 percent, got {infill_pct!r}")
    wall_cm = settings.wall_thickness_mm / 10
    # Walls and top/bottom skins are both printed solid, so the whole surface gets one shell;
    # a part thinner than two walls is solid throughout, hence the cap at the volume.
    shell = min(geometry.volume_cm3, geometry.effective_surface_area_cm2() * wall_cm)
    material_cm3 = shell + (geometry.volume_cm3 - shell) * infill_pct / 100
    # Decimal division: a float quotient landing a hair above a whole number adds a phantom layer.
    layers = math.ceil(_dec(geometry.dim_z_mm) / _dec(printer.layer_height_mm))
    hours = material_cm3 / printer.print_speed_cm3_hr + layers * settings.per_layer_seconds / 3600
    return PrintEstimate(
        layers=layers,
        shell_cm3=shell,
        material_cm3=material_cm3,
        grams=material_cm3 * material.density_g_cm3,
        print_hours=hours,
    )


_MONEY_FIELDS = (
    "material_cost",
    "electricity_cost",
    "setup_fee",
    "overhead",
    "margin",
    "subtotal",
    "priority_surcharge",
    "pre_tax_total",
    "gst",
    "shipping",
    "total",
    "material_cost_display",
    "printing_cost_display",
    "unit_price",
    "discount",
)
# Lines added after orders were first stored: an older order has none of them (zero).
_LATER_MONEY = ("discount",)
_COUPON_LINES = ("discount", "coupon")  # stored only when a coupon discounted the price
_PRICED_WITH = ("printer", "material_spec", "shipping_method", "coupon", "estimate")
_FIXED = "catalog_unit_price"  # optional money, stored only when set
_CUSTOMER_FIELDS = (
    "currency",
    "material",
    "color",
    "quantity",
    "infill_pct",
    "priority",
    "grams_per_unit",
    "grams_total",
    "print_hours_per_unit",
    "print_hours_total",
    "priority_surcharge",
    "pre_tax_total",
    "gst_pct",
    "gst",
    "shipping",
    "total",
    "unit_price",
    "shipping_method",
    "discount",
    "coupon_code",
    "estimate",
)


@dataclass(frozen=True)
class PriceBreakdown:
    """A priced order line: physical estimate, internal cost lines and customer-facing lines.

    Money is Decimal rounded to paise; every total is the sum of already-rounded lines:
    subtotal = material + electricity + setup + overhead + margin,
    pre_tax_total = subtotal + priority_surcharge - discount (the taxable value),
    total = pre_tax_total + gst + shipping, material_cost_display + printing_cost_display =
    subtotal.
    """

    currency: str
    settings_version: int
    material: str
    color: str
    quantity: int
    infill_pct: float
    priority: bool
    layers: int
    material_cm3: float
    grams_per_unit: float
    grams_total: float
    print_hours_per_unit: float
    print_hours_total: float
    material_cost: Decimal
    electricity_cost: Decimal
    setup_fee: Decimal
    overhead: Decimal
    margin: Decimal
    subtotal: Decimal
    priority_surcharge: Decimal
    pre_tax_total: Decimal
    gst_pct: Decimal
    gst: Decimal
    shipping: Decimal
    total: Decimal
    material_cost_display: Decimal
    printing_cost_display: Decimal
    unit_price: Decimal
    # What priced it besides the settings version: the printer's figures and the material's
    # spec at that moment, so the price can be recomputed to the paisa from the order's events
    # after either changes. Orders placed before the fleet have neither (the settings' printer).
    printer: dict[str, Any] | None = None
    material_spec: dict[str, Any] | None = None
    shipping_method: str | None = None  # the partner that priced the shipping line
    # A coupon's line before GST (with_discount), and what the price recorded of the coupon.
    discount: Decimal = Decimal("0.00")
    coupon: dict[str, Any] | None = None
    # A catalog model's fixed price per copy before GST (None: the engine priced the part).
    catalog_unit_price: Decimal | None = None
    # What gave the grams and hours (estimate_record): the instant estimator's version or
    # the slicer that sliced the part, with the exact figures, so a replay prices alike.
    # None on prices made before firm quotes (the shell model, version 0).
    estimate: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Stored form: money lines as `<line>_paise` ints, gst_pct as a decimal string."""
        data: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _COUPON_LINES and not value:
                continue  # absent without a coupon: such prices keep their stored form
            if f.name == "estimate" and value is None:
                continue  # absent on prices made before it was recorded
            if f.name in _MONEY_FIELDS:
                data[f"{f.name}_paise"] = to_paise(value)
            elif f.name == "gst_pct":
                data[f.name] = decimal_text(value)
            elif f.name == _FIXED:
                if value is not None:  # absent when unset: engine prices keep their stored form
                    data[f"{_FIXED}_paise"] = to_paise(value)
            else:
                data[f.name] = value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PriceBreakdown:
        """Rebuild from the stored form (to_dict() output; upcast_price_v1 for version 1)."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in _LATER_MONEY:
                values[f.name] = from_paise(data.get(f"{f.name}_paise", 0))
            elif f.name in _MONEY_FIELDS:
                values[f.name] = from_paise(data[f"{f.name}_paise"])
            elif f.name == "gst_pct":
                values[f.name] = as_decimal(data[f.name], f.name)
            elif f.name in _PRICED_WITH:
                values[f.name] = data.get(f.name)
            elif f.name == _FIXED:
                fixed = data.get(f"{_FIXED}_paise")
                values[f.name] = None if fixed is None else from_paise(fixed)
            else:
                values[f.name] = data[f.name]
        return cls(**values)

    def rupees(self) -> dict[str, Any]:
        """The API form: money as rupee numbers with 2 decimals, gst_pct as a number."""
        data: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _MONEY_FIELDS:
                data[f.name] = rupees_json(to_paise(value))
            elif f.name == "gst_pct":
                data[f.name] = float(value)
            elif f.name == _FIXED:
                data[f.name] = None if value is None else rupees_json(to_paise(value))
            else:
                data[f.name] = value
        data["coupon_code"] = self.coupon["code"] if self.coupon else None
        return data

    def customer_view(self) -> dict[str, Any]:
        """What a customer sees: hidden costs folded into Material and Printing cost."""
        data = self.rupees()
        view = {key: data[key] for key in _CUSTOMER_FIELDS}
        view["firm"] = bool(self.estimate and self.estimate.get("source") == "slicer")
        view["material_cost"] = data["material_cost_display"]
        view["printing_cost"] = data["printing_cost_display"]
        return view


def upcast_price_v1(data: Mapping[str, Any]) -> dict[str, Any]:
    """A breakdown stored with rupee floats (Order.Placed version 1) in today's stored form."""
    upgraded = dict(data)
    for name in _MONEY_FIELDS:
        if name in upgraded:
            upgraded[f"{name}_paise"] = paise_from_legacy_rupees(upgraded.pop(name))
    if "gst_pct" in upgraded:
        upgraded["gst_pct"] = decimal_text(as_decimal(upgraded["gst_pct"], "gst_pct"))
    return upgraded


def stored_total_paise(price: Mapping[str, Any]) -> int:
    """The total of a stored breakdown in either stored form (readers of raw events use it)."""
    if "total_paise" in price:
        return int(price["total_paise"])
    return paise_from_legacy_rupees(price["total"])


def _validate_quantity(quantity: int) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidInput(f"quantity must be a whole number, got {quantity!r}")
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidInput(f"quantity must be between 1 and {MAX_QUANTITY}, got {quantity}")


def _validate_shipping(shipping_cost: Decimal) -> None:
    if not isinstance(shipping_cost, Decimal) or not shipping_cost.is_finite() or shipping_cost < 0:
        raise InvalidInput(f"shipping cost must be a non-negative amount, got {shipping_cost!r}")


def _pct(amount: Decimal, pct: Decimal | float) -> Decimal:
    return _money(amount * _dec(pct) / _HUNDRED)


def quote(
    geometry: PartGeometry,
    material: Material,
    printer: PrinterProfile,
    settings: CostSettings,
    *,
    quantity: int,
    infill_pct: float,
    priority: bool,
    color: str | None,
    shipping_cost: Decimal,
    unit_price: Decimal | None = None,
    estimate: PrintEstimate | None = None,
    estimated_by: Mapping[str, Any] | None = None,
) -> PriceBreakdown:
    """Price an order line bottom-up: material, electricity, setup, overhead, margin, priority, GST.

    Shipping (already including the carrier's own GST) is added after our GST, never taxed.

    A catalog model with a fixed price (`unit_price`, per copy before GST) is sold at it:
    the subtotal is that price times the quantity, whatever the material or infill, and
    the margin is what is left of it after the engine's costs (negative when the price is
    below cost: staff see what the fixed price earns). Priority, GST and shipping apply
    to it as to any price.
    """
    _validate_quantity(quantity)
    _validate_shipping(shipping_cost)
    if unit_price is not None and (not unit_price.is_finite() or unit_price < 0):
        raise InvalidInput(f"a catalog price must be a non-negative amount, got {unit_price!r}")
    chosen_color = material.resolve_color(color)
    # A given estimate (the fitted estimator's, the slicer's) replaces the shell model's.
    est = estimate or estimate_print(geometry, material, printer, settings, infill_pct)
    grams_total = est.grams * quantity
    hours_total = est.print_hours * quantity

    material_cost = _money(_dec(grams_total) / 1000 * _dec(material.cost_per_kg))
    kwh = _dec(hours_total) * _dec(printer.wattage_w) / 1000
    electricity = _money(kwh * _dec(settings.electricity_rate_per_kwh))
    setup = _money(_dec(settings.setup_fee))
    direct = material_cost + electricity + setup
    overhead = _pct(direct, settings.overhead_pct)
    if unit_price is None:
        margin = _pct(direct + overhead, settings.margin_pct)
        subtotal = direct + overhead + margin
    else:
        subtotal = _money(unit_price * quantity)
        margin = subtotal - direct - overhead
    surcharge = _pct(subtotal, settings.priority_surcharge_pct) if priority else _money(Decimal(0))
    pre_tax = subtotal + surcharge
    gst = _pct(pre_tax, settings.gst_pct)
    shipping = _money(shipping_cost)

    # The customer sees two lines; the printing share is rounded and material takes the rest,
    # so the pair always sums to the subtotal to the paisa.
    hidden = electricity + setup + overhead + margin
    # Only a fixed price below the material's cost makes `hidden` negative: no negative line.
    printing_display = _pct(max(hidden, Decimal(0)), settings.display_printing_share_pct)
    material_display = material_cost + hidden - printing_display

    return PriceBreakdown(
        currency=settings.currency,
        settings_version=settings.version,
        material=material.code,
        color=chosen_color,
        quantity=quantity,
        infill_pct=float(infill_pct),
        priority=bool(priority),
        layers=est.layers,
        material_cm3=_round(est.material_cm3, 2),
        grams_per_unit=_round(est.grams, 1),
        grams_total=_round(grams_total, 1),
        print_hours_per_unit=_round(est.print_hours, 2),
        print_hours_total=_round(hours_total, 2),
        material_cost=material_cost,
        electricity_cost=electricity,
        setup_fee=setup,
        overhead=overhead,
        margin=margin,
        subtotal=subtotal,
        priority_surcharge=surcharge,
        pre_tax_total=pre_tax,
        gst_pct=_dec(settings.gst_pct),
        gst=gst,
        shipping=shipping,
        total=pre_tax + gst + shipping,
        material_cost_display=material_display,
        printing_cost_display=printing_display,
        # Informational: the setup fee is per line, so unit x quantity may differ by paise.
        unit_price=_money(pre_tax / quantity),
        printer=printer.to_dict(),
        material_spec=material.to_dict(),
        catalog_unit_price=None if unit_price is None else _money(unit_price),
        estimate=None if estimated_by is None else estimate_record(est, estimated_by),
    )


def estimate_record(est: PrintEstimate, estimated_by: Mapping[str, Any]) -> dict[str, Any]:
    """What produced a price's grams and hours, with the figures exactly (repr strings)."""
    return {
        **estimated_by,
        "layers": est.layers,
        "shell_cm3": repr(est.shell_cm3),
        "material_cm3": repr(est.material_cm3),
        "grams": repr(est.grams),
        "print_hours": repr(est.print_hours),
    }


def recorded_estimate(record: Mapping[str, Any] | None) -> PrintEstimate | None:
    """The estimate a price recorded (estimate_record), or None for the shell model's."""
    if not record:
        return None
    return PrintEstimate(
        layers=int(record["layers"]),
        shell_cm3=float(record["shell_cm3"]),
        material_cm3=float(record["material_cm3"]),
        grams=float(record["grams"]),
        print_hours=float(record["print_hours"]),
    )


def goods_paise(price: PriceBreakdown) -> int:
    """What a coupon discounts: the goods before GST (subtotal and priority), never shipping."""
    return to_paise(price.subtotal + price.priority_surcharge)


def with_discount(
    price: PriceBreakdown, discount_paise: int, coupon: Mapping[str, Any]
) -> PriceBreakdown:
    """The price with a coupon's discount as its own line before GST.

    GST is computed on the discounted value: under Indian GST a discount shown on the
    invoice at the time of supply is not part of the taxable value (CGST Act s. 15(3)(a)).
    Shipping is never discounted (it is the carrier's price, passed on). Rounded once: the
    discount is whole paise, GST is rounded like every line (domain.money.round_to_paise).
    """
    if price.discount:
        raise ValueError("the price already carries a discount")
    goods = price.subtotal + price.priority_surcharge
    discount = from_paise(discount_paise)
    if not 0 <= discount <= goods:
        raise ValueError(f"a discount of {discount} does not fit goods worth {goods}")
    pre_tax = goods - discount
    gst = _pct(pre_tax, price.gst_pct)
    return replace(
        price,
        discount=discount,
        coupon=dict(coupon),
        pre_tax_total=pre_tax,
        gst=gst,
        total=pre_tax + gst + price.shipping,
        unit_price=_money(pre_tax / price.quantity),
    )
