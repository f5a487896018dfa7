"""API-key authentication for /api/v1: the X-API-Key style and the client-id pair style."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Security
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool

from api.deps import ContainerDep
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


# The two ways to present a key, as OpenAPI security schemes (either one is enough).
API_KEY = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="dm_live_<key id><secret><checksum>"
)
CLIENT_ID = APIKeyHeader(
    name="x-metal-client-id", auto_error=False, description="dmc_<key id>, with x-metal-api-key"
)
CLIENT_SECRET = APIKeyHeader(
    name="x-metal-api-key", auto_error=False, description="<secret><checksum>, with the client id"
)


async def api_key_caller(
    container: ContainerDep,
    raw: Annotated[str | None, Security(API_KEY)],
    client_id: Annotated[str | None, Security(CLIENT_ID)],
    secret: Annotated[str | None, Security(CLIENT_SECRET)],
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


KeyDep = Annotated[VerifiedKey, Depends(api_key_caller)]
