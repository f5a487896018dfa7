"""Overage billing: report each meter's overage exactly once, and replay usage from events."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

import structlog
from eventsourcing.persistence import IntegrityError, StoredEvent

from application.developer import DeveloperApp
from application.ports import BillingGateway, UsageReport
from domain.errors import Conflict, DomainError, Unavailable
from domain.meters import Meter, meter_id_for
from domain.plans import ANALYZE, PRODUCTS, QUICK_INFO

ACTOR = "system:billing"
# The provider's meter for each product (Stripe: a Billing Meter's event_name).
EVENT_NAMES = {QUICK_INFO: "fabledger_dfm_quick_info", ANALYZE: "fabledger_dfm_analyze"}
# A meter written by the hot path between our load and our save: reload and try again.
SAVE_RETRIES = 20
# A pending report from an interrupted run, then the overage used since: two per round.
REPORTS_PER_METER = 2
REPLAY_BATCH = 20_000
SCAN_BATCH = 500

log = structlog.get_logger("fabledger.billing")


class BillingError(DomainError):
    """The billing provider did not take a request."""


class BillingUnavailable(BillingError, Unavailable):
    """The provider could not be reached or failed (network, 5xx, credentials): retry later."""


class BillingRefused(BillingError):
    """The provider refused this request (not a duplicate): it needs a person to look."""


@dataclass(frozen=True)
class LiveCounter:
    """What the live usage counters (the read model) show for one meter."""

    used: int
    included: int
    reported_units: int
    pending_identifier: str | None


class UsageCounters(Protocol):
    """The live counters of an organisation's meters in one period, by product."""

    def counters(self, org_id: str, period: str) -> Mapping[str, LiveCounter]:
        """The counters per product (a product with no usage may be absent)."""
        ...


@dataclass
class ProductReplay:
    """One meter recomputed from its events, and how it compares with the live state."""

    product: str
    meter_id: str
    events: int = 0
    used: int = 0
    included: int = 0
    hard_cap: bool = False
    reported: int = 0
    reports: int = 0
    pending_identifier: str | None = None
    live: LiveCounter | None = None
    differences: list[str] = field(default_factory=list)

    @property
    def overage(self) -> int:
        """Billable units beyond the included ones (the domain's rule, from events)."""
        return 0 if self.hard_cap else max(0, self.used - self.included)


@dataclass(frozen=True)
class ReplayResult:
    """Usage and overage of one organisation and period, recomputed from the events alone."""

    org_id: str
    period: str
    products: list[ProductReplay]

    @property
    def differences(self) -> list[str]:
        """Every difference, prefixed with its product."""
        return [f"{p.product}: {d}" for p in self.products for d in p.differences]

    @property
    def ok(self) -> bool:
        """True when replay, live counters and reported units all agree."""
        return not self.differences


class BillingReporter:
    """Sends unreported overage to the billing provider through each meter's outbox."""

    def __init__(
        self,
        developer: DeveloperApp,
        gateway: BillingGateway | None,
        counters: UsageCounters | None = None,
        *,
        actor: str = ACTOR,
        batch_size: int = REPLAY_BATCH,
    ) -> None:
        self.developer = developer
        self.gateway = gateway
        self.counters = counters
        self.actor = actor
        self.batch_size = batch_size

    # --- reporting ------------------------------------------------------------------

    def report_pending(self, meter_ids: Iterable[UUID | str]) -> list[UsageReport]:
        """Report each meter's pending or unreported overage; returns what was delivered."""
        delivered: list[UsageReport] = []
        for meter_id in meter_ids:
            try:
                # A left-over pending report goes first; then one for the units used since.
                for _ in range(REPORTS_PER_METER):
                    report = self.report_meter(meter_id)
                    if report is None:
                        break
                    delivered.append(report)
            except BillingUnavailable as error:
                # The provider is down: the pending report waits for the next round.
                log.warning("billing_unavailable", meter_id=str(meter_id), reason=error.message)
                break
            except DomainError as error:  # refused, no customer, too busy: the others go on
                log.warning("billing_report_failed", meter_id=str(meter_id), reason=error.message)
        return delivered

    def report_meter(self, meter_id: UUID | str) -> UsageReport | None:
        """Prepare (durably), send, then confirm one meter's report; None if nothing is due."""
        if self.gateway is None:
            raise Conflict("billing is not configured")
        report = self.prepare(meter_id)
        if report is None:
            return None
        accepted = self.gateway.report_usage(report)
        self.confirm(meter_id, report.identifier)
        log.info(
            "billing_reported",
            meter_id=str(meter_id),
            identifier=report.identifier,
            units=report.units,
            already_delivered=not accepted,
        )
        return report

    def prepare(self, meter_id: UUID | str) -> UsageReport | None:
        """The meter's pending report, or a new one saved before anything is sent."""
        uuid = _as_uuid(meter_id)
        for _ in range(SAVE_RETRIES):
            meter = self.developer.find(uuid, Meter)
            if meter is None or (
                meter.pending_identifier is None and meter.unreported_overage <= 0
            ):
                return None
            customer_id = self.developer.get_org(meter.org_id).billing_customer_id
            if customer_id is None:
                raise BillingRefused(f"organization {meter.org_id} has no billing customer")
            identifier, units = meter.prepare_report(actor=self.actor)
            if meter.pending_events:
                try:
                    self.developer.save(meter)
                except IntegrityError:
                    continue  # a call was counted meanwhile: decide again on the new state
            return UsageReport(
                event_name=EVENT_NAMES[meter.product],
                customer_id=customer_id,
                units=units,
                identifier=identifier,
                timestamp=self._last_usage_before(uuid, meter.version, identifier),
            )
        raise Conflict("the meter is too busy to prepare a report; try again")

    def confirm(self, meter_id: UUID | str, identifier: str) -> None:
        """Record that the provider has the report (a no-op if that is already recorded)."""
        uuid = _as_uuid(meter_id)
        for _ in range(SAVE_RETRIES):
            meter = self.developer.find(uuid, Meter)
            if meter is None or meter.pending_identifier != identifier:
                return  # another reporter confirmed it first
            meter.confirm_report(identifier, actor=self.actor)
            try:
                self.developer.save(meter)
            except IntegrityError:
                continue
            return
        raise Conflict("the meter is too busy to confirm a report; try again")

    def _last_usage_before(self, meter_id: UUID, version: int, identifier: str) -> int:
        """Unix seconds of the newest usage the report covers (stored, so re-sends agree)."""
        decode = self.developer.mapper.transcoder.decode
        seen_report = False
        lte = version
        while lte > 0:
            rows = self.developer.recorder.select_events(
                meter_id, lte=lte, desc=True, limit=SCAN_BATCH
            )
            for stored in rows:
                kind = _kind(stored.topic)
                if not seen_report:
                    seen_report = kind == "ReportPrepared" and (
                        self._state(stored)["identifier"] == identifier
                    )
                elif kind == "UsageRecorded":
                    return int(decode(self._raw(stored.state))["timestamp"].timestamp())
            if not rows:
                break
            lte = rows[-1].originator_version - 1
        raise Conflict(f"no usage found before report {identifier}")

    # --- replay ---------------------------------------------------------------------

    def count_events(self, org_id: str, period: str) -> int:
        """How many events a replay of this organisation and period reads (for progress)."""
        total = 0
        for product in PRODUCTS:
            last = self.developer.recorder.select_events(
                meter_id_for(org_id, product, period), desc=True, limit=1
            )
            total += last[0].originator_version if last else 0
        return total

    def replay(
        self, org_id: str, period: str, progress: Callable[[int], None] | None = None
    ) -> ReplayResult:
        """Recompute each product's meter from its events and compare with what is live."""
        live = self.counters.counters(org_id, period) if self.counters is not None else None
        products = []
        for product in PRODUCTS:
            replayed = self._replay_meter(product, meter_id_for(org_id, product, period), progress)
            if live is not None:
                replayed.live = live.get(product)
            replayed.differences = _differences(replayed, compare_live=live is not None)
            products.append(replayed)
        return ReplayResult(org_id=org_id, period=period, products=products)

    def _replay_meter(
        self, product: str, meter_id: UUID, progress: Callable[[int], None] | None
    ) -> ProductReplay:
        """Fold one meter stream in batches straight from the recorder (the hot loop)."""
        replayed = ProductReplay(product=product, meter_id=str(meter_id))
        select = self.developer.recorder.select_events
        state, loads, plain = self._state, self._loads, self._plain
        identifiers: Counter[str] = Counter()
        version = 0
        while True:
            rows = select(meter_id, gt=version, limit=self.batch_size)
            if not rows:
                break
            used = 0
            for stored in rows:
                kind = _KINDS.get(stored.topic) or _kind(stored.topic)
                if kind == "UsageRecorded":
                    # Nearly every event: read its units with the bare JSON decoder, no more.
                    used += (_JSON(stored.state.decode()) if plain else loads(stored.state))[
                        "units"
                    ]
                elif kind in ("Opened", "PlanApplied"):
                    data = state(stored)
                    replayed.included, replayed.hard_cap = data["included"], data["hard_cap"]
                elif kind == "ReportPrepared":
                    replayed.pending_identifier = state(stored)["identifier"]
                elif kind == "OverageReported":
                    data = state(stored)
                    replayed.reported += data["units"]
                    replayed.reports += 1
                    identifiers[data["identifier"]] += 1
                    replayed.pending_identifier = None
            replayed.used += used
            replayed.events += len(rows)
            version = rows[-1].originator_version
            if progress is not None:
                progress(len(rows))
        replayed.differences = [
            f"identifier {i} reported {n} times" for i, n in identifiers.items() if n > 1
        ]
        return replayed

    @property
    def _plain(self) -> bool:
        mapper = self.developer.mapper
        return mapper.cipher is None and mapper.compressor is None

    def _raw(self, data: bytes) -> bytes:
        """Stored bytes as the transcoder wrote them (decrypted, decompressed)."""
        mapper = self.developer.mapper
        if mapper.cipher is not None:
            data = mapper.cipher.decrypt(data)
        if mapper.compressor is not None:
            data = mapper.compressor.decompress(data)
        return data

    def _loads(self, data: bytes) -> Any:
        return _JSON(self._raw(data).decode())

    def _state(self, stored: StoredEvent) -> dict[str, Any]:
        """An event's primitive fields, without rebuilding a domain object."""
        state: dict[str, Any] = self._loads(stored.state)
        return state


def _differences(replayed: ProductReplay, *, compare_live: bool) -> list[str]:
    """Replay against the live counters and against the units reported to billing."""
    found = list(replayed.differences)
    live = replayed.live
    if compare_live:
        if live is None:
            if replayed.events:
                found.append("no live counter for this meter")
        else:
            for name, ours, theirs in (
                ("used", replayed.used, live.used),
                ("included", replayed.included, live.included),
                ("reported", replayed.reported, live.reported_units),
                ("pending report", replayed.pending_identifier, live.pending_identifier),
            ):
                if ours != theirs:
                    found.append(f"{name}: replayed {ours}, live counter {theirs}")
    if replayed.reported > replayed.overage:
        found.append(f"reported {replayed.reported} units, overage is {replayed.overage}")
    elif replayed.reported < replayed.overage:
        pending = f" (report {replayed.pending_identifier} pending)"
        found.append(
            f"{replayed.overage - replayed.reported} overage units not reported"
            + (pending if replayed.pending_identifier else "")
        )
    return found


_KINDS: dict[str, str] = {}
_JSON = json.JSONDecoder().decode  # the stdlib decoder minus json.loads's bytes sniffing


def _kind(topic: str) -> str:
    """The event class name of a topic, e.g. 'UsageRecorded' (cached: topics repeat)."""
    kind = _KINDS.get(topic)
    if kind is None:
        kind = _KINDS[topic] = topic.rsplit(".", 1)[-1]
    return kind


def _as_uuid(meter_id: UUID | str) -> UUID:
    return meter_id if isinstance(meter_id, UUID) else UUID(str(meter_id))
