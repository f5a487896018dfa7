"""Promos and the homepage popup: admin CRUD, and what the storefront shows now (public).

Not in the seed's API reference (its admin UI: "schedule promos, and configure the homepage
popup announcement"), so decided here: the admin routes are admin JWT only (site content,
kept from moderators like the shop settings); GET /api/public/promos answers the popup and
the banners live now, one call for the homepage.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response

from api.deps import AdminDep, ContainerDep, parse_id
from api.schemas.errors import ANY, STAFF, WITH_BODY, errors
from api.schemas.fleet import Deleted
from api.schemas.promos import ChangedPromo, PromoBody, PromoChanges, PromoList, ShowingNow
from api.text import changes_of
from domain.promos import Promo
from infra.bootstrap import Container

public_router = APIRouter(tags=["promos"])
admin_router = APIRouter(prefix="/api/admin", tags=["promos"], responses=errors(*STAFF))

# Fields a PATCH may clear with null; the others keep their value when sent as null.
CLEARABLE = frozenset({"starts_at", "ends_at", "coupon_code"})


def public_promo(promo: Promo) -> dict[str, Any]:
    """A promo as the storefront shows it."""
    spec = promo.spec
    return {
        "id": str(promo.id),
        **{k: spec[k] for k in ("title", "text", "link", "placement", "starts_at", "ends_at")},
        "coupon_code": spec["coupon_code"],
    }


def promo_info(promo: Promo, now: datetime, shown: set[str]) -> dict[str, Any]:
    """A promo as admins see it; `shown`: the ids the storefront shows at `now`."""
    return {
        **public_promo(promo),
        "active": promo.spec["active"],
        "showing": str(promo.id) in shown,
        "created_at": promo.created_on.isoformat(),
        "updated_at": promo.modified_on.isoformat(),
    }


def _shown(container: Container, now: datetime) -> set[str]:
    popup, banners = container.promos.showing(now)
    return {str(p.id) for p in [*banners, *([popup] if popup else [])]}


@public_router.get("/api/public/promos", response_model=ShowingNow, responses=errors(*ANY))
def showing_now(container: ContainerDep) -> dict[str, Any]:
    """The homepage popup announcement live now (or null) and the live banners by start."""
    popup, banners = container.promos.showing()
    return {
        "popup": None if popup is None else public_promo(popup),
        "promos": [public_promo(p) for p in banners],
    }


@admin_router.get("/promos", response_model=PromoList)
def promos(_: AdminDep, container: ContainerDep) -> dict[str, Any]:
    """Every promo not deleted (past and future too), newest first."""
    now = container.promos.clock()
    shown = _shown(container, now)
    return {"promos": [promo_info(p, now, shown) for p in container.promos.all()]}


def _changed(
    response: Response, container: Container, promo: Promo, changed: bool, position: int
) -> dict[str, Any]:
    response.headers["X-Position"] = str(position)
    now = container.promos.clock()
    info = promo_info(promo, now, _shown(container, now))
    return {"promo": info, "changed": changed, "position": position}


@admin_router.post(
    "/promos", status_code=201, response_model=ChangedPromo, responses=errors(*WITH_BODY)
)
def schedule_promo(
    body: PromoBody, caller: AdminDep, container: ContainerDep, response: Response
) -> dict[str, Any]:
    """Schedule a banner, or the popup with `"placement": "popup"`; a coupon it names must
    exist (422)."""
    promo, position = container.promos.schedule(body.model_dump(), actor=caller.actor)
    return _changed(response, container, promo, True, position)


@admin_router.patch(
    "/promos/{promo_id}", response_model=ChangedPromo, responses=errors(*WITH_BODY, 404, 409)
)
def change_promo(
    promo_id: str,
    body: PromoChanges,
    caller: AdminDep,
    container: ContainerDep,
    response: Response,
) -> dict[str, Any]:
    """Change some fields; `{"active": false}` takes it off the storefront."""
    fields = changes_of(body, CLEARABLE)
    promo, changed, position = container.promos.change(
        parse_id(promo_id, "promo"), fields, actor=caller.actor
    )
    return _changed(response, container, promo, changed, position)


@admin_router.delete("/promos/{promo_id}", response_model=Deleted, responses=errors(404, 409))
def delete_promo(
    promo_id: str, caller: AdminDep, container: ContainerDep, response: Response
) -> dict[str, Any]:
    """Delete a promo (its history stays)."""
    pid = parse_id(promo_id, "promo")
    position = container.promos.delete(pid, actor=caller.actor)
    response.headers["X-Position"] = str(position)
    return {"id": str(pid), "deleted": True, "position": position}
