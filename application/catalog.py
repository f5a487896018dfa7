"""Catalog use cases: the materials on offer and the versioned pricing settings."""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
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

# Another process may change the settings: a cached version is checked against the
# stream's head at most this often, so a change reaches every process within a second.
PRICING_RECHECK_SECONDS = 1.0


@dataclass(frozen=True)
class SettingsVersion:
    """One version of the cost settings: who made it, when, and what it changed."""

    settings: CostSettings
    actor: str
    at: datetime
    changes: dict[str, tuple[Decimal | None, Decimal]]  # field: (before, after)


class CatalogApp(FabApplication):
    """Materials and pricing settings, read on every quote and so cached in memory."""

    name = "catalog"

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self._lock = threading.Lock()
        self._materials: dict[str, Material] | None = None
        self._materials_at = 0  # the log head the materials were read at
        self._pricing: tuple[CostSettings, PrinterProfile] | None = None
        self._pricing_checked = 0.0

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
        """Active and inactive materials by upper-case code (deleted ones are gone).

        Reloaded whenever this app's log head moved: staff edit materials (application.fleet),
        possibly in another process.
        """
        head = self.position()
        with self._lock:
            if self._materials is None or self._materials_at != head:
                materials = {}
                for material_id in self._material_ids():
                    record = self.find(material_id, MaterialRecord)
                    if record is not None and not record.deleted:
                        materials[record.spec["code"]] = Material.from_dict(record.spec)
                self._materials, self._materials_at = materials, head
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
            now = time.monotonic()
            if self._pricing is not None and now - self._pricing_checked > PRICING_RECHECK_SECONDS:
                self._pricing_checked = now
                if self._settings_head() != self._pricing[0].version:
                    self._pricing = None
            if self._pricing is None:
                self._pricing = self._pricing_of(self.find(PRICING_SETTINGS_ID, PricingSettings))
                self._pricing_checked = now
            return self._pricing

    def pricing_at(self, version: int) -> tuple[CostSettings, PrinterProfile]:
        """The settings and default printer as they were at a version (what priced an order)."""
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise InvalidInput(f"settings_version must be a whole number >= 1, got {version!r}")
        head = self._settings_head()
        if version > head:
            raise InvalidInput(f"settings_version {version} does not exist; the latest is {head}")
        record: Any = self.repository.get(PRICING_SETTINGS_ID, version=version)
        return self._pricing_of(record if isinstance(record, PricingSettings) else None)

    def change_cost_settings(
        self, changes: dict[str, Any], *, actor: str
    ) -> tuple[CostSettings, int]:
        """Record a new settings version; (the settings now, the position written or 0)."""
        record = self.find(PRICING_SETTINGS_ID, PricingSettings)
        if record is None:
            raise InvalidInput("pricing settings are not defined; run the seed")
        settings = record.change(changes, actor=actor)
        position = self.save_new(record) if record.pending_events else 0
        self._forget()
        return settings, position

    def cost_settings_versions(self) -> list[SettingsVersion]:
        """Every settings version, oldest first, with its actor and the fields it changed."""
        versions: list[SettingsVersion] = []
        before: dict[str, Decimal] = {}
        for event in self.events.get(PRICING_SETTINGS_ID):
            if not isinstance(event, PricingSettings.Defined | PricingSettings.Changed):
                continue
            settings = CostSettings.from_dict(event.settings, version=event.originator_version)
            after = settings.editable()
            changes = {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v}
            versions.append(SettingsVersion(settings, event.actor, event.timestamp, changes))
            before = after
        return versions

    def _settings_head(self) -> int:
        """The newest settings version in the store (0 if never defined)."""
        newest = self.recorder.select_events(PRICING_SETTINGS_ID, desc=True, limit=1)
        return newest[0].originator_version if newest else 0

    @staticmethod
    def _pricing_of(record: PricingSettings | None) -> tuple[CostSettings, PrinterProfile]:
        if record is None:
            raise InvalidInput("pricing settings are not defined; run the seed")
        return record.cost_settings(), PrinterProfile.from_dict(record.printer)

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
