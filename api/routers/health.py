"""Liveness (the process answers) and readiness (its event store and views are usable)."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import ContainerDep
from api.schemas.errors import ErrorBody
from infra.bootstrap import Container
from infra.metrics import ViewLag, log_head, view_lags

router = APIRouter(tags=["health"])
# A probe must answer before the orchestrator's own timeout (often 1-5 s), even while
# PostgreSQL hangs: the recorder's own connect timeout and retry take longer than this.
READY_TIMEOUT_SECONDS = 2.0


class Health(BaseModel):
    """The process is up."""

    status: Literal["ok"]


class ViewState(BaseModel):
    """Where one read model stands against the head of its event log."""

    view: str
    source: Literal["log", "kafka"]
    position: int
    head: int
    lag: int


class Ready(BaseModel):
    """Every event store answered and every view is within the lag bound."""

    status: Literal["ready"]
    max_lag: int
    heads: dict[str, int]
    views: list[ViewState]


class NotReady(ErrorBody):
    """Why the process should get no traffic now (the views, when they could be read)."""

    views: list[ViewState] | None = None


@router.get("/api/health", response_model=Health)
async def health() -> Health:
    """Liveness: the process answers (on the event loop, no worker thread needed)."""
    return Health(status="ok")


@router.get(
    "/api/ready",
    response_model=Ready,
    responses={
        503: {
            "model": NotReady,
            "description": "An event store is unreachable, or a view lags beyond the bound.",
        }
    },
)
async def ready(container: ContainerDep) -> Ready | JSONResponse:
    """Readiness: each event store answers a cheap query and no view lags beyond the bound."""
    max_lag = container.settings.ready_max_lag
    try:
        heads = await asyncio.wait_for(_heads(container), READY_TIMEOUT_SECONDS)
    except TimeoutError:
        return _not_ready(f"event store unreachable: no answer within {READY_TIMEOUT_SECONDS:g} s")
    except _StoreDown as down:
        return _not_ready(f"event store unreachable ({down.application}: {down.kind})")
    try:
        lags = await asyncio.wait_for(
            asyncio.to_thread(view_lags, container, heads), READY_TIMEOUT_SECONDS
        )
    except TimeoutError:
        return _not_ready(
            f"view database unreachable: no answer within {READY_TIMEOUT_SECONDS:g} s"
        )
    except Exception as error:
        return _not_ready(f"view database unreachable ({type(error).__name__})")
    views = [_state(lag) for lag in lags]
    behind = [v for v in views if v.lag > max_lag]
    if behind:
        named = ", ".join(f"{v.view} by {v.lag}" for v in behind)
        return _not_ready(f"views behind the log beyond {max_lag} events: {named}", views)
    return Ready(status="ready", max_lag=max_lag, heads=heads, views=views)


class _StoreDown(Exception):
    def __init__(self, application: str, error: BaseException) -> None:
        super().__init__(application)
        self.application = application
        self.kind = type(error).__name__  # the type only: messages may name hosts


async def _heads(container: Container) -> dict[str, int]:
    """Each application's log head, queried in parallel (one cheap query each)."""
    apps = container.applications()
    # asyncio's executor, not the request thread pool: a hung query cannot starve requests,
    # and wait_for can give up on it.
    answers = await asyncio.gather(
        *(asyncio.to_thread(log_head, app) for app in apps.values()), return_exceptions=True
    )
    heads = {}
    for name, answer in zip(apps, answers, strict=True):
        if isinstance(answer, BaseException):
            raise _StoreDown(name, answer)
        heads[name] = answer
    return heads


def _state(lag: ViewLag) -> ViewState:
    source: Literal["log", "kafka"] = "kafka" if lag.source == "kafka" else "log"
    return ViewState(
        view=lag.view, source=source, position=lag.position, head=lag.head, lag=lag.lag
    )


def _not_ready(reason: str, views: list[ViewState] | None = None) -> JSONResponse:
    body = NotReady(error=reason, views=views).model_dump(exclude_none=True)
    return JSONResponse(status_code=503, content=body)
