"""Catalog value objects (materials, printer profiles, cost settings) and their defaults."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from typing import Any

from domain.errors import InvalidInput
from domain.money import (
    as_decimal,
    decimal_places,
    decimal_text,
    from_paise,
    paise_from_legacy_rupees,
    round_to_paise,
    to_paise,
)
from domain.shipping import validate_pincode


def _require(condition: bool, message: str) -> None:
    """Refuse a value object whose numbers make no physical or business sense."""
    if not condition:
        raise InvalidInput(message)


def _positive(value: float) -> bool:
    return math.isfinite(value) and value > 0


def _non_negative(value: float) -> bool:
    return math.isfinite(value) and value >= 0


@dataclass(frozen=True)
class Material:
    """A printable filament: what it weighs, what it costs, which colours we stock."""

    code: str
    display_name: str
    density_g_cm3: float
    # Exact money (rupees per kg, Decimal); a float given here is read as written.
    cost_per_kg: Decimal
    colors: tuple[str, ...]
    active: bool = True
    notes: str = ""

    def __post_init__(self) -> None:
        _require(bool(self.code.strip()), "material code must not be empty")
        _require(_positive(self.density_g_cm3), f"{self.code}: density must be positive")
        # Rounded to the paisa, half up (domain.money), the one time it is rounded.
        cost = round_to_paise(as_decimal(self.cost_per_kg, "cost_per_kg"))
        object.__setattr__(self, "cost_per_kg", cost)
        _require(self.cost_per_kg >= 0, f"{self.code}: cost per kg must be >= 0")
        _require(len(self.colors) > 0, f"{self.code}: offer at least one colour")

    @property
    def default_color(self) -> str:
        """The colour preselected in the quote form (the first one listed)."""
        return self.colors[0]

    def resolve_color(self, color: str | None) -> str:
        """Return the stocked spelling of color (default if None) or refuse it."""
        if color is None or not color.strip():
            return self.default_color
        for offered in self.colors:
            if offered.casefold() == color.strip().casefold():
                return offered
        raise InvalidInput(
            f"colour '{color}' is not offered in {self.code}; "
            f"choose one of {', '.join(self.colors)}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Primitive form, safe to store in an event."""
        data = asdict(self)
        data["colors"] = list(self.colors)
        del data["cost_per_kg"]
        data["cost_per_kg_paise"] = to_paise(self.cost_per_kg)  # exact in any store
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Material:
        """Rebuild from the primitive form (older events hold cost_per_kg as rupee floats)."""
        if "cost_per_kg_paise" in data:
            cost = from_paise(int(data["cost_per_kg_paise"]))
        else:
            cost = from_paise(paise_from_legacy_rupees(data["cost_per_kg"]))
        return cls(
            code=str(data["code"]),
            display_name=str(data["display_name"]),
            density_g_cm3=float(data["density_g_cm3"]),
            cost_per_kg=cost,
            colors=tuple(str(c) for c in data["colors"]),
            active=bool(data.get("active", True)),
            notes=str(data.get("notes", "")),
        )


@dataclass(frozen=True)
class PrinterProfile:
    """The machine figures the cost engine needs: power draw, throughput, layers, bed."""

    name: str
    wattage_w: float
    print_speed_cm3_hr: float
    layer_height_mm: float
    nozzle_mm: float
    bed_x_mm: float
    bed_y_mm: float
    bed_z_mm: float
    materials: tuple[str, ...]

    def __post_init__(self) -> None:
        for field in ("print_speed_cm3_hr", "layer_height_mm", "nozzle_mm"):
            _require(_positive(getattr(self, field)), f"{self.name}: {field} must be positive")
        for field in ("bed_x_mm", "bed_y_mm", "bed_z_mm"):
            _require(_positive(getattr(self, field)), f"{self.name}: {field} must be positive")
        _require(_non_negative(self.wattage_w), f"{self.name}: wattage_w must be >= 0")

    def supports(self, material_code: str) -> bool:
        """Whether this printer is set up for the material."""
        return material_code.upper() in (m.upper() for m in self.materials)

    def fits(self, dim_x_mm: float, dim_y_mm: float, dim_z_mm: float) -> bool:
        """Whether a part fits the build volume in some axis-aligned orientation."""
        part = sorted((dim_x_mm, dim_y_mm, dim_z_mm))
        bed = sorted((self.bed_x_mm, self.bed_y_mm, self.bed_z_mm))
        return all(p <= b for p, b in zip(part, bed, strict=True))

    def to_dict(self) -> dict[str, Any]:
        """Primitive form, safe to store in an event."""
        data = asdict(self)
        data["materials"] = list(self.materials)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PrinterProfile:
        """Rebuild from the primitive form."""
        numbers = {
            key: float(data[key])
            for key in (
                "wattage_w",
                "print_speed_cm3_hr",
                "layer_height_mm",
                "nozzle_mm",
                "bed_x_mm",
                "bed_y_mm",
                "bed_z_mm",
            )
        }
        return cls(
            name=str(data["name"]),
            materials=tuple(str(m) for m in data["materials"]),
            **numbers,
        )


# Admin-editable engine parameters: (lowest, highest, most decimal places). Money is whole
# paise; rates take the precision a tariff or a tax notice is written with.
COST_LIMITS: dict[str, tuple[Decimal, Decimal, int]] = {
    # ₹/kWh; Indian commercial tariffs are single digits, 100 is a typo guard.
    "electricity_rate_per_kwh": (Decimal(0), Decimal(100), 4),
    # Rupees per order line.
    "setup_fee": (Decimal(0), Decimal(100_000), 2),
    "overhead_pct": (Decimal(0), Decimal(100), 2),
    "margin_pct": (Decimal(0), Decimal(500), 2),
    "priority_surcharge_pct": (Decimal(0), Decimal(200), 2),
    # 28 % is the highest GST slab.
    "gst_pct": (Decimal(0), Decimal(28), 2),
    "display_printing_share_pct": (Decimal(0), Decimal(100), 2),
}
# Money among them: stored as `<name>_paise` (see domain.money for the convention).
COST_MONEY = ("setup_fee",)


@dataclass(frozen=True)
class CostSettings:
    """One version of the pricing parameters; each order records the version that priced it.

    Money and rates are exact Decimals (ints, floats and strings are read as written).
    """

    version: int = 1
    # Indian commercial electricity tariffs run roughly ₹7-10/kWh.
    electricity_rate_per_kwh: Decimal = Decimal("8")
    # Slicing, bed preparation and part removal: paid once per order line, not per copy.
    setup_fee: Decimal = Decimal("30.00")
    # Failed prints, printer wear, nozzles, rent: a share of the direct costs.
    overhead_pct: Decimal = Decimal("15")
    margin_pct: Decimal = Decimal("30")
    # Matches the storefront's "Priority Print (+25%)".
    priority_surcharge_pct: Decimal = Decimal("25")
    # GST on 3D-printing job work in India.
    gst_pct: Decimal = Decimal("18")
    # 3 perimeters of a 0.4 mm nozzle, the common slicer default.
    wall_thickness_mm: float = 1.2
    # 4 layers of 0.2 mm; the estimate folds skins into the wall shell, kept for slicer parity.
    top_bottom_thickness_mm: float = 0.8
    # Travel, retraction and layer change time that does not depend on extruded volume.
    per_layer_seconds: float = 4.0
    # Share of hidden costs shown as "Printing cost" (the seed's default is 60).
    display_printing_share_pct: Decimal = Decimal("60")
    currency: str = "INR"
    # Bengaluru GPO; shipping zones are measured from here.
    origin_pincode: str = "560001"

    def __post_init__(self) -> None:
        _require(self.version >= 1, "settings version must be 1 or more")
        for field, (low, high, places) in COST_LIMITS.items():
            value = as_decimal(getattr(self, field), field)
            _require(low <= value <= high, f"{field} must be between {low} and {high}, got {value}")
            _require(
                decimal_places(value) <= places,
                f"{field} takes at most {places} decimal places, got {value}",
            )
            object.__setattr__(self, field, value)
        for field in ("per_layer_seconds", "top_bottom_thickness_mm"):
            _require(_non_negative(getattr(self, field)), f"{field} must be a number >= 0")
        _require(_positive(self.wall_thickness_mm), "wall_thickness_mm must be positive")
        _require(bool(self.currency.strip()), "currency must not be empty")
        validate_pincode(self.origin_pincode, "origin_pincode")

    def changed(self, changes: dict[str, Any]) -> CostSettings:
        """The next version with some editable parameters changed (validated like any)."""
        _require(bool(changes), f"give at least one of {', '.join(COST_LIMITS)}")
        unknown = sorted(set(changes) - set(COST_LIMITS))
        _require(
            not unknown, f"cannot change {', '.join(unknown)}; editable: {', '.join(COST_LIMITS)}"
        )
        return replace(self, version=self.version + 1, **changes)

    def editable(self) -> dict[str, Decimal]:
        """The admin-editable parameters by name."""
        return {field: getattr(self, field) for field in COST_LIMITS}

    def to_dict(self) -> dict[str, Any]:
        """Stored form: money in paise, rates as decimal strings (the version is the stream's)."""
        data = asdict(self)
        del data["version"]
        for field in COST_LIMITS:
            if field in COST_MONEY:
                data[f"{field}_paise"] = to_paise(data.pop(field))
            else:
                data[field] = decimal_text(data[field])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], version: int | None = None) -> CostSettings:
        """Rebuild from the stored form; missing keys take today's defaults."""
        values: dict[str, Any] = {}
        for key, default in asdict(cls()).items():
            stored = f"{key}_paise" if key in COST_MONEY else key
            if stored not in data:
                continue
            if key in COST_MONEY:
                values[key] = from_paise(data[stored])
            elif key in COST_LIMITS:
                values[key] = data[stored]  # __post_init__ makes it an exact Decimal
            else:
                values[key] = type(default)(data[stored])
        if version is not None:
            values["version"] = version
        return cls(**values)


def upcast_cost_settings_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Settings stored as floats (event version 1) in today's stored form."""
    upgraded = {k: v for k, v in data.items() if k != "version"}
    for field in COST_LIMITS:
        if field not in upgraded:
            continue
        if field in COST_MONEY:
            upgraded[f"{field}_paise"] = paise_from_legacy_rupees(upgraded.pop(field))
        else:
            upgraded[field] = decimal_text(as_decimal(upgraded[field], field))
    return upgraded


def find_material(code: str, materials: Iterable[Material]) -> Material:
    """The active material with this code (case-insensitive), or a refusal naming the choices."""
    active = [m for m in materials if m.active]
    for material in active:
        if material.code.casefold() == str(code).strip().casefold():
            return material
    choices = ", ".join(m.code for m in active)
    raise InvalidInput(f"unknown material '{code}'; choose one of {choices}")


DEFAULT_MATERIALS: tuple[Material, ...] = (
    Material(
        code="PLA",
        display_name="PLA (matte/standard)",
        density_g_cm3=1.24,
        cost_per_kg=Decimal("1200"),
        colors=("Black", "White", "Grey", "Red", "Blue", "Green", "Yellow", "Orange"),
    ),
    Material(
        code="PETG",
        display_name="PETG (tough, food-safe grades)",
        density_g_cm3=1.27,
        cost_per_kg=Decimal("1400"),
        colors=("Black", "White", "Transparent", "Blue", "Red", "Orange"),
    ),
    Material(
        code="ABS",
        display_name="ABS (heat resistant)",
        density_g_cm3=1.04,
        cost_per_kg=Decimal("1300"),
        colors=("Black", "White", "Grey", "Red", "Blue"),
    ),
    Material(
        code="TPU",
        display_name="TPU 95A (flexible)",
        density_g_cm3=1.21,
        cost_per_kg=Decimal("2200"),
        colors=("Black", "White", "Red", "Translucent"),
    ),
)

# A Prusa/Bambu-class bed slinger: the 250x210x220 build volume, a 0.4 mm nozzle at 0.2 mm
# layers, ~120 W average draw once the bed is hot, ~15 cm3/h real (not peak) throughput.
DEFAULT_PRINTER = PrinterProfile(
    name="Standard FDM 250",
    wattage_w=120.0,
    print_speed_cm3_hr=15.0,
    layer_height_mm=0.2,
    nozzle_mm=0.4,
    bed_x_mm=250.0,
    bed_y_mm=210.0,
    bed_z_mm=220.0,
    materials=("PLA", "PETG", "ABS", "TPU"),
)

DEFAULT_COST_SETTINGS = CostSettings(version=1)
