"""Key listings: keys from their streams, last use from the usage view."""

from __future__ import annotations

from typing import Any

from api.key_presenter import key_listing
from infra.bootstrap import Container
from projections.usage import key_last_used


def list_org_keys(container: Container, org_id: str) -> dict[str, Any]:
    """The organisation's active keys with when each last made a metered call."""
    keys = container.developer.org_keys(org_id)
    with container.views.reading() as cur:
        used = key_last_used(cur, [k.key_id for k in keys])
    return {"keys": [key_listing(k, *used.get(k.key_id, (None, 0))) for k in keys]}
