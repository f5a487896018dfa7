"""GET /metrics (Prometheus text): requests by route template, appends, lag, pools.

Each app has its own CollectorRegistry (tests build many apps in one process). Request
metrics are counted by a pure ASGI middleware; everything else is read at scrape time
by a collector (infra/metrics.py), so it costs nothing between scrapes.

Several uvicorn processes (`serve --workers N`): each process counts its own requests
and appends and answers /metrics with them; a scrape through the shared port reaches one
process. Scrape each process (one API process per replica/port) to see them all; the
lag and pool figures are the same from any process except the pool queue, per process.
"""

from __future__ import annotations

import re
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from itertools import accumulate
from typing import Any

import structlog
from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.middleware import StatusOf
from infra.bootstrap import Container
from infra.metrics import (
    RelayPositions,
    log_head,
    observe_appends,
    sandboxes,
    view_lags,
)

UNMATCHED = "unmatched"  # any path no route serves: one label, however many paths
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = Histogram.DEFAULT_BUCKETS[:-1]  # 5 ms to 10 s; +Inf is kept apart
APPEND_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
log = structlog.get_logger("fabledger.metrics")


class ApiMetrics:
    """One app's registry: request and append metrics, and the scrape-time collector."""

    def __init__(self, container_of: Callable[[], Container | None]) -> None:
        self.registry = CollectorRegistry()
        self.requests = RequestStats()
        self.registry.register(self.requests)
        self.appends = Histogram(
            "fabledger_event_store_append_duration_seconds",
            "Time to encode and store the events of one save, by application.",
            ["application"],
            buckets=APPEND_BUCKETS,
            registry=self.registry,
        )
        self.append_failures = Counter(
            "fabledger_event_store_append_failures",
            "Saves the event store refused or failed (conflicts, outages), by application.",
            ["application"],
            registry=self.registry,
        )
        self.registry.register(StateCollector(container_of))
        self._undo: list[Callable[[], None]] = []

    def watch(self, container: Container) -> None:
        """Time every append of the container's applications (until `unwatch`)."""
        for app in container.applications().values():
            self._undo.append(observe_appends(app, self._appended))

    def unwatch(self) -> None:
        """Stop timing appends (the app's lifespan ended)."""
        while self._undo:
            self._undo.pop()()

    def _appended(self, application: str, seconds: float, ok: bool) -> None:
        if ok:
            self.appends.labels(application).observe(seconds)
        else:
            self.append_failures.labels(application).inc()

    def exposition(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)


class RequestStats(Collector):
    """Request counts and latency histograms, kept in plain lists (the per-request cost).

    prometheus_client's Counter and Histogram take a lock per update: measured, they were
    half of what the middleware added to a request. Here only the event loop's thread
    writes (the middleware runs there); a scrape from another thread may see a request
    counted in one series but not yet in the other, never a lost one.
    """

    def __init__(self) -> None:
        # (route, method, status) -> [bucket counts..., +Inf count, sum of seconds]
        self.series: dict[tuple[str, str, int], list[float]] = {}
        self._slots = len(LATENCY_BUCKETS) + 2

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request and its duration."""
        key = (route, method, status)
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = [0.0] * self._slots
        series[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        series[-1] += seconds

    def collect(self) -> Iterable[Metric]:
        """fabledger_http_requests_total and fabledger_http_request_duration_seconds."""
        counts = CounterMetricFamily(
            "fabledger_http_requests",
            "HTTP requests answered, by route template, method and status.",
            labels=["route", "method", "status"],
        )
        latency = HistogramMetricFamily(
            "fabledger_http_request_duration_seconds",
            "Time from the request to the end of its answer, by route template and method.",
            labels=["route", "method"],
        )
        merged: dict[tuple[str, str], list[float]] = {}
        for (route, method, status), series in list(self.series.items()):
            values = list(series)
            counts.add_metric([route, method, str(status)], sum(values[:-1]))
            into = merged.setdefault((route, method), [0.0] * self._slots)
            for index, value in enumerate(values):
                into[index] += value
        for (route, method), values in merged.items():
            cumulative = list(accumulate(values[:-1]))
            buckets = [(str(b), n) for b, n in zip(LATENCY_BUCKETS, cumulative, strict=False)]
            buckets.append(("+Inf", cumulative[-1]))
            latency.add_metric([route, method], buckets, sum_value=values[-1])
        return [counts, latency]


class StateCollector(Collector):
    """Scrape-time gauges: log heads, projection lag, relay lag, sandbox pools."""

    def __init__(self, container_of: Callable[[], Container | None]) -> None:
        self.container_of = container_of
        self._relay: RelayPositions | None = None

    def collect(self) -> Iterable[Metric]:
        """Read the container's state now; a part that fails is left out (and logged)."""
        container = self.container_of()
        if container is None:  # before the lifespan built it
            return []
        metrics: list[Metric] = []
        for part in (self._logs, self._pools):
            try:
                metrics.extend(part(container))
            except Exception as error:  # e.g. the database is away: serve what we have
                log.warning("metrics_part_failed", part=part.__name__, error=type(error).__name__)
        return metrics

    def _logs(self, container: Container) -> Iterator[Metric]:
        heads = {name: log_head(app) for name, app in container.applications().items()}
        head = GaugeMetricFamily(
            "fabledger_event_log_head",
            "Newest notification id of each application's event log.",
            labels=["application"],
        )
        for name, value in heads.items():
            head.add_metric([name], value)
        yield head
        lag = GaugeMetricFamily(
            "fabledger_projection_lag_events",
            "Events of its log a read model has not folded yet (head minus view position).",
            labels=["view", "source"],
        )
        for view in view_lags(container, heads):
            lag.add_metric([view.view, view.source], view.lag)
        yield lag
        if self._relay is None or self._relay.container is not container:
            self._relay = RelayPositions(container)
        relays = self._relay.lags(heads)
        if relays:
            relay = GaugeMetricFamily(
                "fabledger_relay_lag_events",
                "Events of an application's log not yet acknowledged by Kafka, by topic.",
                labels=["topic"],
            )
            for item in relays:
                relay.add_metric([item.topic], item.lag)
            yield relay

    def _pools(self, container: Container) -> Iterator[Metric]:
        pools = sandboxes(container)
        queued = GaugeMetricFamily(
            "fabledger_pool_queued",
            "Calls waiting for a free sandbox worker in this process.",
            labels=["pool"],
        )
        rejected = CounterMetricFamily(
            "fabledger_pool_rejected",
            "Calls refused (503) for want of a free sandbox worker, since the process started.",
            labels=["pool"],
        )
        workers = GaugeMetricFamily(
            "fabledger_pool_workers", "Worker processes of each sandbox pool.", labels=["pool"]
        )
        for pool in pools:
            queued.add_metric([pool.name], pool.waiting)
            rejected.add_metric([pool.name], pool.rejected)
            workers.add_metric([pool.name], pool.workers)
        yield from (queued, rejected, workers)


class RequestMetrics:
    """Counts and times each HTTP request under its route template (pure ASGI)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics
        self.templates = RouteTemplates()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._lifespan_send(scope, send))
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        sent = StatusOf(send)
        try:
            await self.app(scope, receive, sent)
        finally:
            status = sent.status
            method = scope["method"]
            self.metrics.requests.observe(
                route_template(scope, status, self.templates),
                method if method in METHODS else "other",
                status,
                time.perf_counter() - started,
            )

    def _lifespan_send(self, scope: Scope, send: Send) -> Send:
        """Starts timing appends once the lifespan built the container, stops at shutdown."""

        async def lifespan_send(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                container = getattr(scope["app"].state, "container", None)
                if container is not None:
                    self.metrics.watch(container)
            elif message["type"].startswith("lifespan.shutdown"):
                self.metrics.unwatch()
            await send(message)

        return lifespan_send


def route_template(scope: Scope, status: int, templates: RouteTemplates) -> str:
    """The path template the router matched (e.g. /api/admin/orders/{order_id})."""
    route = scope.get("route")
    if route is not None:
        # The APIRoute's own path, its APIRouter's prefix included; app.py includes the
        # routers without a further prefix, so this is the full template.
        return str(getattr(route, "path", UNMATCHED))
    if "app_root_path" in scope:  # a Mount (static files): its prefix, never the file path
        return scope["root_path"][len(scope["app_root_path"]) :] + "/{path}"
    if status == 404:
        return UNMATCHED
    return templates.find(scope)  # answered before routing (a 413, a CORS preflight)


class RouteTemplates:
    """The documented path templates, to name answers given before routing (rare)."""

    def __init__(self) -> None:
        self._patterns: list[tuple[re.Pattern[str], str]] | None = None

    def find(self, scope: Scope) -> str:
        """The template whose pattern matches the request path, else UNMATCHED."""
        if self._patterns is None:
            self._patterns = _patterns(scope.get("app"))
        path = scope["path"]
        for pattern, template in self._patterns:
            if pattern.match(path):
                return template
        return UNMATCHED


def _patterns(app: Any) -> list[tuple[re.Pattern[str], str]]:
    # The OpenAPI paths are public and complete (prefixes included), unlike FastAPI's
    # internal tree of included routers.
    try:
        paths = app.openapi()["paths"]
    except Exception as error:
        log.warning("metrics_route_templates_unavailable", error=type(error).__name__)
        return []
    return [(compile_path(path)[0], path) for path in paths]


def install_metrics(app: FastAPI) -> ApiMetrics:
    """The request middleware and GET /metrics, on their own registry."""
    metrics = ApiMetrics(lambda: getattr(app.state, "container", None))
    app.state.metrics = metrics
    app.add_middleware(RequestMetrics, metrics=metrics)

    def prometheus_metrics() -> Response:
        """Prometheus text exposition of this process's metrics."""
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route(
        "/metrics",
        prometheus_metrics,
        methods=["GET"],
        include_in_schema=False,
        response_class=Response,
    )
    return metrics
