"""The admin dashboard."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import AdminReadDep, ContainerDep, read_after
from api.schemas.errors import READ_AFTER, STAFF, errors
from api.schemas.orders import Stats
from infra.bootstrap import Container
from projections.base import Cursor
from projections.printer_load import printer_utilisation
from projections.stats import read_stats

router = APIRouter(prefix="/api/admin", tags=["dashboard"])

MAX_DAYS = 366
MAX_TOP_MATERIALS = 50


# Seed scope: admin:read (an admin JWT, or a PAT with admin:read).
@router.get(
    "/stats",
    response_model=Stats,
    responses=errors(*STAFF, *READ_AFTER),
    # Both views follow the ordering log: a position written there is waited for in each.
    dependencies=[read_after("stats", AdminReadDep), read_after("printer_load", AdminReadDep)],
)
def stats(
    _: AdminReadDep,
    container: ContainerDep,
    days: Annotated[
        int, Query(ge=1, le=MAX_DAYS, description="Days of revenue_by_day, ending today (UTC).")
    ] = 30,
    top: Annotated[
        int, Query(ge=1, le=MAX_TOP_MATERIALS, description="How many top materials.")
    ] = 5,
) -> dict[str, Any]:
    """Orders by status, revenue (totals and by day), top materials, printer utilisation
    and recent activity, all from read models."""
    with container.views.reading() as cur:
        body = read_stats(cur, days=days, top_materials=top)
        body["printer_utilisation"] = _utilisation(cur, container)
    return body


def _utilisation(cur: Cursor, container: Container) -> list[dict[str, Any]]:
    """Every active printer and every printer with work, named from the fleet, by name."""
    load = {row["printer_id"]: row for row in printer_utilisation(cur)}
    idle = {"queued_orders": 0, "queued_hours": 0.0, "printing_orders": 0, "printing_hours": 0.0}
    rows = []
    named = set()
    for printer in container.fleet.printers():
        printer_id, spec = str(printer.id), printer.current
        named.add(printer_id)
        if printer_id in load or spec.active:
            work = load.get(printer_id, idle)
            rows.append({**idle, **work, "printer_id": printer_id, "name": spec.name})
    # Work on a printer the fleet no longer lists (deleting one with work is refused) shows too.
    rows.extend({**row, "name": ""} for pid, row in load.items() if pid not in named)
    return sorted(rows, key=lambda r: (r["name"].casefold(), r["printer_id"]))
