"""GET /asyncapi.yaml: the event stream's contract (AsyncAPI 3), public, as generated."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from api.schemas.errors import ANY, DESCRIPTIONS
from infra.kafka.contract import render

router = APIRouter(tags=["event contract"])
MEDIA_TYPE = "text/yaml"
# The document changes only with a release: caches may keep it for an hour.
CACHE = {"Cache-Control": "public, max-age=3600"}
_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}


class YamlResponse(Response):
    media_type = MEDIA_TYPE


@lru_cache(maxsize=1)
def document() -> str:
    """The rendered document, built on first use (the event classes do not change at run time)."""
    return render()


RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The AsyncAPI 3 document of every Kafka topic and event type.",
        "content": {MEDIA_TYPE: {"schema": {"type": "object", "required": ["asyncapi"]}}},
    },
    **{status: {"description": DESCRIPTIONS[status], "content": _ERROR} for status in ANY},
}


@router.get("/asyncapi.yaml", response_class=YamlResponse, responses=RESPONSES)
def asyncapi() -> YamlResponse:
    """Every topic (`fabledger.<application>`), its key and headers, and every event type with
    the JSON Schema of its value: what other teams consume, as `docs/asyncapi.yaml` has it."""
    return YamlResponse(document(), headers=CACHE)
