"""The Meter aggregate: one stream per organisation x product x billing period.

Every metered call is a UsageRecorded event on its meter, so the quota decision
and the usage record are one optimistic-concurrency write: a hard cap holds
exactly, however many clients race for the last unit.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, QuotaExceeded
from domain.plans import Plan

QUOTA_EXCEEDED = "API quota exceeded for this billing period."
# Opening a meter and applying a plan to it are the metering system's own doing.
METERING = "system:metering"


def key_actor(key_id: str) -> str:
    """The actor of a metered call: the API key that made it."""
    return f"key:{key_id}"


def billing_period(moment: datetime) -> str:
    """The calendar month (UTC) a moment bills in, as YYYY-MM."""
    return f"{moment.year:04d}-{moment.month:02d}"


@lru_cache(maxsize=4096)  # read on every metered call: a SHA-1 each time otherwise
def meter_id_for(org_id: str, product: str, period: str) -> UUID:
    """The stream id of an organisation's meter for one product and period."""
    return uuid5(NAMESPACE_URL, f"fabledger:meter:{org_id}:{product}:{period}")


class _WithActor:
    """Version 2 of a meter event: it names its actor (version 1 had none)."""

    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Meters were only ever opened, and plans applied, by the metering system."""
        state["actor"] = METERING

    @staticmethod
    def downcast_v2_v1(state: dict[str, Any]) -> None:
        """Version 1, for consumers migrating off it (the relay's mirror): no actor."""
        state.pop("actor", None)


class Meter(Aggregate):
    """Counts units used and overage reported for one product in one period.

    Every event names its actor; version 1 of Opened, PlanApplied and UsageRecorded had
    none and is upcast (the metering system, or the API key that made the call).
    """

    class Opened(_WithActor, Aggregate.Created):
        """A meter was opened for its first call of a period (version 2: with its actor)."""

        org_id: str
        product: str
        period: str
        tier: str
        included: int
        hard_cap: bool
        actor: str

    class PlanApplied(_WithActor, Aggregate.Event):
        """The organisation's plan changed the meter's terms (version 2: with its actor)."""

        tier: str
        included: int
        hard_cap: bool
        actor: str

    class UsageRecorded(_WithActor, Aggregate.Event):
        """One metered call was counted (version 2: with its actor, the calling API key)."""

        key_id: str
        request_id: str
        units: int
        actor: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """The call's API key is its actor."""
            state["actor"] = key_actor(state["key_id"])

    @event(Opened)
    def __init__(
        self,
        *,
        id: UUID,  # see meter_id_for
        org_id: str,
        product: str,
        period: str,
        tier: str,
        included: int,
        hard_cap: bool,
        actor: str,
    ) -> None:
        self.org_id = org_id
        self.product = product
        self.period = period
        self.tier = tier
        self.included = included
        self.hard_cap = hard_cap
        self.used = 0
        self.reported_units = 0
        # A report sent (or about to be) whose answer is not recorded yet: an outbox,
        # so a crash between send and record re-sends the same identifier and units.
        self.pending_identifier: str | None = None
        self.pending_units = 0

    @classmethod
    def open(cls, *, org_id: str, product: str, period: str, plan: Plan) -> Meter:
        """A meter for a period that has no usage yet."""
        return cls(
            id=meter_id_for(org_id, product, period),
            org_id=org_id,
            product=product,
            period=period,
            tier=plan.tier,
            included=plan.included_units(product),
            hard_cap=plan.hard_cap,
            actor=METERING,
        )

    @property
    def remaining(self) -> int:
        """Included units left this period."""
        return max(0, self.included - self.used)

    @property
    def overage(self) -> int:
        """Units beyond the included ones (billable when not hard-capped)."""
        return 0 if self.hard_cap else max(0, self.used - self.included)

    @property
    def unreported_overage(self) -> int:
        """Overage units neither reported nor in a pending report."""
        return max(0, self.overage - self.reported_units - self.pending_units)

    def record(self, *, key_id: str, request_id: str, plan: Plan) -> None:
        """Count one call, or refuse it when a hard cap is reached."""
        included = plan.included_units(self.product)
        if (plan.tier, included, plan.hard_cap) != (self.tier, self.included, self.hard_cap):
            self._plan_applied(
                tier=plan.tier, included=included, hard_cap=plan.hard_cap, actor=METERING
            )
        if self.hard_cap and self.used >= self.included:
            raise QuotaExceeded(QUOTA_EXCEEDED, tier=self.tier, included=self.included)
        self._usage_recorded(key_id=key_id, request_id=request_id, units=1)

    def prepare_report(self, *, actor: str) -> tuple[str, int]:
        """Fix the next report's identifier and units before sending; a pending one first."""
        if self.pending_identifier is None:
            units = self.unreported_overage
            if units <= 0:
                raise Conflict("no unreported overage")
            first = self.reported_units + 1
            identifier = f"{self.id}-{first}-{first + units - 1}"
            self._report_prepared(identifier=identifier, units=units, actor=actor)
        assert self.pending_identifier is not None
        return self.pending_identifier, self.pending_units

    def confirm_report(self, identifier: str, *, actor: str) -> None:
        """Billing accepted (or already had) the pending report."""
        if self.pending_identifier != identifier:
            raise Conflict(f"no pending report {identifier}")
        self._overage_reported(identifier=identifier, units=self.pending_units, actor=actor)

    @event(PlanApplied)
    def _plan_applied(self, tier: str, included: int, hard_cap: bool, actor: str) -> None:
        self.tier = tier
        self.included = included
        self.hard_cap = hard_cap

    def _usage_recorded(self, key_id: str, request_id: str, units: int) -> None:
        """Count units of a call made with this key (the key is the event's actor)."""
        self._usage_counted(
            key_id=key_id, request_id=request_id, units=units, actor=key_actor(key_id)
        )

    @event(UsageRecorded)
    def _usage_counted(self, key_id: str, request_id: str, units: int, actor: str) -> None:
        self.used += units

    @event("ReportPrepared")
    def _report_prepared(self, identifier: str, units: int, actor: str) -> None:
        self.pending_identifier = identifier
        self.pending_units = units

    @event("OverageReported")
    def _overage_reported(self, identifier: str, units: int, actor: str) -> None:
        self.reported_units += units
        self.pending_identifier = None
        self.pending_units = 0
