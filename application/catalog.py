"""Catalog use cases: the materials on offer and the versioned pricing settings."""

from __future__ import annotations

import contextlib
import threading
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from application.base import FabApplication
from domain.catalog import (
    DEFAULT_COST_SETTINGS,
    DEFAULT_MATERIALS,
    DEFAULT_PRINTER,
    CostSettings,
    Material,
    PrinterProfile,
)
from domain.errors import InvalidInput
from domain.material_records import MaterialRecord, material_id_for
from domain.pricing_settings import PRICING_SETTINGS_ID, PricingSettings


class CatalogApp(FabApplication):
    """Materials and pricing settings, read on every quote and so cached in memory."""

    name = "catalog"

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self._lock = threading.Lock()
        self._materials: dict[str, Material] | None = None
        self._pricing: tuple[CostSettings, PrinterProfile] | None = None

    def seed_defaults(self) -> None:
        """Add the default materials and settings when they are missing (safe to repeat)."""
        pending: list[MaterialRecord | PricingSettings] = [
            MaterialRecord.add(material.to_dict(), actor="system:seed")
            for material in DEFAULT_MATERIALS
            if self.find(material_id_for(material.code), MaterialRecord) is None
        ]
        if self.find(PRICING_SETTINGS_ID, PricingSettings) is None:
            pending.append(
                PricingSettings.define(
                    DEFAULT_COST_SETTINGS.to_dict(), DEFAULT_PRINTER.to_dict(), actor="system:seed"
                )
            )
        for record in pending:
            # Another process may have seeded the same record first: theirs stands.
            with contextlib.suppress(IntegrityError):
                self.save(record)
        self._forget()

    def materials(self) -> dict[str, Material]:
        """Active and inactive materials by upper-case code."""
        with self._lock:
            if self._materials is None:
                self._materials = {}
                for material_id in self._material_ids():
                    record = self.find(material_id, MaterialRecord)
                    if record is not None:
                        self._materials[record.spec["code"]] = Material.from_dict(record.spec)
            return self._materials

    def material(self, code: str) -> Material:
        """The active material with this code, or InvalidInput naming the choices."""
        offered = {c: m for c, m in self.materials().items() if m.active}
        material = offered.get(code.strip().upper())
        if material is None:
            choices = ", ".join(sorted(offered))
            raise InvalidInput(f"unknown material '{code}'; choose one of {choices}")
        return material

    def pricing(self) -> tuple[CostSettings, PrinterProfile]:
        """The current settings (with their version) and the default printer profile."""
        with self._lock:
            if self._pricing is None:
                record = self.find(PRICING_SETTINGS_ID, PricingSettings)
                if record is None:
                    raise InvalidInput("pricing settings are not defined; run the seed")
                settings = CostSettings.from_dict({**record.settings, "version": record.version})
                self._pricing = (settings, PrinterProfile.from_dict(record.printer))
            return self._pricing

    def _material_ids(self) -> list[UUID]:
        """Ids of every material ever added, read from the log (a short list)."""
        added = self.recorder.select_notifications(
            start=None, limit=10_000, topics=[get_topic(MaterialRecord.Added)]
        )
        return [UUID(str(n.originator_id)) for n in added]

    def _forget(self) -> None:
        with self._lock:
            self._materials = None
            self._pricing = None
