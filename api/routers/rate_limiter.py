"""The rate limiter for admins: read the limits, change them live (no restart)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from api.deps import AdminDep, AdminReadDep, ContainerDep
from api.rate_limit import limits_changed
from api.schemas.errors import STAFF, WITH_BODY, errors
from api.schemas.rate_limits import RateLimiterChange, RateLimiterChanged, RateLimiterConfig
from domain.rate_limits import SETTING_KEY, RateLimits

router = APIRouter(prefix="/api/admin", tags=["settings"], responses=errors(*STAFF))


# Seed scope: admin:read (an admin JWT, or a PAT with admin:read).
@router.get("/rate-limiter", response_model=RateLimiterConfig)
def rate_limiter(_: AdminReadDep, container: ContainerDep) -> dict[str, Any]:
    """The limits every API process applies (within ~1 s of a change)."""
    current = RateLimits.from_value(container.shop.value(SETTING_KEY))
    return {**current.to_value(), "enabled": container.settings.rate_limits_enabled}


# JWT only (seed). Stored as the shop setting "rate_limiter": the change is an event with
# the admin and the previous value (GET /api/admin/settings/history). 409: another admin
# changed the settings at the same moment. Fields left out are taken from the value read
# here (another process's change of the last second may be one this PUT does not see).
@router.put("/rate-limiter", response_model=RateLimiterChanged, responses=errors(*WITH_BODY, 409))
def change_rate_limiter(
    body: RateLimiterChange,
    caller: AdminDep,
    container: ContainerDep,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    """Change any limit or the bypass roles; a value out of range is 422 naming the field."""
    current = RateLimits.from_value(container.shop.value(SETTING_KEY))
    value = current.changed(body.model_dump(exclude_none=True))
    change, changed, position = container.shop.change(SETTING_KEY, value, actor=caller.actor)
    limits_changed(request.app)
    response.headers["X-Position"] = str(position)
    return {
        **change.value,
        "enabled": container.settings.rate_limits_enabled,
        "changed": changed,
        "position": position,
    }
