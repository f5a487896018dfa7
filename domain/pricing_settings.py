"""The PricingSettings aggregate: the versioned parameters of the cost engine."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

# One shop, one settings stream; its aggregate version is the settings version
# that every order records.
PRICING_SETTINGS_ID = uuid5(NAMESPACE_URL, "fabledger:pricing-settings")


class PricingSettings(Aggregate):
    """Cost-engine parameters and the default printer profile used for estimates."""

    @event("Defined")
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

    def change(self, settings: dict[str, Any], *, actor: str) -> None:
        """Publish a new version of the settings; existing orders keep their version."""
        self._changed(settings=settings, actor=actor)

    @event("Changed")
    def _changed(self, settings: dict[str, Any], actor: str) -> None:
        self.settings = settings
