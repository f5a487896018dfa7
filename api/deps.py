"""Dependency aliases: the container, the caller, and read-your-writes waiting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Header, Query, Request

from domain.errors import Forbidden, NotFound, Unauthorized, Unavailable
from domain.users import ADMIN, STAFF_ROLES, User
from infra.bootstrap import Container


async def get_container(request: Request) -> Container:
    """The process's composition root, built in the lifespan (async: no thread-pool hop)."""
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


@dataclass(frozen=True)
class Caller:
    """The signed-in user making the request."""

    user: User

    @property
    def id(self) -> str:
        """The user's id as text."""
        return str(self.user.id)

    @property
    def actor(self) -> str:
        """How events name this caller: role and id."""
        return f"{self.user.role}:{self.user.id}"


def current_caller(
    container: ContainerDep, authorization: Annotated[str | None, Header()] = None
) -> Caller:
    """The user behind the Bearer token; the role is read fresh from the user's stream."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthorized("missing bearer token")
    claims = container.tokens.read(authorization[7:].strip())
    user = container.identity.get_user(UUID(claims.user_id))
    if user is None or not user.is_active:
        raise Unauthorized("invalid session token")
    return Caller(user)


CallerDep = Annotated[Caller, Depends(current_caller)]


def require_role(*roles: str) -> Callable[[Caller], Caller]:
    """A dependency that lets only these roles through (403 for the rest)."""

    def check(caller: CallerDep) -> Caller:
        if caller.user.role not in roles:
            raise Forbidden(f"requires role: {' or '.join(roles)}")
        return caller

    return check


StaffDep = Annotated[Caller, Depends(require_role(*STAFF_ROLES))]
AdminDep = Annotated[Caller, Depends(require_role(ADMIN))]


def parse_id(raw: str, what: str = "order") -> UUID:
    """A path id as a UUID; anything else cannot name a record, so 404."""
    try:
        return UUID(raw)
    except ValueError as error:
        raise NotFound(f"{what} not found") from error


def read_after(view: str) -> Any:
    """Read-your-writes: a dependency that waits until `view` includes a written position.

    Positions are per application log, so each read names the one view it reads.
    """

    def wait(
        container: ContainerDep,
        x_min_position: Annotated[int | None, Header(ge=0)] = None,
        min_position: Annotated[int | None, Query(ge=0)] = None,
    ) -> None:
        wanted = max(x_min_position or 0, min_position or 0)
        runner = container.read_position(view)  # the Kafka consumers' position in Kafka mode
        if wanted and not runner.wait_for(wanted, container.settings.read_wait_seconds):
            raise Unavailable(f"read model '{view}' has not reached position {wanted} yet; retry")

    return Depends(wait)
