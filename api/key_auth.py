"""API-key authentication for /api/v1: the X-API-Key style and the client-id pair style."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.deps import ContainerDep
from application.developer import VerifiedKey
from domain.api_key_format import ChecksumMismatch, MalformedKey, parse_key, parse_pair
from domain.errors import Unauthorized

# The seeds' texts, word for word.
MISSING_HEADER = "Missing X-API-Key header."
BAD_FORMAT = "Invalid API key format."
UNKNOWN_KEY = "Invalid API key."
PAIR_REFUSED = "invalid api key or clientId"


def api_key_caller(request: Request, container: ContainerDep) -> VerifiedKey:
    """The key behind the request's credentials; malformed ones never reach the database."""
    headers = request.headers
    client_id, secret = headers.get("x-metal-client-id"), headers.get("x-metal-api-key")
    if client_id is not None or secret is not None:
        try:
            return container.developer.verify(parse_pair(client_id or "", secret or ""))
        except (MalformedKey, ChecksumMismatch, Unauthorized) as error:
            raise Unauthorized(PAIR_REFUSED) from error
    raw = headers.get("x-api-key")
    if raw is None:
        raise Unauthorized(MISSING_HEADER)
    try:
        presented = parse_key(raw.strip())
    except MalformedKey as error:
        raise Unauthorized(BAD_FORMAT) from error
    except ChecksumMismatch as error:
        raise Unauthorized(UNKNOWN_KEY) from error
    return container.developer.verify(presented)


KeyDep = Annotated[VerifiedKey, Depends(api_key_caller)]
