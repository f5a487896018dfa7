"""Let a closed app go: FastAPI's module-level caches would keep it alive.

FastAPI (0.165) classifies each endpoint and dependency callable in module-level
`lru_cache`s of up to 4,096 entries that hold the callable itself. Its own /openapi.json
endpoint, and ours that close over the app (docs, metrics), keep every app a test process
built (~50k objects each) until the caches overflow: 5 million objects at 80 % of the
suite, and full collections of the test process took up to 4.5 s, failing "at once"
timings at random. A served process builds one app, so only the tests need this.
"""

from __future__ import annotations

import fastapi.dependencies.models as fastapi_models


def forget_endpoints() -> int:
    """Empty FastAPI's callable caches; the number of entries dropped."""
    dropped = 0
    for value in vars(fastapi_models).values():
        cache_info = getattr(value, "cache_info", None)
        if callable(cache_info) and callable(getattr(value, "cache_clear", None)):
            dropped += cache_info().currsize
            value.cache_clear()
    return dropped
