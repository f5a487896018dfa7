"""Dependency aliases: the container, the caller, and read-your-writes waiting.

Two kinds of Bearer credential: a session JWT, and an admin's personal access token
(`pf_...`). CallerDep, StaffDep and AdminDep are JWT only (a PAT gets 403 saying so);
`admin_scope(scope)` (and its aliases OrdersReadDep ... AdminReadDep) lets an admin JWT
through, or a PAT that carries the scope. PATs are for /api/admin only.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, get_args
from uuid import UUID

from fastapi import Depends, Header, Query, Request, params
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from application.access_tokens import VerifiedToken
from domain.access_token_format import looks_like_token
from domain.access_tokens import SCOPES
from domain.errors import Forbidden, InvalidInput, NotFound, Unauthorized, Unavailable
from domain.users import ADMIN, STAFF_ROLES, User
from infra.bootstrap import Container


async def get_container(request: Request) -> Container:
    """The process's composition root, built in the lifespan (async: no thread-pool hop)."""
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


@dataclass(frozen=True)
class Caller:
    """The signed-in user making the request, with a session JWT or a PAT (acting as its owner)."""

    user: User
    pat: VerifiedToken | None = None  # None for a JWT session

    @property
    def id(self) -> str:
        """The user's id as text."""
        return str(self.user.id)

    @property
    def actor(self) -> str:
        """How events name this caller: role and id, and the token when a PAT acted."""
        if self.pat is not None:
            return f"{self.user.role}:{self.user.id}/pat:{self.pat.id}"
        return f"{self.user.role}:{self.user.id}"

    @property
    def scopes(self) -> frozenset[str]:
        """The PAT's scopes (empty for a JWT session, which needs none)."""
        return self.pat.scopes if self.pat is not None else frozenset()


# Documents the Bearer scheme in OpenAPI; a missing or non-Bearer header is ours to refuse.
SESSION = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    description="Session token (8 h), or a personal access token pf_... on /api/admin routes"
    " that allow its scope.",
)
JWT_ONLY = "this endpoint is JWT only; personal access tokens cannot use it"


def current_caller(
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(SESSION)],
) -> Caller:
    """The user behind the Bearer token (a JWT or a pf_ PAT); the role is read fresh."""
    if credentials is None:
        raise Unauthorized("missing bearer token")
    raw = credentials.credentials.strip()
    if looks_like_token(raw):
        verified = container.access_tokens.verify(raw)
        return Caller(verified.owner, verified)
    claims = container.tokens.read(raw)
    user = container.identity.get_user(UUID(claims.user_id))
    if user is None or not user.is_active:
        raise Unauthorized("invalid session token")
    if claims.session_epoch != user.session_epoch:  # a password change or reset since
        raise Unauthorized("session ended; sign in again")
    return Caller(user)


async def any_caller(
    request: Request, caller: Annotated[Caller, Depends(current_caller)]
) -> Caller:
    """The caller with any token type; a PAT's request is marked for the access log."""
    if caller.pat is not None:
        request.state.pat = caller.pat  # read by api.access_log.PatAccessLog
    return caller


async def session_caller(caller: Annotated[Caller, Depends(any_caller)]) -> Caller:
    """The caller with a session JWT; a PAT is refused (403) with the reason."""
    if caller.pat is not None:
        raise Forbidden(JWT_ONLY)
    return caller


CallerDep = Annotated[Caller, Depends(session_caller)]


def maybe_caller(
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(SESSION)],
) -> Caller | None:
    """The signed-in caller of a public route that shows its owner more; None for anonymous.

    A token that is sent must be good (401 otherwise), and be a session JWT (403 for a PAT).
    """
    if credentials is None:
        return None
    caller = current_caller(container, credentials)
    if caller.pat is not None:
        raise Forbidden(JWT_ONLY)
    return caller


MaybeCallerDep = Annotated[Caller | None, Depends(maybe_caller)]


def require_role(*roles: str) -> Callable[[Caller], Coroutine[Any, Any, Caller]]:
    """A JWT-only dependency that lets only these roles through (403 for the rest)."""

    async def check(caller: CallerDep) -> Caller:  # async: no thread-pool hop for a check
        if caller.user.role not in roles:
            raise Forbidden(f"requires role: {' or '.join(roles)}")
        return caller

    return check


StaffDep = Annotated[Caller, Depends(require_role(*STAFF_ROLES))]
AdminDep = Annotated[Caller, Depends(require_role(ADMIN))]


@cache  # one Depends per scope: a route's read_after and its parameter share one call
def admin_scope(scope: str) -> Any:
    """The Depends of an admin route a PAT may call with `scope`; an admin JWT always may.

    Use it as `Annotated[Caller, admin_scope("orders:read")]` (or the aliases below).
    """
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    async def check(caller: Annotated[Caller, Depends(any_caller)]) -> Caller:
        if caller.user.role != ADMIN:
            raise Forbidden(f"requires role: {ADMIN}")
        if caller.pat is not None and scope not in caller.pat.scopes:
            raise Forbidden(f"token lacks scope {scope}")
        return caller

    check.__name__ = f"admin_scope_{scope.replace(':', '_')}"
    return Depends(check)


def staff_auth(roles: Sequence[str], scope: str | None = None) -> Any:
    """The Depends of a route mounted for `roles` (routers built for /api/admin and /api/mod).

    Mounted for admins only and given a scope: admin_scope(scope). Otherwise (a moderator
    route, or no scope in the seed) JWT only: PATs are for /api/admin.
    """
    if scope is not None and tuple(roles) == (ADMIN,):
        return admin_scope(scope)
    return Depends(_role_check(tuple(roles)))


@cache
def _role_check(roles: tuple[str, ...]) -> Callable[[Caller], Coroutine[Any, Any, Caller]]:
    return require_role(*roles)


OrdersReadDep = Annotated[Caller, admin_scope("orders:read")]
OrdersWriteDep = Annotated[Caller, admin_scope("orders:write")]
PaymentWriteDep = Annotated[Caller, admin_scope("payment:write")]
CatalogReadDep = Annotated[Caller, admin_scope("catalog:read")]
CatalogWriteDep = Annotated[Caller, admin_scope("catalog:write")]
AdminReadDep = Annotated[Caller, admin_scope("admin:read")]


def parse_id(raw: str, what: str = "order") -> UUID:
    """A path id as a UUID; anything else cannot name a record, so 404."""
    try:
        return UUID(raw)
    except ValueError as error:
        raise NotFound(f"{what} not found") from error


class WaitSlots:
    """Bounds the read-your-writes waits in flight in this process (event-loop thread only)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.busy = 0

    @contextmanager
    def taken(self) -> Iterator[None]:
        """Hold one slot for the wait, or refuse at once when none is free."""
        if self.busy >= self.limit:
            raise Unavailable("too many reads are waiting for the read models; retry shortly")
        self.busy += 1
        try:
            yield
        finally:
            self.busy -= 1


def _wait_slots(request: Request, container: Container) -> WaitSlots:
    state = request.app.state
    if not hasattr(state, "read_wait_slots"):  # one per app (process), made on first use
        state.read_wait_slots = WaitSlots(container.settings.read_wait_max_waiters)
    slots: WaitSlots = state.read_wait_slots
    return slots


async def _anyone() -> None:
    """The gate of a public route: nobody to authenticate."""


def _gate(auth: Any) -> Any:
    """The Depends of a route's auth alias (e.g. StaffDep), so both share one cached call."""
    if auth is None:
        return Depends(_anyone)
    for meta in get_args(auth)[1:]:
        if isinstance(meta, params.Depends):
            return meta
    return Depends(auth)


def read_after(view: str, auth: Any) -> Any:
    """Read-your-writes: a dependency that waits until `view` includes a written position.

    `auth` is the route's own auth alias (CallerDep, StaffDep, KeyDep...) or None for a
    public route: the wait depends on it, so only a caller let in waits at all. Positions
    are per application log, so each read names the one view it reads.
    """

    async def wait(
        request: Request,
        container: ContainerDep,
        x_min_position: Annotated[int | None, Header(ge=0)] = None,
        min_position: Annotated[int | None, Query(ge=0)] = None,
        _: Any = _gate(auth),
    ) -> None:
        wanted = max(x_min_position or 0, min_position or 0)
        if not wanted:
            return
        runner = container.read_position(view)  # the Kafka consumers' position in Kafka mode
        if not await runner.in_log(wanted):
            # No write produced it (a made-up number, or another log's): waiting cannot help.
            raise InvalidInput(
                f"position {wanted} is beyond the head of the log behind '{view}':"
                " no write produced it"
            )
        with _wait_slots(request, container).taken():
            reached = await runner.wait_until(wanted, container.settings.read_wait_seconds)
        if not reached:
            raise Unavailable(f"read model '{view}' has not reached position {wanted} yet; retry")

    return Depends(wait)
