"""Printability: sizes no solid can have, parts finer than a nozzle, parts too big for a bed."""

from __future__ import annotations

import math

from domain.catalog import PrinterProfile
from domain.errors import InvalidInput
from domain.pricing import PartGeometry

# A box's volume measured from a mesh, or typed with rounded sides, lands a little either
# side of the product of its sides (and a sphere's area of its formula): 5 % is rounding,
# beyond it the numbers describe no solid.
_MEASURE_SLACK = 0.05
# Binary floats: 2 x 0.4 cubed is a hair above 0.512; a part exactly at a limit passes.
_FLOAT_NOISE = 1e-9


def min_feature_mm(printer: PrinterProfile) -> float:
    """The thinnest part a printer makes: two extrusions (a perimeter out and back)."""
    return 2 * printer.nozzle_mm


def require_printable(geometry: PartGeometry, printer: PrinterProfile) -> None:
    """Refuse sizes no solid can have, and parts finer than the printer's nozzle can make."""
    _require_solid(geometry)
    _require_nozzle_scale(geometry, printer)


def _require_solid(geometry: PartGeometry) -> None:
    """Refuse a volume that overflows its bounding box, or an area too small to enclose it."""
    x, y, z = geometry.dim_x_mm, geometry.dim_y_mm, geometry.dim_z_mm
    volume_mm3 = geometry.volume_cm3 * 1000
    box_mm3 = x * y * z
    if volume_mm3 > box_mm3 * (1 + _MEASURE_SLACK):
        raise InvalidInput(
            f"volume_cm3 {geometry.volume_cm3:.6g} is larger than the part's bounding box "
            f"({x:g} x {y:g} x {z:g} mm = {box_mm3 / 1000:.6g} cm3); check the units"
        )
    area = geometry.surface_area_cm2
    # No solid of a given volume has less surface than a sphere (isoperimetric inequality).
    sphere_area = math.cbrt(36 * math.pi * geometry.volume_cm3**2)
    if area is not None and area < sphere_area * (1 - _MEASURE_SLACK):
        raise InvalidInput(
            f"surface_area_cm2 {area:.6g} is smaller than any solid of "
            f"{geometry.volume_cm3:.6g} cm3 can have ({sphere_area:.6g} cm2); check the units"
        )


def _require_nozzle_scale(geometry: PartGeometry, printer: PrinterProfile) -> None:
    """Refuse a part, or walls, thinner than the printer's nozzle can lay down."""
    volume_mm3 = geometry.volume_cm3 * 1000
    area = geometry.surface_area_cm2
    feature = min_feature_mm(printer)
    thinnest = min(geometry.dim_x_mm, geometry.dim_y_mm, geometry.dim_z_mm)
    if thinnest < feature * (1 - _FLOAT_NOISE):
        raise InvalidInput(
            f"the part is {thinnest:.3g} mm thick at its thinnest; a {printer.nozzle_mm:g} mm "
            f"nozzle cannot print a part thinner than {feature:g} mm"
        )
    if volume_mm3 < feature**3 * (1 - _FLOAT_NOISE):
        raise InvalidInput(
            f"the part's volume ({volume_mm3:.3g} mm3) is below the smallest feature a "
            f"{printer.nozzle_mm:g} mm nozzle can print ({feature:g} mm cube, {feature**3:g} mm3)"
        )
    # Volume over area is a part's mean thickness, scaled so that a cube or a ball of side d
    # gives d: a mesh of walls thinner than one extrusion averages below the nozzle.
    if area is not None and 6 * volume_mm3 / (area * 100) < printer.nozzle_mm:
        mean = 6 * volume_mm3 / (area * 100)
        raise InvalidInput(
            f"the part's walls average {mean:.3g} mm thick (6 x volume / surface area), thinner "
            f"than one extrusion of the {printer.nozzle_mm:g} mm nozzle"
        )


def require_fit(geometry: PartGeometry, printer: PrinterProfile) -> None:
    """Refuse a part no orientation fits on the printer's bed."""
    dims = (geometry.dim_x_mm, geometry.dim_y_mm, geometry.dim_z_mm)
    if not printer.fits(*dims):
        part = " x ".join(f"{d:.0f}" for d in dims)
        bed = f"{printer.bed_x_mm:.0f} x {printer.bed_y_mm:.0f} x {printer.bed_z_mm:.0f}"
        raise InvalidInput(f"the part ({part} mm) does not fit the build volume ({bed} mm)")
