"""Developer-API use cases: organisations, API keys, key verification and metering."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError

from application.base import FabApplication
from application.combining import Combiner
from application.ports import BillingGateway
from domain.api_key_format import (
    KEY_ID_HEX,
    SECRET_HEX,
    PresentedKey,
    format_key,
    pair_secret,
)
from domain.api_keys import ApiKey, api_key_id_for, hash_secret
from domain.errors import Conflict, NotFound, QuotaExceeded, Unauthorized
from domain.meters import Meter, billing_period, meter_id_for
from domain.organizations import Organization
from domain.plans import PLANS, PRODUCTS, Plan

INVALID_KEY = "Invalid API key."
REVOKED_KEY = "API key has been revoked."
# How long a verified key (or an org's plan) is trusted from memory. Revocation in
# this process clears it at once; other processes see it within this many seconds.
CACHE_SECONDS = 2.0
KEPT_METERS = 10_000  # meters kept as last saved (one per organisation, product and month)
# Another process may win a meter write; retry so that every accepted call counts.
METER_RETRIES = 50
_UNKNOWN = object()  # cached answer for a key id that is not in the store


@dataclass(frozen=True)
class IssuedKey:
    """A new key as shown once: both authentication styles of the same credential."""

    key: ApiKey
    api_key: str
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class VerifiedKey:
    """What the hot path needs to know about a key that authenticated."""

    key_id: str
    org_id: str
    secret_hash: str
    revoked: bool


@dataclass(frozen=True)
class MeterReading:
    """The quota state after a metered call: what the response headers show."""

    tier: str
    included: int
    remaining: int
    used: int


class _TtlCache:
    """A small time-bounded cache (entries expire; revocation deletes)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._items: dict[str, tuple[float, object]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> object | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is None or hit[0] < time.monotonic():
                return None
            return hit[1]

    def put(self, key: str, value: object) -> None:
        with self._lock:
            if len(self._items) > 100_000:
                self._items.clear()  # bounded memory beats a perfect hit rate
            self._items[key] = (time.monotonic() + self.seconds, value)

    def forget(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)


class DeveloperApp(FabApplication):
    """Organisations, keys and meters share one log: usage and billing replay from it."""

    name = "developer"
    # Meters grow by one event per call: snapshots keep a cold start from replaying them.
    snapshotting_intervals = {Meter: 500}
    env = {"AGGREGATE_CACHE_MAXSIZE": "10000"}

    def __init__(
        self, env: dict[str, str] | None = None, billing: BillingGateway | None = None
    ) -> None:
        super().__init__(env)
        self.billing = billing
        self._keys = _TtlCache(CACHE_SECONDS)
        self._plans = _TtlCache(CACHE_SECONDS)
        self._kept_meters: dict[UUID, Meter] = {}
        self._kept_lock = threading.Lock()
        self._meters: Combiner[tuple[UUID, str, str, str], tuple[str, str], MeterReading] = (
            Combiner(self._count_calls)
        )

    # --- organisations --------------------------------------------------------------

    def create_org(self, *, name: str, owner_id: str) -> Organization:
        """A new free-tier organisation owned by its creator."""
        org = Organization.create(
            org_id=uuid4(), name=name, owner_id=owner_id, actor=f"user:{owner_id}"
        )
        self.save(org)
        return org

    def get_org(self, org_id: str) -> Organization:
        """The organisation, or NotFound."""
        org = self.find(_uuid(org_id), Organization)
        if org is None:
            raise NotFound("organization not found")
        return org

    def member_org(self, org_id: str, user_id: str) -> Organization:
        """The organisation if the user belongs to it (404 otherwise: no probing)."""
        org = self.get_org(org_id)
        if org.role_of(user_id) is None:
            raise NotFound("organization not found")
        return org

    def change_plan(
        self, org_id: str, plan: str, *, actor_id: str, email: str | None
    ) -> Organization:
        """Change tier; a paid tier first gets a billing customer (created once)."""
        org = self.member_org(org_id, actor_id)
        org.require_key_manager(actor_id)
        if plan != "free" and org.billing_customer_id is None:
            if self.billing is None:
                raise Conflict("billing is not configured; paid plans are unavailable")
            customer = self.billing.create_customer(org_id=str(org.id), name=org.name, email=email)
            org.link_billing_customer(customer, actor=f"user:{actor_id}")
        org.change_plan(plan, actor=f"user:{actor_id}")
        self.save_new(org)
        self._plans.forget(str(org.id))
        return org

    def plan_of(self, org_id: str) -> Plan:
        """The organisation's current plan (cached briefly: it is read on every call)."""
        cached = self._plans.get(org_id)
        if isinstance(cached, Plan):
            return cached
        plan = PLANS[self.get_org(org_id).plan]
        self._plans.put(org_id, plan)
        return plan

    # --- keys ---------------------------------------------------------------------------

    def issue_key(self, org_id: str, *, name: str, actor: str) -> IssuedKey:
        """Create a key within the plan's limit; the secret exists only in the answer."""
        org = self.get_org(org_id)
        key_id = secrets.token_hex(KEY_ID_HEX // 2)
        secret = secrets.token_hex(SECRET_HEX // 2)
        key = ApiKey.issue(org_id=str(org.id), key_id=key_id, name=name, secret=secret, actor=actor)
        org.attach_key(key_id, actor=actor)
        self.save_new(org, key)
        self._keys.forget(key_id)
        return IssuedKey(
            key=key,
            api_key=format_key(key_id, secret),
            client_id=PresentedKey(key_id, secret).client_id,
            client_secret=pair_secret(key_id, secret),
        )

    def revoke_key(self, org_id: str, key_id: str, *, actor: str) -> ApiKey:
        """Revoke one of the organisation's keys; it stops working at once here."""
        key = self.find(api_key_id_for(key_id), ApiKey)
        if key is None or key.org_id != org_id:
            raise NotFound("API key not found")
        org = self.get_org(org_id)
        key.revoke(actor=actor)
        org.detach_key(key_id, actor=actor)
        self.save_new(key, org)
        self._keys.forget(key_id)
        return key

    def org_keys(self, org_id: str) -> list[ApiKey]:
        """The organisation's active keys, oldest first."""
        org = self.get_org(org_id)
        keys = [self.find(api_key_id_for(k), ApiKey) for k in org.active_keys]
        return [k for k in keys if k is not None]

    def verify(self, presented: PresentedKey) -> VerifiedKey:
        """The key behind a presented credential, or Unauthorized with the seed's texts."""
        cached = self.verify_cached(presented)
        return cached if cached is not None else self._checked(presented, self._load(presented))

    def verify_cached(self, presented: PresentedKey) -> VerifiedKey | None:
        """Like verify, from memory only: None when the key must be read from the store."""
        cached = self._keys.get(presented.key_id)
        if cached is None:
            return None
        if cached is _UNKNOWN:
            raise Unauthorized(INVALID_KEY)
        assert isinstance(cached, VerifiedKey)
        return self._checked(presented, cached)

    def _load(self, presented: PresentedKey) -> VerifiedKey:
        key = self.find(api_key_id_for(presented.key_id), ApiKey)
        if key is None:
            # Remember misses too: the checksum is public, so well-formed junk is cheap to make.
            self._keys.put(presented.key_id, _UNKNOWN)
            raise Unauthorized(INVALID_KEY)
        verified = VerifiedKey(key.key_id, key.org_id, key.secret_hash, key.revoked)
        self._keys.put(presented.key_id, verified)
        return verified

    @staticmethod
    def _checked(presented: PresentedKey, verified: VerifiedKey) -> VerifiedKey:
        if not _same_secret(verified, presented.secret):
            raise Unauthorized(INVALID_KEY)
        if verified.revoked:
            raise Unauthorized(REVOKED_KEY)
        return verified

    # --- metering -----------------------------------------------------------------------

    def record_usage(
        self,
        *,
        org_id: str,
        product: str,
        key_id: str,
        request_id: str,
        now: datetime | None = None,
    ) -> MeterReading:
        """Count one call on the period's meter, or raise QuotaExceeded at a hard cap.

        Calls on one meter arriving together are counted in one save (application.combining),
        each in arrival order against the count its predecessors left.
        """
        if product not in PRODUCTS:
            raise NotFound(f"unknown product '{product}'")
        period = billing_period(now or datetime.now(UTC))
        meter_id = meter_id_for(org_id, product, period)
        return self._meters.submit((meter_id, org_id, product, period), (key_id, request_id))

    def _count_calls(
        self, meter_key: tuple[UUID, str, str, str], calls: Sequence[tuple[str, str]]
    ) -> list[MeterReading | BaseException]:
        """Record these calls on one meter in one save; a reading or a refusal for each."""
        meter_id, org_id, product, period = meter_key
        # The meter as this process last saved it: no read per batch. The combiner runs one
        # batch per meter at a time, so it is never shared; if another process counted
        # since, the save conflicts and the meter is read afresh.
        with self._kept_lock:
            kept = self._kept_meters.pop(meter_id, None)
        for _ in range(METER_RETRIES):
            plan = self.plan_of(org_id)
            meter = kept or self.find(meter_id, Meter)
            kept = None
            meter = meter or Meter.open(org_id=org_id, product=product, period=period, plan=plan)
            outcomes: list[MeterReading | BaseException] = []
            for key_id, request_id in calls:
                try:
                    meter.record(key_id=key_id, request_id=request_id, plan=plan)
                except QuotaExceeded as refused:
                    outcomes.append(refused)
                    continue
                outcomes.append(
                    MeterReading(plan.tier, meter.included, meter.remaining, meter.used)
                )
            try:
                self.save(meter)
            except IntegrityError:
                continue  # another process counted first: reload and decide again
            with self._kept_lock:  # leaders of other meters run in other threads
                self._kept_meters[meter_id] = meter  # the newest last: the oldest goes first
                if len(self._kept_meters) > KEPT_METERS:
                    del self._kept_meters[next(iter(self._kept_meters))]
            return outcomes
        raise Conflict("the usage meter is too busy; retry the request")

    def meter_batch_sizes(self) -> Counter[int]:
        """Calls per meter save so far in this process (how much combining happened)."""
        return Counter(self._meters.sizes)

    def meter(self, org_id: str, product: str, period: str) -> Meter | None:
        """The meter of one product and period, if any call was made."""
        return self.find(meter_id_for(org_id, product, period), Meter)


def _same_secret(key: VerifiedKey, secret: str) -> bool:
    """Constant-time comparison against the stored hash."""
    return hmac.compare_digest(key.secret_hash, hash_secret(secret))


def _uuid(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError as error:
        raise NotFound("organization not found") from error
