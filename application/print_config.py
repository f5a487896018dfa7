"""Print config use cases: staff's materials, printers and categories.

Printers live in the fleet application's store (application.fleet); categories are catalog
records (the design's catalog context), so they live in the catalog's store beside the
materials. Lists are read through application.fleet.StreamListing caches.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Protocol
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from application.base import FabApplication
from application.catalog import CatalogApp
from application.fleet import FleetApp, StreamListing
from application.ports import PinDirectory
from domain.catalog import Material
from domain.errors import Conflict, InvalidInput, NotFound
from domain.fleet.categories import Category, CategorySpec
from domain.fleet.printers import Printer, PrinterSpec
from domain.material_records import MaterialRecord, check_material, material_id_for
from domain.users import STAFF_ROLES, User


class StaffDirectory(Protocol):
    """Who a user is (the identity application)."""

    def get_user(self, user_id: UUID) -> User | None:
        """The user, or None."""
        ...


class OpenOrders(Protocol):
    """Orders not yet delivered or cancelled (the orders read model)."""

    def using_material(self, code: str) -> int:
        """How many open orders are made of this material."""
        ...


class PrinterAssignments(Protocol):
    """Orders assigned to printers (the printer-load view: projections.printer_load)."""

    def assigned_to(self, printer_id: UUID) -> int:
        """How many orders are assigned to the printer and not yet done."""
        ...


class CatalogModels(Protocol):
    """Catalog models filed under categories (the catalog models come in a later issue)."""

    def in_category(self, category_id: UUID) -> int:
        """How many catalog models use the category."""
        ...


class NoAssignments:
    """Today's answer: orders are not assigned to printers yet, so none is."""

    def assigned_to(self, printer_id: UUID) -> int:
        """Always none."""
        return 0


class NoCatalogModels:
    """Today's answer: there are no catalog models yet."""

    def in_category(self, category_id: UUID) -> int:
        """Always none."""
        return 0


@dataclass(frozen=True)
class MaterialEntry:
    """A material with its record id."""

    id: UUID
    material: Material


def editable(material: Material) -> dict[str, Any]:
    """A material as the fields staff edit (cost as an exact Decimal)."""
    return {
        "code": material.code,
        "display_name": material.display_name,
        "density_g_cm3": material.density_g_cm3,
        "cost_per_kg": material.cost_per_kg,
        "colors": list(material.colors),
        "notes": material.notes,
        "active": material.active,
    }


class PrintConfig:
    """Use cases of staff's Print Config: materials, printers, categories."""

    def __init__(
        self,
        catalog: CatalogApp,
        fleet: FleetApp,
        staff: StaffDirectory,
        open_orders: OpenOrders,
        assignments: PrinterAssignments | None = None,
        models: CatalogModels | None = None,
        pins: PinDirectory | None = None,  # None: PIN format only (no directory at hand)
    ) -> None:
        self.catalog, self.fleet, self.staff, self.open_orders = catalog, fleet, staff, open_orders
        self.pins = pins
        self.assignments = assignments or NoAssignments()
        self.models = models or NoCatalogModels()
        self._categories = StreamListing(catalog, Category.Created, Category)

    # Materials (catalog store).

    def materials(self) -> list[MaterialEntry]:
        """Every material not deleted (active or not), by code."""
        found = self.catalog.materials()
        return [MaterialEntry(material_id_for(c), found[c]) for c in sorted(found)]

    def material(self, material_id: UUID) -> MaterialEntry:
        """One material, or NotFound."""
        record = self._material_record(material_id)
        return MaterialEntry(record.id, Material.from_dict(record.spec))

    def add_material(self, fields: dict[str, Any], *, actor: str) -> tuple[MaterialEntry, int]:
        """A new material (or a deleted code added again); 409 if the code exists."""
        material = check_material(fields)
        record = self.catalog.find(material_id_for(material.code), MaterialRecord)
        if record is None:
            record = MaterialRecord.add(material.to_dict(), actor=actor)
        elif record.deleted:
            record.restore(material.to_dict(), actor=actor)
        else:
            raise Conflict(f"material {material.code} already exists; change it with PUT")
        position = self.catalog.save_new(record)
        return MaterialEntry(record.id, material), position

    def update_material(
        self, material_id: UUID, changes: dict[str, Any], *, actor: str
    ) -> tuple[MaterialEntry, int]:
        """Change some fields; `active` retires or re-offers the material (its own events)."""
        record = self._material_record(material_id)
        current = Material.from_dict(record.spec)
        code = changes.get("code")
        if code is not None and str(code).strip().upper() != current.code:
            raise InvalidInput(
                "name: a material's code cannot change (orders record it); "
                "add a new material and deactivate this one"
            )
        material = check_material({**editable(current), **changes})
        if replace(material, active=current.active) != current:
            record.update(replace(material, active=current.active).to_dict(), actor=actor)
        if material.active and not current.active:
            record.reactivate(actor=actor)
        elif not material.active and current.active:
            record.deactivate(actor=actor)
        return MaterialEntry(record.id, material), self._save(self.catalog, record)

    def delete_material(self, material_id: UUID, *, actor: str) -> int:
        """Delete a material no open order and no printer uses (409 naming who does)."""
        record = self._material_record(material_id)
        code = record.code
        printers = [
            str(p.spec["name"]) for p in self.fleet.printers() if code in p.spec["materials"]
        ]
        record.delete(
            actor=actor, open_orders=self.open_orders.using_material(code), printers=printers
        )
        return self.catalog.save_new(record)

    def _material_record(self, material_id: UUID) -> MaterialRecord:
        record = self.catalog.find(material_id, MaterialRecord)
        if record is None or record.deleted:
            raise NotFound("material not found")
        return record

    # Printers (fleet store).

    def printers(self) -> list[Printer]:
        """Every printer (active or not), by name."""
        return self.fleet.printers()

    def printer(self, printer_id: UUID) -> Printer:
        """One printer, or NotFound."""
        return self.fleet.get_printer(printer_id)

    def add_printer(self, fields: dict[str, Any], *, actor: str) -> tuple[Printer, int]:
        """A new printer, its materials known and its owners staff."""
        spec = PrinterSpec.parse(fields)
        self._check_references(spec)
        printer = Printer.register(uuid4(), spec, actor=actor)
        return printer, self.fleet.save_new(printer)

    def update_printer(
        self, printer_id: UUID, changes: dict[str, Any], *, actor: str
    ) -> tuple[Printer, int]:
        """Change some fields; `active` takes it out of (or back into) quoting."""
        printer = self.fleet.get_printer(printer_id)
        before = printer.current
        spec = before.changed(changes)
        self._check_references(spec, before)
        printer.update(spec, actor=actor)
        return printer, self._save(self.fleet, printer)

    def delete_printer(self, printer_id: UUID, *, actor: str) -> int:
        """Delete a printer no order is assigned to (409 otherwise)."""
        printer = self.fleet.get_printer(printer_id)
        printer.delete(actor=actor, assigned_orders=self.assignments.assigned_to(printer_id))
        return self.fleet.save_new(printer)

    def _check_references(self, spec: PrinterSpec, before: PrinterSpec | None = None) -> None:
        """New materials must exist and new owners be active staff (those kept stay as they
        are: toggling `active` must not fail because an owner has since left)."""
        kept_materials = set(before.materials) if before else set()
        kept_owners = set(before.owners) if before else set()
        known = self.catalog.materials()
        unknown = [m for m in spec.materials if m not in known and m not in kept_materials]
        if unknown:
            raise InvalidInput(
                f"materials: unknown material(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        pin = spec.printer_pincode
        moved = before is None or pin != before.printer_pincode
        # Shipping is priced from the printer's PIN: one India Post does not know prices nothing.
        if moved and self.pins is not None and self.pins.lookup(pin) is None:
            raise InvalidInput(f"printer_pincode: {pin} is not in India Post's PIN directory")
        for owner in (o for o in spec.owners if o not in kept_owners):
            user = self.staff.get_user(UUID(owner))
            if user is None or not user.is_active:
                raise InvalidInput(f"owners: no active user {owner}")
            if user.role not in STAFF_ROLES:
                raise InvalidInput(
                    f"owners: user {owner} is a {user.role}; owners are moderators or admins"
                )

    # Categories (catalog store).

    def categories(self) -> list[Category]:
        """Every category, in display order then name."""
        return sorted(
            self._categories.all(),
            key=lambda c: (int(c.spec["display_order"]), str(c.spec["name"]).casefold()),
        )

    def category(self, category_id: UUID) -> Category:
        """One category, or NotFound."""
        category = self.catalog.find(category_id, Category)
        if category is None or category.deleted:
            raise NotFound("category not found")
        return category

    def add_category(self, fields: dict[str, Any], *, actor: str) -> tuple[Category, int]:
        """A new category; names are unique (case-insensitive)."""
        spec = CategorySpec.parse(fields)
        self._refuse_taken_name(spec.name, None)
        category = Category.create(uuid4(), spec, actor=actor)
        return category, self.catalog.save_new(category)

    def update_category(
        self, category_id: UUID, changes: dict[str, Any], *, actor: str
    ) -> tuple[Category, int]:
        """Change some fields of a category."""
        category = self.category(category_id)
        spec = CategorySpec.parse({**category.spec, **changes})
        self._refuse_taken_name(spec.name, category_id)
        category.update(spec, actor=actor)
        return category, self._save(self.catalog, category)

    def delete_category(self, category_id: UUID, *, actor: str) -> int:
        """Delete a category no catalog model uses (409 otherwise)."""
        category = self.category(category_id)
        category.delete(actor=actor, models=self.models.in_category(category_id))
        return self.catalog.save_new(category)

    def _refuse_taken_name(self, name: str, own_id: UUID | None) -> None:
        for other in self._categories.all():
            if other.id != own_id and str(other.spec["name"]).casefold() == name.casefold():
                raise Conflict(f"a category named '{other.spec['name']}' already exists")

    @staticmethod
    def _save(app: FabApplication, aggregate: Aggregate) -> int:
        """Save what changed; an edit that changes nothing writes nothing (current head)."""
        if not aggregate.pending_events:
            return app.position()
        return app.save_new(aggregate)
