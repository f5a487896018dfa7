"""Organisations for signed-in users: create, plan, members, and the first keys."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from api.deps import CallerDep, ContainerDep
from api.key_presenter import issued_key
from api.keys_listing import list_org_keys
from api.schemas.developer import IssuedKey, KeyList, OrgView, RevokedKey
from api.schemas.errors import SIGNED_IN, WITH_BODY, errors
from api.text import TextBody
from domain.api_key_format import CLIENT_ID_PREFIX
from domain.errors import NotFound
from domain.organizations import Organization

router = APIRouter(prefix="/api/orgs", tags=["organisations"], responses=errors(*SIGNED_IN))


class NewOrgBody(TextBody):
    name: str = Field(max_length=100)


class PlanBody(TextBody):
    plan: str = Field(max_length=20)


class MemberBody(TextBody):
    email: str = Field(max_length=254)
    role: str = Field(max_length=20)


class NewKeyBody(TextBody):
    name: str = Field(max_length=100)


def org_view(org: Organization) -> dict[str, Any]:
    """The organisation as its members see it."""
    return {
        "id": str(org.id),
        "name": org.name,
        "plan": org.plan,
        "members": [{"user_id": u, "role": r} for u, r in org.members.items()],
        "active_keys": len(org.active_keys),
        "billing_linked": org.billing_customer_id is not None,
    }


@router.post("", status_code=201, response_model=OrgView, responses=errors(*WITH_BODY))
def create_org(body: NewOrgBody, caller: CallerDep, container: ContainerDep) -> dict[str, Any]:
    """A new organisation on the free tier, owned by the caller."""
    return org_view(container.developer.create_org(name=body.name, owner_id=caller.id))


@router.get("/{org_id}", response_model=OrgView, responses=errors(404))
def get_org(org_id: str, caller: CallerDep, container: ContainerDep) -> dict[str, Any]:
    """An organisation the caller belongs to."""
    return org_view(container.developer.member_org(org_id, caller.id))


@router.patch(
    "/{org_id}/plan", response_model=OrgView, responses=errors(*WITH_BODY, 403, 404, 409, 503)
)
def change_plan(
    org_id: str, body: PlanBody, caller: CallerDep, container: ContainerDep
) -> dict[str, Any]:
    """Change tier (owners and admins); paid tiers get a billing customer."""
    org = container.developer.change_plan(
        org_id, body.plan, actor_id=caller.id, email=caller.user.email
    )
    return org_view(org)


@router.post(
    "/{org_id}/members", response_model=OrgView, responses=errors(*WITH_BODY, 403, 404, 409)
)
def set_member(
    org_id: str, body: MemberBody, caller: CallerDep, container: ContainerDep
) -> dict[str, Any]:
    """Add a registered user to the organisation, or change their role."""
    developer = container.developer
    org = developer.member_org(org_id, caller.id)
    org.require_key_manager(caller.id)
    member = container.identity.user_by_email(body.email)
    if member is None:
        raise NotFound("no user with that email")
    org.add_member(str(member.id), body.role, actor=caller.actor)
    developer.save_new(org)
    return org_view(org)


@router.get("/{org_id}/keys", response_model=KeyList, responses=errors(404))
def list_keys(org_id: str, caller: CallerDep, container: ContainerDep) -> dict[str, Any]:
    """The organisation's active keys (members may look)."""
    container.developer.member_org(org_id, caller.id)
    return list_org_keys(container, org_id)


@router.post(
    "/{org_id}/keys",
    status_code=201,
    response_model=IssuedKey,
    responses=errors(*WITH_BODY, 403, 404, 409),
)
def create_key(
    org_id: str, body: NewKeyBody, caller: CallerDep, container: ContainerDep
) -> dict[str, Any]:
    """Create a key (owners and admins); the secret is shown in this answer only."""
    container.developer.member_org(org_id, caller.id).require_key_manager(caller.id)
    return issued_key(container.developer.issue_key(org_id, name=body.name, actor=caller.actor))


@router.delete(
    "/{org_id}/keys/{key_ref}", response_model=RevokedKey, responses=errors(403, 404, 409)
)
def revoke_key(
    org_id: str, key_ref: str, caller: CallerDep, container: ContainerDep
) -> dict[str, Any]:
    """Revoke a key (owners and admins)."""
    container.developer.member_org(org_id, caller.id).require_key_manager(caller.id)
    key_id = key_ref.removeprefix(CLIENT_ID_PREFIX)
    revoked = container.developer.revoke_key(org_id, key_id, actor=caller.actor)
    return {"revoked": True, "clientId": CLIENT_ID_PREFIX + revoked.key_id}
