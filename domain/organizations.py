"""The Organization aggregate: members with roles, a plan tier, a billing customer."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, Forbidden, InvalidInput
from domain.plans import PLANS

OWNER = "owner"
ADMIN = "admin"
MEMBER = "member"
MEMBER_ROLES = (OWNER, ADMIN, MEMBER)
KEY_MANAGERS = (OWNER, ADMIN)


class Organization(Aggregate):
    """A developer organisation: its keys and meters point at it."""

    @event("Created")
    def __init__(self, *, id: UUID, name: str, owner_id: str, plan: str, actor: str) -> None:
        self.name = name
        self.plan = plan
        self.members: dict[str, str] = {owner_id: OWNER}
        self.billing_customer_id: str | None = None
        self.active_keys: list[str] = []

    @classmethod
    def create(cls, *, org_id: UUID, name: str, owner_id: str, actor: str) -> Organization:
        """A new organisation on the free tier, owned by its creator."""
        name = name.strip()
        if not name or len(name) > 100:
            raise InvalidInput("name must be 1-100 characters")
        return cls(id=org_id, name=name, owner_id=owner_id, plan="free", actor=actor)

    def role_of(self, user_id: str) -> str | None:
        """The member's role, or None for a non-member."""
        return self.members.get(user_id)

    def require_key_manager(self, user_id: str) -> None:
        """Only owners and admins manage keys."""
        if self.role_of(user_id) not in KEY_MANAGERS:
            raise Forbidden("only organisation owners and admins manage API keys")

    def add_member(self, user_id: str, role: str, *, actor: str) -> None:
        """Add or re-role a member (there is exactly one owner)."""
        if role not in (ADMIN, MEMBER):
            raise InvalidInput("role must be 'admin' or 'member'")
        if self.members.get(user_id) == OWNER:
            raise Conflict("the owner's role cannot be changed")
        self._member_set(user_id=user_id, role=role, actor=actor)

    def change_plan(self, plan: str, *, actor: str) -> None:
        """Move to another tier; paid tiers need a billing customer first."""
        if plan not in PLANS:
            raise InvalidInput(f"plan must be one of {', '.join(PLANS)}")
        if plan != "free" and self.billing_customer_id is None:
            raise Conflict("link a billing customer before choosing a paid plan")
        if plan != self.plan:
            self._plan_changed(plan=plan, actor=actor)

    def link_billing_customer(self, customer_id: str, *, actor: str) -> None:
        """Remember the payment provider's customer id for overage billing."""
        if self.billing_customer_id not in (None, customer_id):
            raise Conflict("a different billing customer is already linked")
        if self.billing_customer_id is None:
            self._billing_customer_linked(customer_id=customer_id, actor=actor)

    def attach_key(self, key_id: str, *, actor: str) -> None:
        """Count a new key against the plan's limit (checked here, so it holds under races)."""
        limit = PLANS[self.plan].max_keys
        if len(self.active_keys) >= limit:
            raise Conflict(f"the {self.plan} plan allows {limit} active API keys; revoke one first")
        self._key_attached(key_id=key_id, actor=actor)

    def detach_key(self, key_id: str, *, actor: str) -> None:
        """Free a revoked key's place."""
        if key_id in self.active_keys:
            self._key_detached(key_id=key_id, actor=actor)

    @event("KeyAttached")
    def _key_attached(self, key_id: str, actor: str) -> None:
        self.active_keys.append(key_id)

    @event("KeyDetached")
    def _key_detached(self, key_id: str, actor: str) -> None:
        self.active_keys.remove(key_id)

    @event("MemberSet")
    def _member_set(self, user_id: str, role: str, actor: str) -> None:
        self.members[user_id] = role

    @event("PlanChanged")
    def _plan_changed(self, plan: str, actor: str) -> None:
        self.plan = plan

    @event("BillingCustomerLinked")
    def _billing_customer_linked(self, customer_id: str, actor: str) -> None:
        self.billing_customer_id = customer_id
