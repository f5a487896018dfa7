"""Which printers can make an order, and in what order staff should consider them.

Verdict: a printer is compatible with an order when every check passes; otherwise each
failed check is a reason, in this order:

- the printer is active;
- it is set up for the order's material;
- the order's colour is loaded, when the printer lists its loaded colours (an empty list
  means the operator does not track spools: any colour may be loaded);
- the part fits its bed in some axis-aligned orientation (PrinterProfile.fits);
- the part is printable with its nozzle (domain.printability.require_printable, the same
  rule quotes use).

Ranking: compatible printers first, then by score ascending, then by name and id (stable):

    score = load_hours + distance_km / 100

load_hours are the print hours already on the printer (assigned orders pending, confirmed
or printing; the order itself is left out of its current printer's load); distance_km is
the great-circle distance from the order's destination PIN (its shipping PIN, or the
shop's origin PIN for pickup) to the printer's PIN. So 100 km of shipping weighs like an
hour of queue. A distance that cannot be computed (a PIN without coordinates) counts as
UNKNOWN_DISTANCE_KM, the length of India, so it never beats a known one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.catalog import PrinterProfile
from domain.errors import InvalidInput
from domain.fleet.printers import PrinterSpec
from domain.orders import Order
from domain.pricing import PartGeometry
from domain.printability import require_printable

KM_PER_HOUR_OF_LOAD = 100.0
UNKNOWN_DISTANCE_KM = 3000.0

COMPATIBLE = "compatible"
INCOMPATIBLE = "incompatible"


@dataclass(frozen=True)
class OrderNeeds:
    """What an order asks of a printer."""

    material: str
    color: str
    geometry: PartGeometry | None  # None when the stored model has no usable size
    destination_pincode: str
    own_hours: float  # the order's print hours (left out of its current printer's load)
    printer_id: str | None  # the printer it is on now

    @classmethod
    def of(cls, order: Order, *, shop_pincode: str) -> OrderNeeds:
        """The needs of a stored order; pickup orders are measured from the shop's PIN."""
        address = order.shipping_address or {}
        destination = address.get("zip", "") if order.fulfillment == "shipping" else ""
        return cls(
            material=order.material,
            color=order.color,
            geometry=_geometry(order.model),
            destination_pincode=str(destination).strip() or shop_pincode,
            own_hours=float(order.price.get("print_hours_total", 0) or 0),
            printer_id=order.printer_id,
        )


def _geometry(model: Mapping[str, Any]) -> PartGeometry | None:
    try:
        return PartGeometry(
            dim_x_mm=float(model["dim_x_mm"]),
            dim_y_mm=float(model["dim_y_mm"]),
            dim_z_mm=float(model["dim_z_mm"]),
            volume_cm3=float(model["volume_cm3"]),
            surface_area_cm2=(
                float(model["surface_area_cm2"]) if model.get("surface_area_cm2") else None
            ),
        )
    except (KeyError, TypeError, ValueError, InvalidInput):
        return None


@dataclass(frozen=True)
class FleetPrinter:
    """A printer as ranking reads it: its spec and what is derived from it once per change
    of the fleet (the profile, upper-cased materials, case-folded loaded colours)."""

    printer_id: str
    spec: PrinterSpec
    profile: PrinterProfile
    materials: frozenset[str]
    loaded_colors: frozenset[str]

    @classmethod
    def of(cls, printer_id: str, spec: PrinterSpec) -> FleetPrinter:
        """Derive once what every ranking needs."""
        return cls(
            printer_id=printer_id,
            spec=spec,
            profile=spec.profile(),
            materials=frozenset(m.upper() for m in spec.materials),
            loaded_colors=frozenset(c.casefold() for c in spec.loaded_colors),
        )


def refusals(
    needs: OrderNeeds, printer: FleetPrinter, nozzle_refusals: dict[float, str | None] | None = None
) -> list[str]:
    """Why this printer cannot make the order (empty: it can).

    `nozzle_refusals` memoises the nozzle check by nozzle size across one ranking (it
    depends on nothing else of the printer).
    """
    spec = printer.spec
    reasons: list[str] = []
    if not spec.active:
        reasons.append("the printer is inactive")
    material = needs.material.upper()
    if material not in printer.materials:
        reasons.append(f"not set up for {material} (prints {', '.join(spec.materials)})")
    color = needs.color.strip()
    if color and printer.loaded_colors and color.casefold() not in printer.loaded_colors:
        reasons.append(f"{color} is not loaded (loaded: {', '.join(spec.loaded_colors)})")
    geometry = needs.geometry
    if geometry is not None:
        profile = printer.profile
        if not profile.fits(geometry.dim_x_mm, geometry.dim_y_mm, geometry.dim_z_mm):
            part = " x ".join(
                f"{d:g}" for d in (geometry.dim_x_mm, geometry.dim_y_mm, geometry.dim_z_mm)
            )
            bed = " x ".join(f"{d:g}" for d in (spec.bed_x_mm, spec.bed_y_mm, spec.bed_z_mm))
            reasons.append(
                f"the part ({part} mm) does not fit the bed ({bed} mm) in any orientation"
            )
        memo = {} if nozzle_refusals is None else nozzle_refusals
        if profile.nozzle_mm not in memo:
            memo[profile.nozzle_mm] = _nozzle_refusal(geometry, profile)
        refusal = memo[profile.nozzle_mm]
        if refusal is not None:
            reasons.append(refusal)
    return reasons


def _nozzle_refusal(geometry: PartGeometry, profile: PrinterProfile) -> str | None:
    try:
        require_printable(geometry, profile)
    except InvalidInput as error:
        return str(error)
    return None


@dataclass(frozen=True)
class Candidate:
    """One printer ranked for one order."""

    printer_id: str
    name: str
    pincode: str
    active: bool
    reasons: tuple[str, ...]
    distance_km: float | None
    load_hours: float
    score: float
    current: bool  # the order is assigned to this printer now

    @property
    def verdict(self) -> str:
        """compatible or incompatible."""
        return INCOMPATIBLE if self.reasons else COMPATIBLE

    def to_dict(self) -> dict[str, Any]:
        """Primitive form for the API."""
        return {
            "printer_id": self.printer_id,
            "name": self.name,
            "printer_pincode": self.pincode,
            "active": self.active,
            "verdict": self.verdict,
            "compatible": not self.reasons,
            "reasons": list(self.reasons),
            "distance_km": self.distance_km,
            "queued_hours": self.load_hours,
            "score": self.score,
            "current": self.current,
        }


def score(load_hours: float, distance_km: float | None) -> float:
    """The ranking score (lower is better): see the module docstring."""
    km = UNKNOWN_DISTANCE_KM if distance_km is None else distance_km
    return round(load_hours + km / KM_PER_HOUR_OF_LOAD, 3)


def rank(
    needs: OrderNeeds,
    printers: Sequence[FleetPrinter],
    load_hours: Mapping[str, float],
    distance_km: Callable[[str, str], float | None],
) -> list[Candidate]:
    """Every printer with its verdict, distance, load and score, best first."""
    ranked = []
    nozzle_refusals: dict[float, str | None] = {}
    for printer in printers:
        printer_id, spec = printer.printer_id, printer.spec
        current = printer_id == needs.printer_id
        load = load_hours.get(printer_id, 0.0)
        if current:  # the order's own hours are on its printer: compare like with like
            load = max(0.0, load - needs.own_hours)
        km = distance_km(needs.destination_pincode, spec.printer_pincode)
        ranked.append(
            Candidate(
                printer_id=printer_id,
                name=spec.name,
                pincode=spec.printer_pincode,
                active=spec.active,
                reasons=tuple(refusals(needs, printer, nozzle_refusals)),
                distance_km=None if km is None else round(km, 1),
                load_hours=round(load, 2),
                score=score(load, km),
                current=current,
            )
        )
    ranked.sort(key=lambda c: (bool(c.reasons), c.score, c.name.casefold(), c.printer_id))
    return ranked
