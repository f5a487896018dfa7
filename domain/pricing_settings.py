"""The PricingSettings aggregate: the versioned parameters of the cost engine."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.catalog import CostSettings, upcast_cost_settings_v1

# One shop, one settings stream; its aggregate version is the settings version
# that every order records.
PRICING_SETTINGS_ID = uuid5(NAMESPACE_URL, "fabledger:pricing-settings")


class PricingSettings(Aggregate):
    """Cost-engine parameters and the default printer profile used for estimates.

    `settings` is CostSettings in its stored form: money in paise, rates as decimal strings.
    """

    class Defined(Aggregate.Created):
        """The shop's first settings; version 2 stores money in paise (version 1: floats)."""

        class_version = 2

        settings: dict[str, Any]
        printer: dict[str, Any]
        actor: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Float money and rates become paise and decimal strings."""
            state["settings"] = upcast_cost_settings_v1(state["settings"])

    class Changed(Aggregate.Event):
        """A new settings version, with the values it replaced; version 2 is exact."""

        class_version = 2

        settings: dict[str, Any]
        previous: dict[str, Any] | None  # None: changed before previous values were kept
        actor: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Float money and rates become paise and decimal strings; no previous values."""
            state["settings"] = upcast_cost_settings_v1(state["settings"])
            state["previous"] = None

    @event(Defined)
    def __init__(
        self,
        *,
        id: UUID,  # always PRICING_SETTINGS_ID
        settings: dict[str, Any],
        printer: dict[str, Any],
        actor: str,
    ) -> None:
        self.settings = settings
        self.printer = printer

    @classmethod
    def define(
        cls, settings: dict[str, Any], printer: dict[str, Any], *, actor: str
    ) -> PricingSettings:
        """Define the shop's first settings."""
        return cls(id=PRICING_SETTINGS_ID, settings=settings, printer=printer, actor=actor)

    def cost_settings(self) -> CostSettings:
        """The settings of this version as a value object."""
        return CostSettings.from_dict(self.settings, version=self.version)

    def change(self, changes: dict[str, Any], *, actor: str) -> CostSettings:
        """Publish a new version with some parameters changed; existing orders keep theirs.

        Refuses invalid values (InvalidInput naming the field) before anything is recorded;
        values equal to the current ones record nothing and return the current version.
        """
        current = self.cost_settings()
        updated = current.changed(changes)
        if updated.editable() == current.editable():
            return current  # nothing differs: no new version for every order to point at
        self._changed(settings=updated.to_dict(), previous=self.settings, actor=actor)
        return updated

    @event(Changed)
    def _changed(
        self, settings: dict[str, Any], previous: dict[str, Any] | None, actor: str
    ) -> None:
        self.settings = settings
