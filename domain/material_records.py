"""The MaterialRecord aggregate: one stream per material the shop offers."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.catalog import Material
from domain.errors import Conflict, InvalidInput
from domain.money import as_decimal, decimal_places, paise_from_legacy_rupees

# A material code is what customers pick and orders record: short, upper-case, no spaces.
CODE = re.compile(r"^[A-Z0-9][A-Z0-9+_.-]{0,19}$")
# Foamed or light filaments start near 0.5 g/cm3; metal-filled ones reach ~4 g/cm3.
DENSITY_RANGE_G_CM3 = (0.5, 5.0)
MAX_COST_PER_KG = 1_000_000  # rupees; beyond this a paise/rupee unit mix-up is likelier
MAX_COLORS = 50
MAX_NAME = 100
MAX_COLOR = 40
MAX_NOTES = 2000


def material_id_for(code: str) -> UUID:
    """The stream id of a material code: one stream per code keeps codes unique."""
    return uuid5(NAMESPACE_URL, f"fabledger:material:{code.upper()}")


def check_material(spec: dict[str, Any]) -> Material:
    """The material a spec describes, held to the rules staff edits must meet (or refused)."""
    code = str(spec.get("code", "")).strip().upper()
    if not CODE.match(code):
        raise InvalidInput(
            "name: a material code is 1-20 letters, digits or + _ . - (e.g. PLA, PETG-CF)"
        )
    display = str(spec.get("display_name", "")).strip()
    if not display or len(display) > MAX_NAME:
        raise InvalidInput(f"display_name: 1-{MAX_NAME} characters")
    density = spec.get("density_g_cm3")
    low, high = DENSITY_RANGE_G_CM3
    if not isinstance(density, int | float) or isinstance(density, bool):
        raise InvalidInput("density_g_cm3 must be a number")
    if not (math.isfinite(density) and low <= density <= high):
        raise InvalidInput(f"density_g_cm3 must be between {low:g} and {high:g} g/cm3")
    colors = _colors(spec.get("colors"))
    notes = str(spec.get("notes", ""))
    if len(notes) > MAX_NOTES:
        raise InvalidInput(f"notes: at most {MAX_NOTES} characters")
    cost = as_decimal(spec.get("cost_per_kg"), "cost_per_kg")
    if decimal_places(cost) > 2 or not 0 <= cost <= MAX_COST_PER_KG:
        raise InvalidInput(
            f"cost_per_kg must be 0-{MAX_COST_PER_KG} rupees per kg, to the paisa at most"
        )
    material = Material(
        code=code,
        display_name=display,
        density_g_cm3=float(density),
        cost_per_kg=cost,
        colors=colors,
        active=bool(spec.get("active", True)),
        notes=notes,
    )
    return material


def upcast_spec_v1(spec: dict[str, Any]) -> dict[str, Any]:
    """A spec of version 1 in today's form: a rupee-float cost_per_kg becomes paise.

    Version 1 stored either form (cost_per_kg_paise since exact money), so this keeps a
    spec that has paise already as it is.
    """
    if "cost_per_kg" not in spec:
        return spec
    upgraded = {k: v for k, v in spec.items() if k != "cost_per_kg"}
    upgraded["cost_per_kg_paise"] = paise_from_legacy_rupees(spec["cost_per_kg"])
    return upgraded


def _colors(raw: object) -> tuple[str, ...]:
    if not isinstance(raw, list | tuple) or not raw or len(raw) > MAX_COLORS:
        raise InvalidInput(f"colors: a list of 1-{MAX_COLORS} colour names")
    colors = tuple(str(c).strip() for c in raw)
    if any(not c or len(c) > MAX_COLOR for c in colors):
        raise InvalidInput(f"colors: each colour name is 1-{MAX_COLOR} characters")
    if len({c.casefold() for c in colors}) != len(colors):
        raise InvalidInput("colors: a colour is listed twice")
    return colors


class _CostInPaise:
    """Version 2 of the events carrying a material's spec: its cost in paise (version 1
    held a rupee float)."""

    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """A rupee-float cost_per_kg becomes cost_per_kg_paise."""
        state["spec"] = upcast_spec_v1(state["spec"])


class MaterialRecord(Aggregate):
    """A material with its physical properties, cost and colours (see domain.catalog.Material).

    Every change names its actor. A deleted material's stream stays (history is kept); adding
    the same code again restores it.
    """

    class Added(_CostInPaise, Aggregate.Created):
        """A material was added to the catalog (version 2: cost in paise, never a float)."""

        spec: dict[str, Any]
        actor: str

    class Updated(_CostInPaise, Aggregate.Event):
        """A material's properties were replaced (version 2: cost in paise, never a float)."""

        spec: dict[str, Any]
        actor: str

    class Restored(_CostInPaise, Aggregate.Event):
        """A deleted material's code was added again (version 2: cost in paise)."""

        spec: dict[str, Any]
        actor: str

    @event(Added)
    def __init__(self, *, id: UUID, spec: dict[str, Any], actor: str) -> None:
        self.spec = spec
        self.deleted = False

    @classmethod
    def add(cls, spec: dict[str, Any], *, actor: str) -> MaterialRecord:
        """Add a material under the stream id of its code."""
        return cls(id=material_id_for(spec["code"]), spec=spec, actor=actor)

    @property
    def code(self) -> str:
        """The material's code (its name in the API)."""
        return str(self.spec["code"])

    @property
    def active(self) -> bool:
        """Whether customers can order it."""
        return bool(self.spec.get("active", True))

    def update(self, spec: dict[str, Any], *, actor: str) -> None:
        """Replace the material's properties (the code stays)."""
        self._updated(spec={**spec, "code": self.spec["code"]}, actor=actor)

    @event(Updated)
    def _updated(self, spec: dict[str, Any], actor: str) -> None:
        self.spec = spec

    def deactivate(self, *, actor: str) -> None:
        """Retire the material: no new quotes or orders; existing orders keep it."""
        if self.active:
            self._deactivated(actor=actor)

    @event("Deactivated")
    def _deactivated(self, actor: str) -> None:
        self.spec = {**self.spec, "active": False}

    def reactivate(self, *, actor: str) -> None:
        """Offer a retired material again."""
        if not self.active:
            self._reactivated(actor=actor)

    @event("Reactivated")
    def _reactivated(self, actor: str) -> None:
        self.spec = {**self.spec, "active": True}

    def delete(self, *, actor: str, open_orders: int, printers: Sequence[str]) -> None:
        """Remove the material, unless open orders or printers still use it (then retire it)."""
        if self.deleted:
            raise Conflict(f"material {self.code} is already deleted")
        reasons = []
        if open_orders:
            reasons.append(f"{open_orders} open order(s) use it")
        if printers:
            reasons.append(f"printer(s) {', '.join(sorted(printers))} are set up for it")
        if reasons:
            raise Conflict(
                f"material {self.code} cannot be deleted: {'; '.join(reasons)}; "
                "deactivate it instead (PUT with active=false)"
            )
        self._deleted(actor=actor)

    @event("Deleted")
    def _deleted(self, actor: str) -> None:
        self.deleted = True

    def restore(self, spec: dict[str, Any], *, actor: str) -> None:
        """Add a deleted material's code again, with new properties."""
        if not self.deleted:
            raise Conflict(f"material {self.code} already exists")
        self._restored(spec={**spec, "code": self.spec["code"]}, actor=actor)

    @event(Restored)
    def _restored(self, spec: dict[str, Any], actor: str) -> None:
        self.spec = spec
        self.deleted = False
