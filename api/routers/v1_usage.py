"""The organisation's usage: counts per meter and billing period."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import ContainerDep, read_after
from api.key_auth import KeyDep
from api.schemas.developer import Usage
from api.schemas.errors import READ_AFTER, SIGNED_IN, errors
from projections.usage import usage_for_org

router = APIRouter(prefix="/api/v1", tags=["developer API"])


@router.get(
    "/usage",
    response_model=Usage,
    responses=errors(*SIGNED_IN, *READ_AFTER),
    dependencies=[read_after("usage", KeyDep)],
)
def usage(
    key: KeyDep,
    container: ContainerDep,
    period: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
) -> dict[str, Any]:
    """Used, included, remaining and overage units per product and period."""
    plan = container.developer.plan_of(key.org_id)
    with container.views.reading() as cur:
        meters = usage_for_org(cur, key.org_id, period)
    return {"org_id": key.org_id, "tier": plan.tier, "meters": meters}
