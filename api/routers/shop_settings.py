"""Shop settings for admins: read them all, change one (validated by key), audit changes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from pydantic import Field

from api.deps import AdminDep, AdminReadDep, ContainerDep
from api.schemas.errors import STAFF, WITH_BODY, errors
from api.schemas.shop import ChangedSetting, SettingHistory, SettingsAnswer
from api.text import TextBody
from domain.shop.settings import SPECS

router = APIRouter(prefix="/api/admin", tags=["settings"], responses=errors(*STAFF))

Key = Annotated[str, Path(max_length=80)]


class SettingBody(TextBody):
    # robots_txt spans lines; each key's own check refuses line breaks where they are wrong.
    multiline = frozenset({"value"})

    value: Any = Field(description="The new value; its type and range depend on the key.")


# Seed scope: admin:read (an admin JWT, or a PAT with admin:read).
@router.get("/settings", response_model=SettingsAnswer)
def settings(_: AdminReadDep, container: ContainerDep) -> dict[str, Any]:
    """All shop settings keyed by key, with defaults and descriptions."""
    current = container.shop.current()
    values = current.all()
    return {
        "settings": {
            key: {
                "value": values[key],  # as shown: secret fields only say whether they are set
                "default": spec.shown(spec.default),
                "description": spec.description,
            }
            for key, spec in sorted(SPECS.items())
        },
        "version": current.version,
    }


# Not in the seed; admin:read like the settings it audits.
@router.get("/settings/history", response_model=SettingHistory)
def history(_: AdminReadDep, container: ContainerDep) -> dict[str, Any]:
    """Every settings change, oldest first: who changed what, from what, to what."""
    return {"changes": [vars(change) for change in container.shop.history()]}


# JWT only (seed). 409: another admin changed the settings at the same moment.
@router.put(
    "/settings/{key}", response_model=ChangedSetting, responses=errors(*WITH_BODY, 404, 409)
)
def change_setting(
    key: Key,
    body: SettingBody,
    caller: AdminDep,
    container: ContainerDep,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    """Set one setting; a value of the wrong type or range is 422 naming the key."""
    change, changed, position = container.shop.change(key, body.value, actor=caller.actor)
    network = getattr(request.app.state, "network", None)
    if network is not None:  # CORS and CSP apply this process's own change at once
        network.forget()
    response.headers["X-Position"] = str(position)
    return {
        "key": key,
        "value": change.value,
        "previous": change.previous,
        "changed": changed,
        "position": position,
    }
