"""Unmetered developer API: materials and quotes, with the storefront's cost engine."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import ContainerDep
from api.key_auth import KeyDep
from api.routers.catalog import materials_payload
from api.routers.quotes import QuoteBody, quote_payload
from api.schemas.catalog import MaterialList, QuoteAnswer
from api.schemas.developer import Ping
from api.schemas.errors import SIGNED_IN, WITH_BODY, errors

router = APIRouter(prefix="/api/v1", tags=["developer API"], responses=errors(*SIGNED_IN))


@router.get("/materials", response_model=MaterialList)
def materials(_: KeyDep, container: ContainerDep) -> dict[str, Any]:
    """Active materials (unmetered)."""
    return materials_payload(container)


@router.post("/quote", response_model=QuoteAnswer, responses=errors(*WITH_BODY, 404))
def quote(body: QuoteBody, _: KeyDep, container: ContainerDep) -> dict[str, Any]:
    """An instant quote (unmetered)."""
    return quote_payload(body, container)


@router.get("/ping", response_model=Ping)
def ping(key: KeyDep) -> dict[str, Any]:
    """An authenticated no-op: which organisation a key speaks for."""
    return {"ok": True, "org_id": key.org_id}
