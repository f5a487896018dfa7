"""Key management with a key: list, create, revoke within the key's organisation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from api.deps import ContainerDep
from api.key_auth import KeyDep
from api.key_presenter import issued_key
from api.keys_listing import list_org_keys
from api.schemas.developer import IssuedKey, KeyList, RevokedKey
from api.schemas.errors import SIGNED_IN, WITH_BODY, errors
from api.text import TextBody
from domain.api_key_format import CLIENT_ID_PREFIX

router = APIRouter(prefix="/api/v1/keys", tags=["developer API"], responses=errors(*SIGNED_IN))


class NewKeyBody(TextBody):
    name: str = Field(max_length=100)


@router.get("", response_model=KeyList)
def list_keys(key: KeyDep, container: ContainerDep) -> dict[str, Any]:
    """Every active key of the organisation (metadata only)."""
    return list_org_keys(container, key.org_id)


@router.post("", status_code=201, response_model=IssuedKey, responses=errors(*WITH_BODY, 409))
def create_key(body: NewKeyBody, key: KeyDep, container: ContainerDep) -> dict[str, Any]:
    """A new key; its secret is shown in this answer only."""
    issued = container.developer.issue_key(key.org_id, name=body.name, actor=f"key:{key.key_id}")
    return issued_key(issued)


@router.delete("/{key_ref}", response_model=RevokedKey, responses=errors(404, 409))
def revoke_key(key_ref: str, key: KeyDep, container: ContainerDep) -> dict[str, Any]:
    """Revoke a key by its client id (or bare key id); it stops working at once."""
    key_id = key_ref.removeprefix(CLIENT_ID_PREFIX)
    revoked = container.developer.revoke_key(key.org_id, key_id, actor=f"key:{key.key_id}")
    return {"revoked": True, "clientId": CLIENT_ID_PREFIX + revoked.key_id}
