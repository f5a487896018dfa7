"""The admin dashboard."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import AdminDep, ContainerDep, read_after
from api.schemas.errors import READ_AFTER, STAFF, errors
from api.schemas.orders import Stats
from projections.stats import read_stats

router = APIRouter(prefix="/api/admin", tags=["dashboard"])


@router.get(
    "/stats",
    response_model=Stats,
    responses=errors(*STAFF, *READ_AFTER),
    dependencies=[read_after("stats", AdminDep)],
)
def stats(_: AdminDep, container: ContainerDep) -> dict[str, Any]:
    """Order counts by status, revenue totals and recent activity (from the stats view)."""
    with container.views.reading() as cur:
        return read_stats(cur)
