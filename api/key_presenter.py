"""How API keys look from outside: the secret only in the answer that created it."""

from __future__ import annotations

from typing import Any

from application.developer import IssuedKey
from domain.api_key_format import CLIENT_ID_PREFIX
from domain.api_keys import ApiKey


def key_listing(key: ApiKey, last_used: str | None, calls: int) -> dict[str, Any]:
    """Metadata only: never the secret or its hash (last use = last metered call)."""
    return {
        "name": key.name,
        "clientId": CLIENT_ID_PREFIX + key.key_id,
        "keyLastFour": key.last_four,
        "created": key.created_on.isoformat(),
        "lastUsed": last_used,
        "meteredCalls": calls,
    }


def issued_key(issued: IssuedKey) -> dict[str, Any]:
    """The one answer that shows the secret, in both authentication styles."""
    return {
        **key_listing(issued.key, None, 0),
        "apiKey": issued.api_key,
        "clientSecret": issued.client_secret,
        "warning": "This is the only time the secret is shown. Store it securely.",
    }
