"""CORS of the storefront API (/api/* but /api/v1/*): an origin allowlist with an enforcement
toggle from the shop settings (domain/shop/network.py), applied live in every process.

/api/v1/* keeps its open CORS (api/middleware.py OpenCors): the developer API is called
with API keys from anywhere. Elsewhere, for a request with an Origin header:

- enforcement off (the default): every origin is allowed, its Origin echoed;
- on: only a listed origin gets Access-Control-Allow-Origin. A preflight (OPTIONS with
  Access-Control-Request-Method) from another origin is 403 {"error": ...}; any other
  request from one is served without CORS headers, so the browser withholds the answer.

No Access-Control-Allow-Credentials: the API authenticates with bearer tokens that a page
sets itself, never with cookies, so no request needs the browser's credentials. The echoed
origin (not `*`) lets enforcement and the default behave alike for clients. Every /api
answer carries Vary: Origin, so no cache hands one origin's answer to another.

The settings are read through container.shop (its 1 s cache) in a worker thread, at most
every REFRESH_SECONDS (CurrentNetwork, shared with the CSP middleware): a change made in
any process applies everywhere within 1.25 s (in the process that made it, 0.25 s: its
ShopApp cache is cleared by the change), no restart.
"""

from __future__ import annotations

import math
import time

import anyio
import anyio.to_thread
import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response
from domain.shop.network import NetworkSecurity
from infra.bootstrap import Container

log = structlog.get_logger("fabledger.cors")
REFRESH_SECONDS = 0.25
API_PREFIX = "/api/"
OPEN_PREFIX = "/api/v1/"  # OpenCors' (api/middleware.py)
ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
# What the storefront's requests carry beyond the CORS-safelisted headers.
ALLOW_HEADERS = "authorization, content-type, idempotency-key, range, x-min-position"
# What a page may read of an answer beyond the safelisted headers.
EXPOSE_HEADERS = (
    "x-position, x-request-id, ratelimit, ratelimit-policy, retry-after,"
    " content-disposition, content-range, accept-ranges"
)
MAX_AGE = "600"
PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
VARY_ORIGIN = (b"vary", b"Origin")
MAX_SHOWN = 100  # of a refused origin, in the error message


class CurrentNetwork:
    """The network security settings as this process applies them (app.state.network):
    read at most every REFRESH_SECONDS, one read at a time; forget() re-reads at once."""

    def __init__(self) -> None:
        self._value: NetworkSecurity | None = None
        self._read_at = -math.inf  # when the read of the value in hand began (monotonic)
        self._generation = 0  # bumped by forget(): a read begun before it is not current
        self._lock = anyio.Lock()

    def forget(self) -> None:
        """Read the settings again before the next request (this process changed them)."""
        self._generation += 1
        self._read_at = -math.inf

    def _fresh(self) -> NetworkSecurity | None:
        fresh = time.monotonic() - self._read_at < REFRESH_SECONDS
        return self._value if fresh else None

    async def get(self, container: Container) -> NetworkSecurity:
        """The settings: the value in hand while fresh, else after one read."""
        value = self._fresh()
        if value is not None:
            return value
        async with self._lock:  # concurrent requests wait for the one read
            value = self._fresh()
            if value is not None:
                return value
            generation, started = self._generation, time.monotonic()
            try:
                read = await anyio.to_thread.run_sync(
                    lambda: NetworkSecurity.from_settings(container.shop.value)
                )
            except Exception as error:  # the event store is away: keep what we had
                log.warning("network_settings_unreadable", error_type=type(error).__name__)
                read = self._value or NetworkSecurity()
            self._value = read
            if generation == self._generation:
                self._read_at = started
            return read


def _origin(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"origin":
            return value.decode("latin-1")
    return None


def _is_preflight(scope: Scope) -> bool:
    return scope["method"] == "OPTIONS" and any(
        name == b"access-control-request-method" for name, _ in scope.get("headers", ())
    )


class ShopCors:
    """The storefront API's CORS, from the shop settings (see the module docstring)."""

    def __init__(self, app: ASGIApp, network: CurrentNetwork) -> None:
        self.app = app
        self.network = network

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] == "http" else ""
        if not path.startswith(API_PREFIX) or path.startswith(OPEN_PREFIX):
            await self.app(scope, receive, send)
            return
        origin = _origin(scope)
        allowed = False
        if origin is not None:
            container: Container | None = getattr(scope["app"].state, "container", None)
            network = await self.network.get(container) if container else NetworkSecurity()
            allowed = network.allows(origin)
            if _is_preflight(scope):
                await self._preflight(origin, allowed, scope, receive, send)
                return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = message["headers"]
                if not allowed and all(name != b"vary" for name, _ in raw):
                    # The common answer (no Origin): what add_vary_header would make, without
                    # a MutableHeaders per request.
                    message["headers"] = [*raw, VARY_ORIGIN]
                else:
                    headers = MutableHeaders(scope=message)
                    headers.add_vary_header("Origin")
                    if allowed and origin is not None:
                        headers["Access-Control-Allow-Origin"] = origin
                        headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(
        self, origin: str, allowed: bool, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """204 with what the API accepts, for an allowed origin; 403 for any other."""
        if not allowed:
            shown = origin if len(origin) <= MAX_SHOWN else origin[: MAX_SHOWN - 1] + "…"
            message = f"origin {shown} may not call this API (not in cors_allowed_origins)"
            refused = error_response(403, message, headers={"Vary": PREFLIGHT_VARY})
            await refused(scope, receive, send)
            return
        headers = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-methods", ALLOW_METHODS.encode()),
            (b"access-control-allow-headers", ALLOW_HEADERS.encode()),
            (b"access-control-max-age", MAX_AGE.encode()),
            (b"vary", PREFLIGHT_VARY.encode()),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
