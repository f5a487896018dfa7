"""The instant estimate that learns: linear in physical features, fitted to slicer results.

Version 0 is today's shell model (domain.pricing.estimate_print), unchanged. A fitted model
holds coefficients per (printer profile name, material code), falls back to the printer's
coefficients fitted on all its materials, and finally to the shell model. Stored form (a
versioned shop setting): coefficients as exact decimal strings, see `to_dict`.

Features (mm, mm3 or seconds' worth of path, from the part's size and the slice rules in
domain.slicing; `features()` returns them by name):

- the part is seen as a prism of its height: top + bottom area `hor = min(A, 2 V / Z)`,
  side area `side = A - hor`;
- solid shell: side x wall (perimeters x line spacing + one line) plus hor x skin (solid
  layers x layer height), capped at the volume (a thin part is solid throughout);
- interior = volume - shell, printed at the infill fraction.

material_cm3 = c . [shell, interior x infill, interior, Z x wall^2 (the corners
  perimeters cut off), bounding-box outline x line section (the skirt; its fitted
  coefficient also corrects the prism view of wide, low parts, so it may come out < 0)]
print_seconds = d . [perimeter path, skin path, infill path, interior path, layers,
  outline path (A / layer height), 1 (start-up)]; paths are volumes / line section.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.catalog import CostSettings, Material, PrinterProfile
from domain.errors import InvalidInput
from domain.pricing import PartGeometry, PrintEstimate, estimate_print
from domain.slicing import extrusion_width, perimeter_count, solid_layer_count

# Bump when a feature's definition changes: coefficients fitted to other features are not
# applied to these (the model falls back to the shell model until it is refitted).
FEATURES_VERSION = 1
MATERIAL_FEATURES = ("shell", "infill", "interior", "corners", "bed_outline")
TIME_FEATURES = (
    "perimeter_path",
    "skin_path",
    "infill_path",
    "interior_path",
    "layers",
    "outline_path",
    "start",
)
# A perimeter's cross-section is a rectangle with round ends: the line spacing is the
# width less the height x (1 - pi/4) (PrusaSlicer's Flow).
_ROUND_ENDS = 1 - math.pi / 4
_SIGNIFICANT = 10  # digits kept of a fitted coefficient


def _key(printer: str, material: str) -> tuple[str, str]:
    return printer, material.strip().upper()


def layer_count(geometry: PartGeometry, printer: PrinterProfile) -> int:
    """Layers of the part, as estimate_print counts them (Decimal: no phantom layer)."""
    return math.ceil(Decimal(str(geometry.dim_z_mm)) / Decimal(str(printer.layer_height_mm)))


def horizontal_area(x: float, y: float, z: float, volume: float, area: float) -> float:
    """Top + bottom area (mm2) if the part were a prism of its height, at most its area."""
    return min(area, 2 * volume / z)


def features(
    geometry: PartGeometry, printer: PrinterProfile, settings: CostSettings, infill_pct: float
) -> dict[str, float]:
    """Every feature of both models by name (see the module docstring), in mm-based units."""
    if not math.isfinite(infill_pct) or not 0 <= infill_pct <= 100:
        raise InvalidInput(f"infill must be between 0 and 100 percent, got {infill_pct!r}")
    width = float(extrusion_width(printer.nozzle_mm))
    layer = printer.layer_height_mm
    perimeters = perimeter_count(settings.wall_thickness_mm, Decimal(str(width)))
    wall = (perimeters - 1) * (width - layer * _ROUND_ENDS) + width
    skin = solid_layer_count(settings.top_bottom_thickness_mm, layer) * layer
    x, y, z = geometry.dim_x_mm, geometry.dim_y_mm, geometry.dim_z_mm
    volume = geometry.volume_cm3 * 1000
    area = geometry.effective_surface_area_cm2() * 100
    horizontal = horizontal_area(x, y, z, volume, area)
    side = area - horizontal
    shell_raw = side * wall + horizontal * skin
    shell = min(volume, shell_raw)
    share = shell / shell_raw if shell_raw > 0 else 1.0  # the cap shrinks walls and skins alike
    interior = volume - shell
    fill = infill_pct / 100
    section = width * layer
    layers = layer_count(geometry, printer)
    return {
        "shell": shell,
        "infill": interior * fill,
        "interior": interior,
        "corners": z * wall**2,
        "bed_outline": 2 * (x + y) * section,
        "perimeter_path": side * wall * share / section,
        "skin_path": horizontal * skin * share / section,
        "infill_path": interior * fill / section,
        "interior_path": interior / section,
        "layers": float(layers),
        "outline_path": area / layer,
        "start": 1.0,
    }


@dataclass(frozen=True)
class Coefficients:
    """One group's fitted coefficients, in the order of MATERIAL_ and TIME_FEATURES."""

    material: tuple[Decimal, ...]
    time: tuple[Decimal, ...]
    samples: int  # how many slicer results they were fitted to

    def __post_init__(self) -> None:
        if len(self.material) != len(MATERIAL_FEATURES) or len(self.time) != len(TIME_FEATURES):
            raise InvalidInput("coefficients do not match the estimator's features")
        if not all(isinstance(c, Decimal) and c.is_finite() for c in self.material + self.time):
            raise InvalidInput("coefficients must be finite decimals")
        if isinstance(self.samples, bool) or not isinstance(self.samples, int) or self.samples < 1:
            raise InvalidInput("coefficients name how many samples they were fitted to")

    @classmethod
    def from_floats(cls, material: list[float], time: list[float], samples: int) -> Coefficients:
        """Fitted floats kept to 10 significant digits, exactly, as decimals."""
        return cls(_decimals(material), _decimals(time), samples)

    def to_dict(self) -> dict[str, Any]:
        """Stored form: the coefficients of each model as decimal strings."""
        return {
            "material_cm3": [format(c, "f") for c in self.material],
            "print_seconds": [format(c, "f") for c in self.time],
            "samples": self.samples,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Coefficients:
        """Rebuild from the stored form."""
        material, time = _parsed(data["material_cm3"]), _parsed(data["print_seconds"])
        return cls(material, time, int(data["samples"]))


def _decimals(values: list[float]) -> tuple[Decimal, ...]:
    if not all(math.isfinite(v) for v in values):
        raise InvalidInput("a fitted coefficient is not a finite number")
    return tuple(Decimal(f"{v:.{_SIGNIFICANT}g}") for v in values)


def _parsed(values: object) -> tuple[Decimal, ...]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise InvalidInput("stored coefficients are a list of decimal strings")
    try:
        return tuple(Decimal(v) for v in values)
    except InvalidOperation as error:
        raise InvalidInput("a stored coefficient is not a number") from error


@dataclass(frozen=True)
class Prediction:
    """What the model predicts for one part before density turns cm3 into grams."""

    layers: int
    shell_cm3: float
    material_cm3: float
    print_seconds: float
    source: str  # "group", "printer" or "shell": which coefficients answered


@dataclass(frozen=True)
class EstimatorModel:
    """A versioned estimator: version 0 is the shell model, later ones are fitted."""

    version: int = 0
    groups: Mapping[tuple[str, str], Coefficients] = field(default_factory=dict)
    printers: Mapping[str, Coefficients] = field(default_factory=dict)
    features_version: int = FEATURES_VERSION

    def __post_init__(self) -> None:
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 0:
            raise InvalidInput("estimator version must be a whole number >= 0")
        if self.version == 0 and (self.groups or self.printers):
            raise InvalidInput("version 0 is the shell model: it has no coefficients")

    @classmethod
    def shell(cls) -> EstimatorModel:
        """Version 0: today's shell model (domain.pricing.estimate_print)."""
        return cls()

    def coefficients_for(self, printer: str, material: str) -> Coefficients | None:
        """The group's coefficients, else the printer's, else None (the shell model)."""
        if self.features_version != FEATURES_VERSION:
            return None  # fitted to features this code no longer computes
        return self.groups.get(_key(printer, material)) or self.printers.get(printer)

    def predict(
        self,
        geometry: PartGeometry,
        material_code: str,
        printer: PrinterProfile,
        settings: CostSettings,
        infill_pct: float,
    ) -> Prediction:
        """Material (cm3), seconds and layers of one copy, and which coefficients said so."""
        chosen = self.coefficients_for(printer.name, material_code)
        grouped = chosen is not None and chosen is self.groups.get(
            _key(printer.name, material_code)
        )
        source = "group" if grouped else "printer"
        if chosen is not None:
            values = features(geometry, printer, settings, infill_pct)
            material = _dot(chosen.material, MATERIAL_FEATURES, values) / 1000
            seconds = _dot(chosen.time, TIME_FEATURES, values)
            # A linear fit can go negative far outside what it was fitted on: never quote that.
            if material > 0 and seconds > 0:
                return Prediction(
                    int(values["layers"]), values["shell"] / 1000, material, seconds, source
                )
        shell = estimate_print(
            geometry, _unit_density(material_code), printer, settings, infill_pct
        )
        return Prediction(
            shell.layers, shell.shell_cm3, shell.material_cm3, shell.print_hours * 3600, "shell"
        )

    def estimate(
        self,
        geometry: PartGeometry,
        material: Material,
        printer: PrinterProfile,
        settings: CostSettings,
        infill_pct: float,
    ) -> PrintEstimate:
        """The estimate of one copy, the same type (and at version 0 the same figures) as
        domain.pricing.estimate_print, so a quote can take either."""
        if self.coefficients_for(printer.name, material.code) is None:
            return estimate_print(geometry, material, printer, settings, infill_pct)
        found = self.predict(geometry, material.code, printer, settings, infill_pct)
        return PrintEstimate(
            layers=found.layers,
            shell_cm3=found.shell_cm3,
            material_cm3=found.material_cm3,
            grams=found.material_cm3 * material.density_g_cm3,
            print_hours=found.print_seconds / 3600,
        )

    def to_dict(self) -> dict[str, Any]:
        """Stored form (JSON-safe): version, features version and coefficients as strings."""
        return {
            "version": self.version,
            "features_version": self.features_version,
            "groups": [
                {"printer": printer, "material": material, **coefficients.to_dict()}
                for (printer, material), coefficients in sorted(self.groups.items())
            ],
            "printers": [
                {"printer": printer, **coefficients.to_dict()}
                for printer, coefficients in sorted(self.printers.items())
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EstimatorModel:
        """Rebuild from the stored form (coefficients of other features load, unused)."""
        try:
            groups = {
                _key(str(g["printer"]), str(g["material"])): Coefficients.from_dict(g)
                for g in data.get("groups", [])
            }
            printers = {
                str(p["printer"]): Coefficients.from_dict(p) for p in data.get("printers", [])
            }
            return cls(
                version=int(data["version"]),
                groups=groups,
                printers=printers,
                features_version=int(data.get("features_version", FEATURES_VERSION)),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidInput(f"not a stored estimator model: {error}") from error


def _dot(
    coefficients: tuple[Decimal, ...], names: tuple[str, ...], values: dict[str, float]
) -> float:
    return sum(float(c) * values[name] for c, name in zip(coefficients, names, strict=True))


def _unit_density(code: str) -> Material:
    """A stand-in material for the shell model's cm3 (its grams are not used)."""
    return Material(
        code=code or "?",
        display_name=code,
        density_g_cm3=1.0,
        cost_per_kg=Decimal(0),
        colors=("-",),
    )
