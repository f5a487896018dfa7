"""Per-IP rate limits (the seed's five limiters), as a pure ASGI middleware.

Why a middleware and not an app-wide dependency: it classifies a request by method and
path before routing and before the body is read, so a refused upload never streams its
50 MB, a path no route serves (a scanner's 404s) still counts, and a request no limiter
covers costs a few string comparisons. The 429 is the app's one error body.

Which limiters count a request (classify(); every /api/* request, at most two):

- auth: every POST under /api/auth/, and DELETE /disable-2fa, GET /setup-2fa. Never
  bypassed. The other GETs there (me, verify-email) count as general: a route no limiter
  covers would be an unlimited one.
- upload: /api/checkout, /api/upload-for-cart, /api/cart-checkout (not general).
- general: every other /api/* request; /api/quote and /api/models/:id/file count in it
  too, besides their own quote and model_file limiters (the seed's general limiter spares
  only auth and upload).
- none: /api/v1/* (the developer API has per-plan quotas on its API keys, decided in the
  Meter aggregate; a per-IP limit would cap a paying integration's server), and the
  probes /api/health and /api/ready. The seed lists /api/health among the public routes
  the limits apply to; we spare it on purpose: orchestrators probe every API process from
  one node address, and with counts shared in PostgreSQL three pods probed every 10 s
  make 270 requests per 15 min: a 429 to a liveness probe restarts a healthy process.
  /metrics and /docs are not under /api.

Whom a count belongs to: api.client_address.client_key (the peer; X-Forwarded-For only
from a trusted proxy; an IPv6 /64 as one client). Windows are fixed (infra/rate_limits.py).

Bypass roles (admin by default) skip general and upload; the role comes from the Bearer
token through api.deps.current_caller (the routes' own logic: fresh role, ended sessions,
PATs), resolved only when a bypassable limiter applies and the token may be spared, and
kept ROLE_SECONDS per token. An invalid token simply gets no bypass. A session token whose
role claim (read unverified: it can only deny) is no bypass role is not looked up: that
lookup doubled the cost of a signed-in customer's request; a promotion thus spares the
user from their next sign-in, while a demotion or a deactivation counts at once.

Headers: draft-ietf-httpapi-ratelimit-headers-08 (structured-field lists, one item per
limiter that counted the request), on every limited answer, successes too:
    RateLimit-Policy: "general";q=100;w=900
    RateLimit: "general";r=42;t=300
and Retry-After (seconds) on a 429. render_headers() is the one place that writes them.

The configuration is the shop setting "rate_limiter" (domain/rate_limits.py), read off
the event loop through container.shop (1 s cache) and re-read here every REFRESH_SECONDS
(CurrentLimits): a change in another process applies within ~1.25 s (at most 1.5 s),
one in this process at once (forget()).
Counters (infra/rate_limits.py) failing lets the request through: a counter outage must
not turn into an API outage.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import json
import math
import re
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

import anyio
import anyio.to_thread
import structlog
from fastapi import FastAPI
from fastapi.security import HTTPAuthorizationCredentials
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.client_address import Network, client_key, trusted_networks
from api.deps import current_caller
from api.errors import error_response
from api.schemas.errors import DESCRIPTIONS, ErrorBody
from domain.access_token_format import looks_like_token
from domain.errors import DomainError
from domain.rate_limits import (
    AUTH,
    BYPASSABLE,
    DEFAULTS,
    GENERAL,
    MODEL_FILE,
    QUOTE,
    SETTING_KEY,
    UPLOAD,
    Limit,
    RateLimits,
)
from infra.bootstrap import Container
from infra.rate_limits import Hit

log = structlog.get_logger("fabledger.rate_limit")
REFRESH_SECONDS = 0.25  # the configuration is re-read this often (in the background)
USABLE_SECONDS = 0.5  # and used at most this long after its read began
ROLE_SECONDS = 1.0
ROLES_KEPT = 10_000  # tokens whose role is kept; beyond it the memory starts over
UNLIMITED_PREFIX = "/api/v1/"
PROBES = frozenset({"/api/health", "/api/ready"})
UPLOAD_PATHS = frozenset({"/api/checkout", "/api/upload-for-cart", "/api/cart-checkout"})
AUTH_PREFIX = "/api/auth/"
AUTH_NOT_POST = frozenset({("DELETE", "/api/auth/disable-2fa"), ("GET", "/api/auth/setup-2fa")})
MODEL_FILE_PATH = re.compile(r"^/api/models/[^/]+/file$")


def classify(method: str, path: str) -> tuple[str, ...]:
    """The limiters that count a request (none outside /api, on /api/v1/* or the probes)."""
    if not path.startswith("/api/") or path.startswith(UNLIMITED_PREFIX) or path in PROBES:
        return ()
    if path.startswith(AUTH_PREFIX):
        return (AUTH,) if method == "POST" or (method, path) in AUTH_NOT_POST else (GENERAL,)
    if path in UPLOAD_PATHS:
        return (UPLOAD,)
    if path == "/api/quote":
        return (GENERAL, QUOTE)
    if MODEL_FILE_PATH.match(path):
        return (GENERAL, MODEL_FILE)
    return (GENERAL,)


# --- configuration and headers ------------------------------------------------------------


class CurrentLimits:
    """The rate-limiter configuration as this process applies it (app.state.rate_limits).

    Read through container.shop (its own 1 s cache) in a worker thread. Past REFRESH_SECONDS
    the value in hand is still used while one read runs in the background (no request waits
    for it); past USABLE_SECONDS (a quiet spell, or a change made in this process) requests
    wait for the read: a burst after a quiet hour must not run on the hour-old limits.
    """

    def __init__(self) -> None:
        self._limits: RateLimits | None = None
        self._read_at = -math.inf  # when the read of the value in hand began (monotonic)
        self._generation = 0  # bumped by forget(): a read begun before it is not current
        self._reading: anyio.Event | None = None
        self._background: asyncio.Task[None] | None = None  # held: the loop keeps weak refs

    def forget(self) -> None:
        """Read the configuration again before the next request (this process changed it)."""
        self._generation += 1
        self._read_at = -math.inf

    def fresh(self) -> RateLimits | None:
        """The configuration if no read is due (the common case: no await at all)."""
        return self._limits if time.monotonic() - self._read_at < REFRESH_SECONDS else None

    async def get(self, container: Container) -> RateLimits:
        """The configuration: the value in hand while usable, else after a read."""
        while True:
            age = time.monotonic() - self._read_at
            if self._limits is not None and age < USABLE_SECONDS:
                if age >= REFRESH_SECONDS and self._reading is None:
                    self._background = asyncio.get_running_loop().create_task(self._read(container))
                return self._limits
            if self._reading is not None:
                await self._reading.wait()
            else:
                await self._read(container)

    async def _read(self, container: Container) -> None:
        reading = self._reading = anyio.Event()
        generation, started = self._generation, time.monotonic()
        try:
            value = await anyio.to_thread.run_sync(container.shop.value, SETTING_KEY)
            self._limits = RateLimits.from_value(value)
        except Exception as error:  # the event store is away: keep what we had
            log.warning("rate_limits_unreadable", error_type=type(error).__name__)
            self._limits = self._limits or DEFAULTS
        finally:
            if generation == self._generation:
                self._read_at = started
            self._reading = None
            reading.set()


class Counted(NamedTuple):  # a NamedTuple: made per request, cheaper than a dataclass
    """One limiter's verdict on a request."""

    limiter: str
    limit: Limit
    hit: Hit

    @property
    def refused(self) -> bool:
        return self.hit.hits > self.limit.max

    @property
    def reset(self) -> int:
        """Whole seconds until the window ends (at least 1)."""
        return max(1, math.ceil(self.hit.reset_seconds))


@functools.cache
def _policy(limiter: str, limit: Limit) -> str:
    return f'"{limiter}";q={limit.max};w={limit.window_seconds}'


def render_headers(counted: Sequence[Counted]) -> list[tuple[bytes, bytes]]:
    """RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers-08), and
    Retry-After when a limiter refused: the one place these headers are written."""
    policy = ", ".join(_policy(c.limiter, c.limit) for c in counted)
    state = ", ".join(
        f'"{c.limiter}";r={max(0, c.limit.max - c.hit.hits)};t={c.reset}' for c in counted
    )
    headers = [(b"ratelimit-policy", policy.encode()), (b"ratelimit", state.encode())]
    refused = [c.reset for c in counted if c.refused]
    if refused:
        headers.append((b"retry-after", str(max(refused)).encode()))
    return headers


# --- the middleware -----------------------------------------------------------------------


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


def _has_body(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if (name == b"content-length" and value != b"0") or name == b"transfer-encoding":
            return True
    return False


def _claimed_role(token: str) -> str | None:
    """The role a session token claims, unverified (None if it is no JWT)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        role = claims.get("role")
    except (IndexError, ValueError, AttributeError):
        return None
    return role if isinstance(role, str) else None


def may_be_spared(token: str, bypass_roles: frozenset[str]) -> bool:
    """Whether a token is worth resolving: a PAT, or a session token claiming such a role."""
    return looks_like_token(token) or _claimed_role(token) in bypass_roles


def _role(container: Container, token: str) -> str | None:
    """The caller's role, as every route reads it (api.deps.current_caller); None if invalid."""
    try:
        credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=token)
        return current_caller(container, credentials).user.role
    except DomainError:
        return None


class KnownRoles:
    """Roles resolved from tokens, kept ROLE_SECONDS (by the token's hash, not the token)."""

    def __init__(self) -> None:
        self._known: dict[bytes, tuple[float, str | None]] = {}

    async def role(self, container: Container, token: str) -> str | None:
        """The token's role now (None: invalid, or its user's stream is unreadable)."""
        key = hashlib.sha256(token.encode()).digest()
        known = self._known.get(key)
        if known is not None and known[0] > time.monotonic():
            return known[1]
        try:
            role = await anyio.to_thread.run_sync(_role, container, token)
        except Exception as error:  # the user's stream is unreadable: no bypass
            log.warning("rate_limit_role_unknown", error_type=type(error).__name__)
            return None
        if len(self._known) >= ROLES_KEPT:
            self._known.clear()
        self._known[key] = (time.monotonic() + ROLE_SECONDS, role)
        return role


class RateLimit:
    """Counts each /api request in its limiters; past a limit, 429 before routing."""

    def __init__(
        self, app: ASGIApp, limits: CurrentLimits, trusted: Sequence[Network] = ()
    ) -> None:
        self.app = app
        self.limits = limits
        self.trusted = tuple(trusted)
        self.roles = KnownRoles()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limiters = classify(scope["method"], scope["path"]) if scope["type"] == "http" else ()
        container: Container | None = (
            getattr(scope["app"].state, "container", None) if limiters else None
        )
        if container is None:
            await self.app(scope, receive, send)
            return
        config = self.limits.fresh() or await self.limits.get(container)
        if config.bypass_roles and BYPASSABLE.intersection(limiters):
            token = _bearer(scope)
            if token is not None and may_be_spared(token, config.bypass_roles):
                role = await self.roles.role(container, token)
                limiters = tuple(name for name in limiters if not config.spares(name, role))
        counted = await self._count(container, config, limiters, client_key(scope, self.trusted))
        if not counted:  # bypassed, or the counters failed (fail open: see the docstring)
            await self.app(scope, receive, send)
            return
        headers = render_headers(counted)
        refused = [c for c in counted if c.refused]
        if refused:
            first = refused[0]
            message = (
                f"too many requests: the {first.limiter} limit is {first.limit.max} per"
                f" {first.limit.window_min} min; retry in {first.reset} s"
            )
            named = {name.decode(): value.decode() for name, value in headers}
            if _has_body(scope):  # unread: the server would read and drop it all (50 MB)
                named["Connection"] = "close"
            await error_response(429, message, headers=named)(scope, receive, send)
            return

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, send_with_limits)

    async def _count(
        self, container: Container, config: RateLimits, limiters: Sequence[str], client: str
    ) -> list[Counted]:
        if not limiters:
            return []
        limits = [config.limits[name] for name in limiters]
        buckets = [
            (f"{name}:{limit.window_min}:{client}", limit.window_seconds)
            for name, limit in zip(limiters, limits, strict=True)
        ]
        counters = container.rate_counters
        try:
            if counters.blocking:
                hits = await counters.hit_async(buckets)
            else:
                hits = counters.hit(buckets)
        except Exception as error:
            log.warning("rate_limit_counters_failed", error_type=type(error).__name__)
            return []
        return [Counted(*row) for row in zip(limiters, limits, hits, strict=True)]


# --- wiring and the OpenAPI document --------------------------------------------------------

LIMIT_HEADERS: dict[str, dict[str, Any]] = {
    "RateLimit-Policy": {
        "description": 'Each limiter that counted the request: "name";q=<requests>;w=<seconds>'
        " (draft-ietf-httpapi-ratelimit-headers-08).",
        "schema": {"type": "string"},
    },
    "RateLimit": {
        "description": 'Each limiter\'s state: "name";r=<requests left>;t=<seconds to reset>.',
        "schema": {"type": "string"},
    },
}
RETRY_AFTER = {
    "description": "Seconds until the refusing limiter's window ends.",
    "schema": {"type": "integer"},
}
METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})


def document_limits(schema: dict[str, Any]) -> dict[str, Any]:
    """Every operation a limiter covers documents 429 and the limit headers (classify())."""
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {}).setdefault("ErrorBody", ErrorBody.model_json_schema())
    headers = components.setdefault("headers", {})
    headers.update(LIMIT_HEADERS)
    headers["Retry-After"] = RETRY_AFTER
    refs = {name: {"$ref": f"#/components/headers/{name}"} for name in LIMIT_HEADERS}
    too_many = {
        "description": DESCRIPTIONS[429],
        "headers": {**refs, "Retry-After": {"$ref": "#/components/headers/Retry-After"}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in METHODS or not classify(method.upper(), path):
                continue
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                if str(status).startswith("2"):
                    response.setdefault("headers", {}).update(refs)
            responses.setdefault("429", too_many)
    return schema


def install_rate_limits(app: FastAPI, enabled: bool, trusted_proxies: str) -> None:
    """The middleware (when enabled), the config cache, and 429 in the OpenAPI document."""
    limits = CurrentLimits()
    app.state.rate_limits = limits
    trusted = trusted_networks(trusted_proxies)  # a bad CIDR stops the start, not a request
    if enabled:
        app.add_middleware(RateLimit, limits=limits, trusted=trusted)
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            return document_limits(build())
        return build()  # FastAPI keeps the first (documented) schema

    app.openapi = openapi  # type: ignore[method-assign]


def limits_changed(app: Any) -> None:
    """This process changed the configuration: apply it from the next request."""
    limits: CurrentLimits | None = getattr(app.state, "rate_limits", None)
    if limits is not None:
        limits.forget()
