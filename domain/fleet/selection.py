"""Which printer makes a part: the fleet-aware rule behind every quote.

A part is refused only when no active printer set up for its material can make it: one
whose nozzle is fine enough for the part and whose bed fits it in some axis-aligned
orientation. Among the printers that can, the one that prices it is the one that uses the
least electricity for it (kWh = estimated hours x wattage); ties go to the faster printer,
then to the name, so the choice is stable.
"""

from __future__ import annotations

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
