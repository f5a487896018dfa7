"""The Printer aggregate: one stream per printer of the fleet, every change with its actor."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.catalog import DEFAULT_PRINTER, PrinterProfile
from domain.errors import Conflict, InvalidInput
from domain.shipping import validate_pincode

# Limits of what a real desktop-to-industrial FFF printer has; beyond them a unit is wrong.
BED_MM = (1.0, 5000.0)
NOZZLE_MM = (0.1, 2.0)
LAYER_MM = (0.04, 1.6)
WATTAGE_W = (1.0, 20_000.0)
SPEED_CM3_HR = (0.1, 10_000.0)
MAX_NAME = 100
MAX_ADDRESS = 500
MAX_NOTES = 2000
MAX_LIST = 50
MAX_COLOR = 40

DEFAULT_PRINTER_ID = uuid5(NAMESPACE_URL, "fabledger:printer:default")


def _in(name: str, value: object, bounds: tuple[float, float], unit: str) -> float:
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{name} must be a number ({unit})")
    if not (math.isfinite(value) and low <= value <= high):
        raise InvalidInput(f"{name} must be between {low:g} and {high:g} {unit}")
    return float(value)


def _text(name: str, value: object, limit: int, *, required: bool = False) -> str:
    text = str(value if value is not None else "").strip()
    if required and not text:
        raise InvalidInput(f"{name} must not be empty")
    if len(text) > limit:
        raise InvalidInput(f"{name}: at most {limit} characters")
    return text


def _names(name: str, raw: object, limit: int, *, upper: bool = False) -> tuple[str, ...]:
    if not isinstance(raw, list | tuple) or len(raw) > MAX_LIST:
        raise InvalidInput(f"{name}: a list of at most {MAX_LIST} entries")
    items = tuple(str(v).strip().upper() if upper else str(v).strip() for v in raw)
    if any(not v or len(v) > limit for v in items):
        raise InvalidInput(f"{name}: each entry is 1-{limit} characters")
    if len({v.casefold() for v in items}) != len(items):
        raise InvalidInput(f"{name}: an entry is listed twice")
    return items


@dataclass(frozen=True)
class PrinterSpec:
    """What the shop knows of one printer: machine figures, location, people, what's loaded."""

    name: str
    brand: str
    materials: tuple[str, ...]
    bed_x_mm: float
    bed_y_mm: float
    bed_z_mm: float
    nozzle_mm: float
    wattage_w: float
    print_speed_cm3_hr: float
    printer_pincode: str
    layer_height_mm: float = 0.2
    printer_address: str = ""
    notes: str = ""
    active: bool = True
    owners: tuple[str, ...] = ()  # user ids of the moderators/admins who run it
    loaded_colors: tuple[str, ...] = ()  # the spools on the machine now

    @classmethod
    def parse(cls, data: dict[str, Any]) -> PrinterSpec:
        """A validated spec from primitives (an API body or an event), or InvalidInput."""
        materials = _names("materials", data.get("materials"), 20, upper=True)
        if not materials:
            raise InvalidInput("materials: list at least one material the printer prints")
        nozzle = _in("nozzle_mm", data.get("nozzle_mm"), NOZZLE_MM, "mm")
        layer = _in("layer_height_mm", data.get("layer_height_mm", 0.2), LAYER_MM, "mm")
        if layer > nozzle:
            raise InvalidInput("layer_height_mm must not exceed nozzle_mm")
        owners = _names("owners", data.get("owners", ()), 36)
        for owner in owners:
            try:
                UUID(owner)
            except ValueError as error:
                raise InvalidInput(f"owners: '{owner}' is not a user id") from error
        return cls(
            name=_text("name", data.get("name"), MAX_NAME, required=True),
            brand=_text("brand", data.get("brand"), MAX_NAME),
            materials=materials,
            bed_x_mm=_in("bed_x_mm", data.get("bed_x_mm"), BED_MM, "mm"),
            bed_y_mm=_in("bed_y_mm", data.get("bed_y_mm"), BED_MM, "mm"),
            bed_z_mm=_in("bed_z_mm", data.get("bed_z_mm"), BED_MM, "mm"),
            nozzle_mm=nozzle,
            layer_height_mm=layer,
            wattage_w=_in("wattage_w", data.get("wattage_w"), WATTAGE_W, "W"),
            print_speed_cm3_hr=_in(
                "print_speed_cm3_hr", data.get("print_speed_cm3_hr"), SPEED_CM3_HR, "cm3/h"
            ),
            printer_pincode=validate_pincode(
                str(data.get("printer_pincode") or ""), "printer_pincode"
            ),
            printer_address=_text("printer_address", data.get("printer_address"), MAX_ADDRESS),
            notes=_text("notes", data.get("notes"), MAX_NOTES),
            active=bool(data.get("active", True)),
            owners=tuple(str(UUID(o)) for o in owners),
            loaded_colors=_names("loaded_colors", data.get("loaded_colors", ()), MAX_COLOR),
        )

    def to_dict(self) -> dict[str, Any]:
        """Primitive form, safe to store in an event."""
        data = asdict(self)
        for key in ("materials", "owners", "loaded_colors"):
            data[key] = list(data[key])
        return data

    def profile(self) -> PrinterProfile:
        """The machine figures the cost engine needs."""
        return PrinterProfile(
            name=self.name,
            wattage_w=self.wattage_w,
            print_speed_cm3_hr=self.print_speed_cm3_hr,
            layer_height_mm=self.layer_height_mm,
            nozzle_mm=self.nozzle_mm,
            bed_x_mm=self.bed_x_mm,
            bed_y_mm=self.bed_y_mm,
            bed_z_mm=self.bed_z_mm,
            materials=self.materials,
        )

    def changed(self, changes: dict[str, Any]) -> PrinterSpec:
        """A new spec with these fields replaced, validated as a whole."""
        return PrinterSpec.parse({**self.to_dict(), **changes})


def default_printer_spec() -> PrinterSpec:
    """Today's built-in printer as the fleet's first member, at the shop's PIN."""
    p = DEFAULT_PRINTER
    return PrinterSpec(
        name=p.name,
        brand="Generic",
        materials=p.materials,
        bed_x_mm=p.bed_x_mm,
        bed_y_mm=p.bed_y_mm,
        bed_z_mm=p.bed_z_mm,
        nozzle_mm=p.nozzle_mm,
        layer_height_mm=p.layer_height_mm,
        wattage_w=p.wattage_w,
        print_speed_cm3_hr=p.print_speed_cm3_hr,
        printer_pincode="560001",
        notes="Seeded: the built-in printer the cost engine used before the fleet existed.",
    )


class Printer(Aggregate):
    """A printer of the fleet. Its spec changes by events; deleting keeps the stream."""

    class Registered(Aggregate.Created):
        """A printer joined the fleet."""

        spec: dict[str, Any]
        actor: str

    @event(Registered)
    def __init__(self, *, id: UUID, spec: dict[str, Any], actor: str) -> None:
        self.spec = spec
        self.deleted = False

    @classmethod
    def register(cls, printer_id: UUID, spec: PrinterSpec, *, actor: str) -> Printer:
        """Add a printer under a fresh id (chosen by the caller: event bodies stay pure)."""
        return cls(id=printer_id, spec=spec.to_dict(), actor=actor)

    @property
    def current(self) -> PrinterSpec:
        """The printer's spec now."""
        return PrinterSpec.parse(self.spec)

    def update(self, spec: PrinterSpec, *, actor: str) -> None:
        """Record a new spec; the active flag changes by its own events."""
        self._refuse_if_deleted()
        new = replace(spec, active=self.current.active).to_dict()
        if new != self.spec:
            self._updated(spec=new, actor=actor)
        if spec.active and not self.current.active:
            self._reactivated(actor=actor)
        elif not spec.active and self.current.active:
            self._deactivated(actor=actor)

    @event("Updated")
    def _updated(self, spec: dict[str, Any], actor: str) -> None:
        self.spec = spec

    @event("Deactivated")
    def _deactivated(self, actor: str) -> None:
        self.spec = {**self.spec, "active": False}

    @event("Reactivated")
    def _reactivated(self, actor: str) -> None:
        self.spec = {**self.spec, "active": True}

    def delete(self, *, actor: str, assigned_orders: int) -> None:
        """Remove the printer, unless orders are assigned to it (deactivate it instead)."""
        self._refuse_if_deleted()
        if assigned_orders:
            raise Conflict(
                f"printer '{self.spec['name']}' cannot be deleted: {assigned_orders} order(s) "
                "are assigned to it; reassign them or deactivate it (PUT with active=false)"
            )
        self._deleted(actor=actor)

    @event("Deleted")
    def _deleted(self, actor: str) -> None:
        self.deleted = True

    def _refuse_if_deleted(self) -> None:
        if self.deleted:
            raise Conflict("this printer was deleted")
