"""Site content: the store profile and site settings by section (admins), and what the
storefront shows of them (public).

Seed scopes: GET site-info and GET company-info admin:read (an admin JWT, or a PAT with
admin:read); the about info and every write JWT only. A bulk write is the section's keys
with their new values: each key is checked by its own spec (422 naming the key and the
field, and nothing is changed), and each change is an event with the admin and the
previous value (GET /api/admin/settings/history). The public answers may be cached for a
minute by browsers; every API process sees a change within ~1 s (application.shop).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from api.deps import AdminDep, AdminReadDep, ContainerDep
from api.schemas.errors import ANY, STAFF, WITH_BODY, errors
from api.schemas.site_content import (
    AboutInfoAnswer,
    AboutInfoBody,
    CompanyInfoAnswer,
    CompanyInfoBody,
    PublicAboutInfo,
    PublicSiteInfo,
    SavedAboutInfo,
    SavedCompanyInfo,
    SiteInfoAnswer,
)
from application.shop import SettingChange
from application.site_content import SiteContent

router = APIRouter(prefix="/api/admin", tags=["site content"], responses=errors(*STAFF))
public_router = APIRouter(prefix="/api/public", tags=["site content"], responses=errors(*ANY))

PUBLIC_CACHE = "public, max-age=60"


def _saved(
    response: Response, settings: dict[str, Any], saved: tuple[list[SettingChange], int]
) -> dict[str, Any]:
    changes, position = saved
    response.headers["X-Position"] = str(position)
    return {
        "settings": settings,
        "changes": [vars(change) for change in changes],
        "position": position,
    }


@router.get("/site-info", response_model=SiteInfoAnswer)
def site_info(_: AdminReadDep, container: ContainerDep) -> dict[str, Any]:
    """General, company and social settings combined, by key."""
    return SiteContent(container.shop).site_info()


@router.get("/company-info", response_model=CompanyInfoAnswer)
def company_info(_: AdminReadDep, container: ContainerDep) -> dict[str, Any]:
    """Company name and logo, contact, address, legal, invoice seller, UPI and social links."""
    return SiteContent(container.shop).company_info()


# 409: another admin changed the settings at the same moment (nothing of this one saved).
@router.post("/company-info", response_model=SavedCompanyInfo, responses=errors(*WITH_BODY, 409))
def save_company_info(
    body: CompanyInfoBody, caller: AdminDep, container: ContainerDep, response: Response
) -> dict[str, Any]:
    """Change any company-info keys at once (bulk key-value); one bad value changes none."""
    site = SiteContent(container.shop)
    values = body.model_dump(exclude_unset=True)
    saved = site.save_company_info(values, actor=caller.actor)
    return _saved(response, site.company_info(), saved)


@router.get("/about-info", response_model=AboutInfoAnswer)
def about_info(_: AdminDep, container: ContainerDep) -> dict[str, Any]:
    """The about page's hero, stats strip, story and mission, and cards, by key."""
    return SiteContent(container.shop).about_info()


@router.post("/about-info", response_model=SavedAboutInfo, responses=errors(*WITH_BODY, 409))
def save_about_info(
    body: AboutInfoBody, caller: AdminDep, container: ContainerDep, response: Response
) -> dict[str, Any]:
    """Change any about-info keys at once (bulk key-value); one bad value changes none."""
    site = SiteContent(container.shop)
    values = body.model_dump(exclude_unset=True)
    saved = site.save_about_info(values, actor=caller.actor)
    return _saved(response, site.about_info(), saved)


@public_router.get("/site-info", response_model=PublicSiteInfo)
def public_site_info(container: ContainerDep, response: Response) -> dict[str, Any]:
    """Shop name, logo, currency, social links, UPI details: what brands the storefront."""
    response.headers["Cache-Control"] = PUBLIC_CACHE
    return SiteContent(container.shop).public_site_info()


@public_router.get("/about-info", response_model=PublicAboutInfo)
def public_about_info(container: ContainerDep, response: Response) -> dict[str, Any]:
    """The about page: hero, stats, story and mission, and the cards switched on."""
    response.headers["Cache-Control"] = PUBLIC_CACHE
    return SiteContent(container.shop).public_about_info()
