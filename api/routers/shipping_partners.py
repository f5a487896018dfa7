"""Shipping partners for staff: admins manage them, moderators read them."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field, StrictInt

from api.deps import Caller, ContainerDep, parse_id, require_role
from api.schemas.errors import STAFF, WITH_BODY, errors
from api.schemas.shipping import (
    ChangedShippingPartner,
    RemovedShippingPartner,
    ShippingPartnerList,
)
from api.text import TextBody
from domain.fleet.shipping_partners import DEFAULT_SLUG, MAX_NAME, MAX_TEMPLATE, ShippingPartner
from domain.shipping import MAX_BANDS, MAX_PRICE_PAISE, MAX_SLABS
from domain.users import ADMIN, MODERATOR

Paise = Annotated[StrictInt, Field(ge=0, le=MAX_PRICE_PAISE)]
Grams = Annotated[StrictInt, Field(ge=1, le=1_000_000)]


class BandBody(BaseModel):
    up_to_km: Annotated[StrictInt, Field(ge=1, le=100_000)] | None = None
    prices_paise: list[Paise] = Field(min_length=1, max_length=MAX_SLABS)
    extra_step_paise: Paise


class RateTableBody(BaseModel):
    slabs_g: list[Grams] = Field(min_length=1, max_length=MAX_SLABS)
    step_g: Grams = 500
    bands: list[BandBody] = Field(min_length=1, max_length=MAX_BANDS)
    local: BandBody | None = None


class PartnerChange(TextBody):
    """PUT replaces every field; a slug sent here is ignored (it keys the partner's stream)."""

    name: str = Field(min_length=1, max_length=MAX_NAME)
    tracking_url_template: str = Field(min_length=1, max_length=MAX_TEMPLATE)
    rate_table: RateTableBody
    active: bool = True

    def fields(self) -> dict[str, Any]:
        """The partner's fields as the domain takes them."""
        return {
            "name": self.name,
            "tracking_url_template": self.tracking_url_template,
            "rate_table": self.rate_table.model_dump(),
            "active": self.active,
        }


class NewPartner(PartnerChange):
    slug: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)

    def fields(self) -> dict[str, Any]:
        """The partner's fields, with the slug if one was chosen."""
        return {**super().fields(), "slug": self.slug}


def partner_view(partner: ShippingPartner) -> dict[str, Any]:
    """A partner as staff see it."""
    return {
        "id": str(partner.id),
        **partner.spec,
        "is_default": partner.spec["slug"] == DEFAULT_SLUG,
    }


def shipping_partners_router(prefix: str, *, readers: tuple[str, ...], writers: bool) -> APIRouter:
    """The partner routes under prefix; writes only where `writers` (admins)."""
    router = APIRouter(prefix=prefix, tags=["shipping"], responses=errors(*STAFF))
    Reader = Annotated[Caller, Depends(require_role(*readers))]
    Admin = Annotated[Caller, Depends(require_role(ADMIN))]

    # Seed: shipping partners are not in the API reference; no PAT scope listed (JWT only).
    @router.get("/shipping-partners", response_model=ShippingPartnerList)
    def partners(_: Reader, container: ContainerDep) -> dict[str, Any]:
        """Every shipping partner, active or not, by name."""
        return {"partners": [partner_view(p) for p in container.shipping.partners()]}

    if not writers:
        return router

    def _changed(response: Response, partner: ShippingPartner, position: int) -> dict[str, Any]:
        response.headers["X-Position"] = str(position)
        return {"partner": partner_view(partner), "position": position}

    # Seed: no PAT scope listed (JWT only).
    @router.post(
        "/shipping-partners",
        status_code=201,
        response_model=ChangedShippingPartner,
        responses=errors(*WITH_BODY, 409),
    )
    def add(
        body: NewPartner, caller: Admin, container: ContainerDep, response: Response
    ) -> dict[str, Any]:
        """Add a partner: name, tracking URL template, rate table (paise), active."""
        partner, position = container.shipping.add_partner(body.fields(), actor=caller.actor)
        return _changed(response, partner, position)

    # Seed: no PAT scope listed (JWT only).
    @router.put(
        "/shipping-partners/{partner_id}",
        response_model=ChangedShippingPartner,
        responses=errors(*WITH_BODY, 404, 409),
    )
    def update(
        partner_id: str,
        body: PartnerChange,
        caller: Admin,
        container: ContainerDep,
        response: Response,
    ) -> dict[str, Any]:
        """Replace a partner's fields (or deactivate it with active: false)."""
        partner, position = container.shipping.update_partner(
            parse_id(partner_id, "shipping partner"), body.fields(), actor=caller.actor
        )
        return _changed(response, partner, position)

    # Seed: no PAT scope listed (JWT only).
    @router.delete(
        "/shipping-partners/{partner_id}",
        response_model=RemovedShippingPartner,
        responses=errors(404, 409),
    )
    def remove(
        partner_id: str, caller: Admin, container: ContainerDep, response: Response
    ) -> dict[str, Any]:
        """Delete a partner; quotes can no longer pick it, its history stays."""
        position = container.shipping.remove_partner(
            parse_id(partner_id, "shipping partner"), actor=caller.actor
        )
        response.headers["X-Position"] = str(position)
        return {"id": str(parse_id(partner_id)), "deleted": True, "position": position}

    return router


admin_router = shipping_partners_router("/api/admin", readers=(ADMIN,), writers=True)
# Moderators set carrier tracking on orders, so they may see the partners (read only): the
# seed gives them no settings or cost-engine access, and a tariff is a cost setting.
moderator_router = shipping_partners_router("/api/mod", readers=(MODERATOR, ADMIN), writers=False)
