"""Which printer makes a part: the fleet-aware rule behind every quote.

A part is refused only when no active printer set up for its material can make it: one
whose nozzle is fine enough for the part and whose bed fits it in some axis-aligned
orientation. Among the printers that can, the one that prices it is the one that uses the
least electricity for it (kWh = estimated hours x wattage); ties go to the faster printer,
then to the name, so the choice is stable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from domain.catalog import CostSettings, Material, PrinterProfile
from domain.errors import InvalidInput
from domain.pricing import PartGeometry, estimate_print
from domain.printability import require_fit, require_printable


def printable_on_any(geometry: PartGeometry, printers: Sequence[PrinterProfile]) -> None:
    """Refuse geometry no solid has, or finer than every printer's nozzle can make."""
    if not printers:
        raise InvalidInput("no active printer in the fleet; the shop cannot take orders now")
    refusal: InvalidInput | None = None
    for printer in sorted(printers, key=lambda p: p.nozzle_mm):
        try:
            require_printable(geometry, printer)
            return
        except InvalidInput as error:
            refusal = refusal or error  # the finest nozzle's reason is the one to show
    assert refusal is not None
    raise refusal


def choose_printer(
    geometry: PartGeometry,
    material: Material,
    printers: Sequence[PrinterProfile],
    settings: CostSettings,
    infill_pct: float,
) -> PrinterProfile:
    """The active printer that would make the part (see the module docstring), or a refusal."""
    supporting = [p for p in printers if p.supports(material.code)]
    if not supporting:
        raise InvalidInput(f"no active printer is set up for {material.code}")
    printable_on_any(geometry, supporting)
    capable = []
    for printer in supporting:
        try:
            require_printable(geometry, printer)
        except InvalidInput:
            continue
        capable.append(printer)
    fitting = [
        p for p in capable if p.fits(geometry.dim_x_mm, geometry.dim_y_mm, geometry.dim_z_mm)
    ]
    if not fitting:
        if len(capable) == 1:
            require_fit(geometry, capable[0])  # the one printer's bed, as before the fleet
        part = " x ".join(
            f"{d:.0f}" for d in (geometry.dim_x_mm, geometry.dim_y_mm, geometry.dim_z_mm)
        )
        beds = "; ".join(
            f"{p.name} {p.bed_x_mm:.0f} x {p.bed_y_mm:.0f} x {p.bed_z_mm:.0f}" for p in capable
        )
        raise InvalidInput(
            f"the part ({part} mm) does not fit the build volume of any active printer for "
            f"{material.code} in any orientation ({beds} mm)"
        )

    def energy(printer: PrinterProfile) -> tuple[float, float, str]:
        hours = estimate_print(geometry, material, printer, settings, infill_pct).print_hours
        return (hours * printer.wattage_w, hours, printer.name)

    return fitting[0] if len(fitting) == 1 else min(fitting, key=energy)


class FleetChoice:
    """`choose_printer` over one fixed list of printers, prepared once for many quotes.

    Same answer as `choose_printer` (and the same refusal: anything but a success goes to
    it), cheaper per quote on a big fleet: the printers set up for each material are listed
    once, by watts per cm3/h, so a quote visits them cheapest first and stops as soon as no
    later printer can beat the best found. A printer's energy for a part is (m / speed +
    layers x per-layer time) x watts >= m x watts / speed, with m the part's material volume
    (the same on every printer), so once m x watts / speed passes the best energy, every
    later printer's energy does too. The layers' time is the same on every printer of one
    layer height, so once one such printer is estimated, the others are bounded exactly and
    skipped without an estimate when they cannot beat the best. (This leans on the shape
    of `estimate_print`'s hours; tests/unit/test_fleet_selection.py holds the two equal.)
    """

    _SLACK = 1e-9  # float rounding in the bound is ~1e-16: stop only when clearly past it

    def __init__(self, printers: Sequence[PrinterProfile]) -> None:
        self.printers = list(printers)
        self._by_material: dict[str, list[tuple[float, PrinterProfile]]] = {}

    def choose(
        self,
        geometry: PartGeometry,
        material: Material,
        settings: CostSettings,
        infill_pct: float,
    ) -> PrinterProfile:
        """The printer `choose_printer` would choose, or its refusal."""
        dims = (geometry.dim_x_mm, geometry.dim_y_mm, geometry.dim_z_mm)
        best: tuple[float, float, str] = (math.inf, math.inf, "")
        chosen: PrinterProfile | None = None
        material_cm3 = 0.0  # known after the first estimate; until then nothing is bounded
        layer_hours: dict[float, float] = {}  # the per-layer time, by layer height
        for watts_per_speed, printer in self._candidates(material.code):
            beaten = best[0] * (1 + self._SLACK)
            if material_cm3 * watts_per_speed > beaten:
                break
            layers = layer_hours.get(printer.layer_height_mm)
            if layers is not None:
                hours_at_least = material_cm3 / printer.print_speed_cm3_hr + layers
                if hours_at_least * printer.wattage_w > beaten:
                    continue
            if not printer.fits(*dims):
                continue
            try:
                require_printable(geometry, printer)
            except InvalidInput:
                continue
            estimate = estimate_print(geometry, material, printer, settings, infill_pct)
            material_cm3 = estimate.material_cm3
            hours = estimate.print_hours
            per_layer = max(0.0, hours - material_cm3 / printer.print_speed_cm3_hr)
            layer_hours.setdefault(printer.layer_height_mm, per_layer)
            key = (hours * printer.wattage_w, hours, printer.name)
            if key < best:
                best, chosen = key, printer
        if chosen is None:  # nothing can make it: the rule's own refusal, word for word
            return choose_printer(geometry, material, self.printers, settings, infill_pct)
        return chosen

    def _candidates(self, code: str) -> list[tuple[float, PrinterProfile]]:
        found = self._by_material.get(code)
        if found is None:
            found = sorted(
                (
                    (p.wattage_w / p.print_speed_cm3_hr, p)
                    for p in self.printers
                    if p.supports(code)
                ),
                key=lambda pair: pair[0],
            )
            self._by_material[code] = found
        return found
