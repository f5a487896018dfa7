"""API-key authentication for /api/v1: the X-API-Key style and the client-id pair style."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Request, Security
from fastapi.security import APIKeyHeader
from fastapi.security.base import SecurityBase
from starlette.concurrency import run_in_threadpool

from application.developer import VerifiedKey
from domain.api_key_format import (
    ChecksumMismatch,
    MalformedKey,
    PresentedKey,
    parse_key,
    parse_pair,
)
from domain.errors import Unauthorized
from infra.bootstrap import Container

# The seeds' texts, word for word.
MISSING_HEADER = "Missing X-API-Key header."
BAD_FORMAT = "Invalid API key format."
UNKNOWN_KEY = "Invalid API key."
PAIR_REFUSED = "invalid api key or clientId"


# The two ways to present a key (either one is enough): header names and OpenAPI docs.
API_KEY = APIKeyHeader(
    name="X-API-Key",
    scheme_name="ApiKey",
    auto_error=False,
    description="dm_live_<key id><secret><checksum>",
)
CLIENT_ID = APIKeyHeader(
    name="x-metal-client-id",
    scheme_name="MetalClientId",
    auto_error=False,
    description="dmc_<key id>, with x-metal-api-key",
)
CLIENT_SECRET = APIKeyHeader(
    name="x-metal-api-key",
    scheme_name="MetalApiKey",
    auto_error=False,
    description="<secret><checksum>, with x-metal-client-id",
)
# OpenAPI security requirements are alternatives; the pair is one requirement (both headers).
KEY_REQUIREMENTS: list[dict[str, list[str]]] = [
    {API_KEY.scheme_name: []},
    {CLIENT_ID.scheme_name: [], CLIENT_SECRET.scheme_name: []},
]


class KeyCredentials(SecurityBase):
    """The key dependency as one security scheme: the headers read here, not by sub-dependencies.

    FastAPI solves each sub-dependency recursively on every request; the container and the
    three header schemes as sub-dependencies cost more than the cached key check itself.
    Documented as the X-API-Key scheme; document_key_schemes adds the client-id pair.
    """

    def __init__(self, documented: APIKeyHeader) -> None:
        self.model = documented.model
        self.scheme_name = documented.scheme_name

    async def __call__(self, request: Request) -> VerifiedKey:
        """The key behind the request's credentials (see api_key_caller)."""
        headers = request.headers
        return await api_key_caller(
            request.app.state.container,
            # `or None`: an empty header counts as absent, as APIKeyHeader has it.
            headers.get(API_KEY.model.name) or None,
            headers.get(CLIENT_ID.model.name) or None,
            headers.get(CLIENT_SECRET.model.name) or None,
        )


async def api_key_caller(
    container: Container, raw: str | None, client_id: str | None, secret: str | None
) -> VerifiedKey:
    """The key behind the request's credentials; malformed ones never reach the database.

    Async on purpose: a cached key is checked inline (microseconds); only a cache miss
    goes to the thread pool for its store read.
    """
    if client_id is not None or secret is not None:
        try:
            return await _verify(container, parse_pair(client_id or "", secret or ""))
        except (MalformedKey, ChecksumMismatch, Unauthorized) as error:
            raise Unauthorized(PAIR_REFUSED) from error
    if raw is None:
        raise Unauthorized(MISSING_HEADER)
    try:
        presented = parse_key(raw.strip())
    except MalformedKey as error:
        raise Unauthorized(BAD_FORMAT) from error
    except ChecksumMismatch as error:
        raise Unauthorized(UNKNOWN_KEY) from error
    return await _verify(container, presented)


async def _verify(container: Container, presented: PresentedKey) -> VerifiedKey:
    cached = container.developer.verify_cached(presented)
    if cached is not None:
        return cached
    return await run_in_threadpool(container.developer.verify, presented)


KeyDep = Annotated[VerifiedKey, Security(KeyCredentials(API_KEY))]


def document_key_schemes(app: FastAPI) -> None:
    """List all three key headers in the OpenAPI document: X-API-Key, or the client-id pair."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return build()  # FastAPI keeps the first (documented) schema
        schema = build()
        schemes = schema.get("components", {}).get("securitySchemes", {})
        if API_KEY.scheme_name not in schemes:
            return schema
        for header in (CLIENT_ID, CLIENT_SECRET):
            schemes[header.scheme_name] = header.model.model_dump(
                mode="json", by_alias=True, exclude_none=True
            )
        for path in schema["paths"].values():
            for operation in path.values():
                if {API_KEY.scheme_name: []} in operation.get("security", ()):
                    operation["security"] = KEY_REQUIREMENTS
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
