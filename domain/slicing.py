"""Real slicing, pure side: the slicer profile we generate, its parsed result and its failures.

Every profile value is a number validated and formatted here or a constant of this module:
nothing a customer or staff member typed reaches the slicer's config (names, notes, colours
are never written). Stored form of a SliceResult: filament grams, mm and cm3 as decimal
strings exactly as the slicer wrote them; seconds, layers and bytes as ints.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, fields
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from domain.catalog import CostSettings, Material, PrinterProfile
from domain.errors import DomainError, InvalidInput

# PrusaSlicer's default extrusion width is 1.125 x the nozzle; perimeters are counted with it.
WIDTH_PER_NOZZLE = Decimal("1.125")
MIN_PERIMETERS = 2
MAX_PERIMETERS = 20
MAX_SOLID_LAYERS = 50
INFILL_PATTERNS = ("gyroid", "grid", "rectilinear", "cubic", "honeycomb", "triangles")
DEFAULT_PATTERN = "gyroid"
# PrusaSlicer refuses other patterns at 100 % ("not supposed to work at 100% density").
SOLID_PATTERN = "rectilinear"
# (nozzle, bed) degrees C by material code; temperatures move no gram or second in the
# estimate, but a G-code a printer can run must set them. Unknown codes get PLA-like heat.
TEMPERATURES: dict[str, tuple[int, int]] = dict(
    PLA=(210, 60), PETG=(240, 80), ABS=(250, 100), ASA=(255, 100), TPU=(230, 50), NYLON=(260, 80)
)  # fmt: skip
DEFAULT_TEMPERATURES = (215, 60)
# mm/s: a conservative desktop-FFF set (close to PrusaSlicer's own 0.20 mm profiles).
DEFAULT_SPEEDS: dict[str, int] = dict(
    perimeter_speed=45, external_perimeter_speed=25, small_perimeter_speed=25, infill_speed=80,
    solid_infill_speed=80, top_solid_infill_speed=40, gap_fill_speed=40, bridge_speed=25,
    first_layer_speed=20, travel_speed=150,
)  # fmt: skip
# TPU is printed slowly or it buckles in the extruder.
_FLEXIBLE = {"TPU"}
_FLEXIBLE_SPEED_CAP = 25
# Our own start/end G-code: fixed text. The end block prints the layer count into the
# summary at the end of the file, so parsing the tail is enough.
START_GCODE = "G28 ; home all axes\\nG1 Z5 F3000\\nG92 E0"
END_GCODE = "; total layers count = [total_layer_count]\\nM104 S0\\nM140 S0\\nG28 X0\\nM84"
# Keys PrusaSlicer would otherwise take from a project file or its defaults; an empty value
# switches the feature off (post_process would run a program).
_FIXED: tuple[tuple[str, str], ...] = (
    ("printer_technology", "FFF"),
    ("gcode_flavor", "marlin2"),
    ("machine_limits_usage", "time_estimate_only"),
    ("machine_max_acceleration_extruding", "1250"),
    ("machine_max_acceleration_retracting", "1250"),
    ("machine_max_acceleration_travel", "1500"),
    ("machine_max_acceleration_x", "1000"),
    ("machine_max_acceleration_y", "1000"),
    ("machine_max_jerk_x", "8"),
    ("machine_max_jerk_y", "8"),
    ("use_relative_e_distances", "1"),
    ("start_gcode", START_GCODE),
    ("end_gcode", END_GCODE),
    ("before_layer_gcode", ""),
    ("layer_gcode", "G92 E0"),
    ("toolchange_gcode", ""),
    ("between_objects_gcode", ""),
    ("color_change_gcode", "M600"),
    ("pause_print_gcode", "M601"),
    ("template_custom_gcode", ""),
    # Per-filament lists are written quoted: a bare empty value is a list of none, which
    # PrusaSlicer 2.5 then reads past (garbage bytes, "Invalid utf8 sequence").
    ("start_filament_gcode", '"; filament start"'),
    ("end_filament_gcode", '"; filament end"'),
    ("post_process", ""),
    ("output_filename_format", "out.gcode"),
    ("notes", ""),
    ("printer_notes", ""),
    ("filament_notes", '""'),
    ("thumbnails", ""),
    ("complete_objects", "0"),
    ("variable_layer_height", "0"),
    ("spiral_vase", "0"),
    ("support_material", "0"),
    ("raft_layers", "0"),
    ("brim_width", "0"),
    ("skirts", "1"),
    ("skirt_distance", "6"),
    ("skirt_height", "1"),
    ("min_skirt_length", "0"),
    ("wipe_tower", "0"),
    ("gcode_comments", "0"),
    ("gcode_label_objects", "0"),
    ("top_solid_min_thickness", "0"),
    ("bottom_solid_min_thickness", "0"),
    ("ensure_vertical_shell_thickness", "1"),
    ("infill_every_layers", "1"),
    # PrusaSlicer's built-in 70 mm2 makes small parts solid in a way no size figure
    # predicts; Prusa's own print presets switch it off too.
    ("solid_infill_below_area", "0"),
    ("cooling", "1"),
    ("slowdown_below_layer_time", "5"),
    ("min_print_speed", "10"),
    ("retract_length", "0.8"),
    ("retract_speed", "35"),
    ("retract_lift", "0"),
    ("filament_cost", "0"),
)


class SliceFailure(StrEnum):
    """Why a slice produced no figures: a closed set, recorded as its value."""

    TIMEOUT = "timeout"
    OUT_OF_MEMORY = "out_of_memory"
    CRASHED = "crashed"
    UNPRINTABLE = "unprintable"
    NO_OUTPUT = "no_output"

    @property
    def message(self) -> str:
        """What a customer or staff member reads."""
        return _FAILURE_MESSAGES[self]


_FAILURE_MESSAGES = {
    SliceFailure.TIMEOUT: "slicing took longer than the time limit",
    SliceFailure.OUT_OF_MEMORY: "slicing needed more memory than the limit",
    SliceFailure.CRASHED: "the slicer stopped with an error",
    SliceFailure.UNPRINTABLE: "the slicer cannot print this model",
    SliceFailure.NO_OUTPUT: "the slicer produced no usable G-code",
}


class SlicingFailed(DomainError):
    """A slice that gave no result: the reason (closed set) and what the slicer said."""

    def __init__(self, reason: SliceFailure, detail: str = "") -> None:
        detail = " ".join(detail.split())[:300]  # one bounded line, safe to store
        super().__init__(f"{reason.message}: {detail}" if detail else reason.message)
        self.reason = reason
        self.detail = detail

    def to_dict(self) -> dict[str, str]:
        """Primitive form, safe to store in an event."""
        return {"reason": self.reason.value, "message": self.message}


class GcodeSummaryError(DomainError):
    """The G-code lacks a figure of the slicer's summary, or reports it as zero."""


def _number(name: str, value: object, low: float, high: float) -> Decimal:
    """A finite number within [low, high] as an exact Decimal, or InvalidInput."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise InvalidInput(f"slice profile: {name} must be a number, got {value!r}")
    number = Decimal(str(value))
    if not number.is_finite() or not Decimal(str(low)) <= number <= Decimal(str(high)):
        raise InvalidInput(f"slice profile: {name} must be between {low:g} and {high:g}")
    return number


def _fmt(value: Decimal, places: int = 4) -> str:
    """Plain digits, at most `places` decimals, no exponent and no trailing zeros."""
    text = format(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def extrusion_width(nozzle_mm: float | Decimal) -> Decimal:
    """The line width every feature is printed with: PrusaSlicer's 1.125 x the nozzle."""
    nozzle = _number("nozzle_mm", nozzle_mm, 0.1, 2.0)
    return (nozzle * WIDTH_PER_NOZZLE).quantize(Decimal("0.001"))


def perimeter_count(wall_mm: float | Decimal, width_mm: Decimal) -> int:
    """Perimeters nearest to the wall thickness (1.2 mm / 0.45 mm -> 3), at least 2."""
    wall = _number("wall_thickness_mm", wall_mm, 0.01, 100.0)
    count = int((wall / width_mm).to_integral_value(rounding=ROUND_HALF_UP))
    return min(MAX_PERIMETERS, max(MIN_PERIMETERS, count))


def solid_layer_count(skin_mm: float | Decimal, layer_mm: float | Decimal) -> int:
    """Solid layers enough to reach the skin thickness (0.8 mm of 0.2 mm layers -> 4)."""
    skin = _number("top_bottom_thickness_mm", skin_mm, 0.0, 100.0)
    layer = _number("layer_height_mm", layer_mm, 0.04, 1.6)
    return min(MAX_SOLID_LAYERS, int((skin / layer).to_integral_value(ROUND_CEILING)))


@dataclass(frozen=True)
class SliceProfile:
    """Every number the slicer needs for one job; `ini_text()` is the file it loads."""

    nozzle_mm: Decimal
    bed_x_mm: Decimal
    bed_y_mm: Decimal
    bed_z_mm: Decimal
    layer_height_mm: Decimal
    extrusion_width_mm: Decimal
    perimeters: int
    top_solid_layers: int
    bottom_solid_layers: int
    infill_pattern: str
    fill_density_pct: Decimal
    filament_diameter_mm: Decimal
    filament_density_g_cm3: Decimal
    temperature_c: int
    bed_temperature_c: int
    speeds_mm_s: tuple[tuple[str, int], ...]

    def __post_init__(self) -> None:
        checks = (
            ("nozzle_mm", 0.1, 2.0),
            ("bed_x_mm", 1.0, 5000.0),
            ("bed_y_mm", 1.0, 5000.0),
            ("bed_z_mm", 1.0, 5000.0),
            ("layer_height_mm", 0.04, 1.6),
            ("extrusion_width_mm", 0.1, 3.0),
            ("fill_density_pct", 0.0, 100.0),
            ("filament_diameter_mm", 1.0, 3.5),
            ("filament_density_g_cm3", 0.3, 25.0),
        )
        for name, low, high in checks:
            object.__setattr__(self, name, _number(name, getattr(self, name), low, high))
        if self.layer_height_mm > self.nozzle_mm:
            raise InvalidInput("slice profile: the layer height exceeds the nozzle")
        for name, low, high in (
            ("perimeters", MIN_PERIMETERS, MAX_PERIMETERS),
            ("top_solid_layers", 0, MAX_SOLID_LAYERS),
            ("bottom_solid_layers", 0, MAX_SOLID_LAYERS),
            ("temperature_c", 150, 450),
            ("bed_temperature_c", 0, 150),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InvalidInput(f"slice profile: {name} must be a whole number {low}-{high}")
        if self.infill_pattern not in INFILL_PATTERNS:
            raise InvalidInput(f"slice profile: infill pattern must be one of {INFILL_PATTERNS}")
        if self.fill_density_pct == 100 and self.infill_pattern != SOLID_PATTERN:
            raise InvalidInput(f"slice profile: 100 % infill is printed {SOLID_PATTERN}")
        if {key for key, _ in self.speeds_mm_s} != set(DEFAULT_SPEEDS) or any(
            isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 1000
            for _, v in self.speeds_mm_s
        ):
            raise InvalidInput("slice profile: speeds must name every speed, 1-1000 mm/s")

    @classmethod
    def for_job(
        cls,
        printer: PrinterProfile,
        material: Material,
        settings: CostSettings,
        infill_pct: float,
        filament_diameter_mm: float = 1.75,
        infill_pattern: str = DEFAULT_PATTERN,
    ) -> SliceProfile:
        """The profile of one printer, material, cost settings and infill."""
        nozzle = _number("nozzle_mm", printer.nozzle_mm, 0.1, 2.0)
        layer = _number("layer_height_mm", printer.layer_height_mm, 0.04, 1.6)
        width = extrusion_width(nozzle)
        perimeters = perimeter_count(settings.wall_thickness_mm, width)
        solid = solid_layer_count(settings.top_bottom_thickness_mm, layer)
        density = _number("infill_pct", infill_pct, 0.0, 100.0)
        pattern = SOLID_PATTERN if density == 100 else infill_pattern
        nozzle_c, bed_c = TEMPERATURES.get(material.code.upper(), DEFAULT_TEMPERATURES)
        cap = _FLEXIBLE_SPEED_CAP if material.code.upper() in _FLEXIBLE else 10**6
        speeds = tuple((key, min(value, cap)) for key, value in DEFAULT_SPEEDS.items())
        return cls(
            nozzle_mm=nozzle,
            bed_x_mm=_number("bed_x_mm", printer.bed_x_mm, 1.0, 5000.0),
            bed_y_mm=_number("bed_y_mm", printer.bed_y_mm, 1.0, 5000.0),
            bed_z_mm=_number("bed_z_mm", printer.bed_z_mm, 1.0, 5000.0),
            layer_height_mm=layer,
            extrusion_width_mm=width,
            perimeters=perimeters,
            top_solid_layers=solid,
            bottom_solid_layers=solid,
            infill_pattern=pattern,
            fill_density_pct=density,
            filament_diameter_mm=_number("filament_diameter_mm", filament_diameter_mm, 1.0, 3.5),
            filament_density_g_cm3=_number("density_g_cm3", material.density_g_cm3, 0.3, 25.0),
            temperature_c=nozzle_c,
            bed_temperature_c=bed_c,
            speeds_mm_s=speeds,
        )

    def to_dict(self) -> dict[str, Any]:
        """Stored form (a job's Requested event): numbers as decimal strings, speeds a list."""
        data: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Decimal):
                value = format(value, "f")
            elif f.name == "speeds_mm_s":
                value = [[key, speed] for key, speed in value]
            data[f.name] = value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SliceProfile:
        """The profile a job was requested with (checked like any new one)."""
        values = dict(data)
        values["speeds_mm_s"] = tuple((str(k), int(v)) for k, v in data["speeds_mm_s"])
        for f in fields(cls):
            if isinstance(values.get(f.name), str) and f.name != "infill_pattern":
                values[f.name] = _decimal(values[f.name], f.name)
        return cls(**values)

    def center_mm(self) -> tuple[Decimal, Decimal]:
        """The bed's centre, where the part is placed (`--center`)."""
        return self.bed_x_mm / 2, self.bed_y_mm / 2

    def settings(self) -> list[tuple[str, str]]:
        """The config's (key, value) pairs in a fixed order: our numbers, then constants."""
        x, y = _fmt(self.bed_x_mm), _fmt(self.bed_y_mm)
        width = _fmt(self.extrusion_width_mm)
        ours = [
            ("bed_shape", f"0x0,{x}x0,{x}x{y},0x{y}"),
            ("max_print_height", _fmt(self.bed_z_mm)),
            ("nozzle_diameter", _fmt(self.nozzle_mm)),
            ("layer_height", _fmt(self.layer_height_mm)),
            ("first_layer_height", _fmt(self.layer_height_mm)),
            ("extrusion_width", width),
            ("perimeter_extrusion_width", width),
            ("external_perimeter_extrusion_width", width),
            ("infill_extrusion_width", width),
            ("solid_infill_extrusion_width", width),
            ("top_infill_extrusion_width", width),
            ("first_layer_extrusion_width", width),
            ("perimeters", str(self.perimeters)),
            ("top_solid_layers", str(self.top_solid_layers)),
            ("bottom_solid_layers", str(self.bottom_solid_layers)),
            ("fill_pattern", self.infill_pattern),
            ("fill_density", f"{_fmt(self.fill_density_pct, 2)}%"),
            ("filament_diameter", _fmt(self.filament_diameter_mm)),
            ("filament_density", _fmt(self.filament_density_g_cm3)),
            ("temperature", str(self.temperature_c)),
            ("first_layer_temperature", str(self.temperature_c)),
            ("bed_temperature", str(self.bed_temperature_c)),
            ("first_layer_bed_temperature", str(self.bed_temperature_c)),
        ]
        ours += [(key, str(value)) for key, value in self.speeds_mm_s]
        return ours + list(_FIXED)

    def ini_text(self) -> str:
        """The PrusaSlicer config file (`key = value` lines) for `--load`."""
        return "".join(f"{key} = {value}\n" for key, value in self.settings())

    def fingerprint(self) -> str:
        """Short SHA-256 of the canonical config: equal profiles slice alike."""
        return hashlib.sha256(self.ini_text().encode()).hexdigest()[:16]

    def summary(self) -> dict[str, Any]:
        """The figures worth recording next to a result (JSON-safe)."""
        return {
            "fingerprint": self.fingerprint(),
            "nozzle_mm": _fmt(self.nozzle_mm),
            "layer_height_mm": _fmt(self.layer_height_mm),
            "perimeters": self.perimeters,
            "top_solid_layers": self.top_solid_layers,
            "bottom_solid_layers": self.bottom_solid_layers,
            "infill_pattern": self.infill_pattern,
            "fill_density_pct": _fmt(self.fill_density_pct, 2),
            "filament_diameter_mm": _fmt(self.filament_diameter_mm),
            "filament_density_g_cm3": _fmt(self.filament_density_g_cm3),
        }


_DECIMALS = ("filament_g", "filament_mm", "filament_cm3")
_INTS = ("print_seconds", "layers", "gcode_bytes")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class SliceResult:
    """What the slicer made of one model with one profile (the firm figures)."""

    filament_g: Decimal
    filament_mm: Decimal
    filament_cm3: Decimal
    print_seconds: int
    layers: int
    slicer_version: str
    profile_fingerprint: str
    gcode_sha256: str
    gcode_bytes: int

    def __post_init__(self) -> None:
        for name in _DECIMALS:
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
                raise InvalidInput(f"{name} must be a positive Decimal, got {value!r}")
        for name in _INTS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise InvalidInput(f"{name} must be a positive whole number, got {value!r}")
        if not _SHA256.match(self.gcode_sha256):
            raise InvalidInput("gcode_sha256 must be 64 lower-case hex digits")
        if not self.slicer_version or not self.profile_fingerprint:
            raise InvalidInput("a slice result names its slicer version and profile")

    @property
    def print_hours(self) -> Decimal:
        """The slicer's print time in hours (exact quotient, rounded to 6 places)."""
        return (Decimal(self.print_seconds) / 3600).quantize(Decimal("0.000001"))

    def to_dict(self) -> dict[str, Any]:
        """Stored form: grams/mm/cm3 as decimal strings, the rest ints and strings."""
        return {
            f.name: format(v, "f") if isinstance(v := getattr(self, f.name), Decimal) else v
            for f in fields(self)
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SliceResult:
        """Rebuild from the stored form."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = data[f.name]
            if f.name in _DECIMALS:
                if not isinstance(raw, str):
                    raise InvalidInput(f"{f.name} is stored as a decimal string")
                values[f.name] = _decimal(raw, f.name)
            else:
                values[f.name] = raw
        return cls(**values)


def _decimal(text: str, name: str) -> Decimal:
    try:
        return Decimal(text.strip())
    except InvalidOperation as error:
        raise InvalidInput(f"{name}: {text[:40]!r} is not a number") from error


_FIGURE = re.compile(r"^; filament used \[(mm|cm3|g)\] = (.+)$", re.MULTILINE)
_TIME = re.compile(r"^; estimated printing time \(normal mode\) = (.+)$", re.MULTILINE)
_TOTAL_LAYERS = re.compile(r"^; total layers count = (\d+)\s*$", re.MULTILINE)
_LAYER_CHANGE = re.compile(r"^;LAYER_CHANGE\s*$", re.MULTILINE)
_DURATION_PART = re.compile(r"(\d+)([dhms])")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> int:
    """Seconds of PrusaSlicer's '1d 2h 3m 4s' (any of the parts may be absent)."""
    parts = text.split()
    matches = [_DURATION_PART.fullmatch(p) for p in parts]
    if not parts or any(m is None for m in matches):
        raise GcodeSummaryError(f"print time {text[:40]!r} is not like '1d 2h 3m 4s'")
    return sum(int(m.group(1)) * _UNIT_SECONDS[m.group(2)] for m in matches if m)


def parse_gcode_summary(text: str) -> dict[str, Any]:
    """Figures of PrusaSlicer's summary comments: filament mm/cm3/g, seconds and layers.

    `text` is the end of a G-code file (or all of it). Figures per extruder are summed.
    Layers come from `; total layers count` (our end G-code writes it), else from the
    `;LAYER_CHANGE` markers. A missing or zero figure is a GcodeSummaryError naming it.
    """
    figures: dict[str, Any] = {}
    for unit, raw in _FIGURE.findall(text):
        values = [_summary_decimal(v, unit) for v in raw.split(",")]
        figures[f"filament_{unit}"] = sum(values, Decimal(0))
    for unit in ("mm", "cm3", "g"):
        name = f"filament_{unit}"
        if name not in figures:
            raise GcodeSummaryError(f"the G-code has no '; filament used [{unit}]' line")
        if figures[name] <= 0:
            hint = " (is the filament density set?)" if unit == "g" else ""
            raise GcodeSummaryError(f"the slicer reports 0 filament [{unit}]{hint}")
    times = _TIME.findall(text)
    if not times:
        raise GcodeSummaryError("the G-code has no '; estimated printing time' line")
    figures["print_seconds"] = parse_duration(times[-1])
    if figures["print_seconds"] <= 0:
        raise GcodeSummaryError("the slicer reports a print time of 0 s")
    totals = _TOTAL_LAYERS.findall(text)
    figures["layers"] = int(totals[-1]) if totals else len(_LAYER_CHANGE.findall(text))
    if figures["layers"] <= 0:
        raise GcodeSummaryError("the G-code has no layers")
    return figures


def _summary_decimal(raw: str, unit: str) -> Decimal:
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise GcodeSummaryError(f"filament [{unit}] {raw.strip()[:40]!r} is no number") from None
    if not value.is_finite() or value < 0:
        raise GcodeSummaryError(f"filament [{unit}] {raw.strip()[:40]!r} is no amount")
    return value
