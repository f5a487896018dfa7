"""What /metrics and /api/ready read from the process: log heads, view and relay lag, pools.

Nothing here knows Prometheus; api/metrics.py turns these readings into metrics. Every
reading is taken when asked (at scrape or probe time), so an idle process does no work.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eventsourcing.application import Application

from infra.bootstrap import Container
from infra.kafka.config import topic_for
from infra.kafka.relay import RELAY_DDL
from infra.sandbox import OwnsSandbox, Sandbox

AppendObserver = Callable[[str, float, bool], None]  # (application, seconds, succeeded)
# Keyed by what is wrapped: an application's group committer or its event store.
_observers: weakref.WeakKeyDictionary[object, list[AppendObserver]] = weakref.WeakKeyDictionary()


def observe_appends(app: Application[Any], observer: AppendObserver) -> Callable[[], None]:
    """Call observer(app name, seconds, ok) after each append to app's store; returns undo.

    What one save's append goes through is wrapped once, whatever the number of observers,
    so several apps sharing a container (tests) time each append once: the group committer
    (application.group_commit: the wait for and the write of the save's batch) when the
    application has one, else the store's `put` (encode and insert the save's events).
    """
    committer = getattr(app, "committer", None)
    owner, method = (committer, "commit") if committer is not None else (app.events, "put")
    observers = _observers.get(owner)
    if observers is None:
        observers = _observers[owner] = []
        setattr(owner, method, _timed(app.name, getattr(owner, method), observers))
    observers.append(observer)
    return lambda: observers.remove(observer) if observer in observers else None


def _timed(
    name: str, put: Callable[..., Any], observers: list[AppendObserver]
) -> Callable[..., Any]:
    def timed_put(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        ok = False
        try:
            result = put(*args, **kwargs)
            ok = True
            return result
        finally:
            seconds = time.perf_counter() - started
            for observer in tuple(observers):
                observer(name, seconds, ok)

    return timed_put


def log_head(app: Application[Any]) -> int:
    """The newest notification id of the application's log (0: empty); one cheap query."""
    return int(app.recorder.max_notification_id() or 0)


@dataclass(frozen=True)
class ViewLag:
    """Where one read model stands against the head of the log that feeds it."""

    view: str
    source: str  # "log" (a projection runner) or "kafka" (consumers)
    application: str
    position: int
    head: int

    @property
    def lag(self) -> int:
        """Events the view has not folded yet."""
        return max(0, self.head - self.position)


def view_lags(container: Container, heads: dict[str, int] | None = None) -> list[ViewLag]:
    """Each view's position (what read-your-writes waits on) against its log's head."""
    heads = dict(heads or {})
    lags = []
    for name, runner in container.projections.items():
        app = runner.app
        if app.name not in heads:
            heads[app.name] = log_head(app)
        kafka = container.kafka_views.get(name)
        position = kafka.position() if kafka is not None else runner.position()
        source = "kafka" if kafka is not None else "log"
        lags.append(ViewLag(name, source, app.name, position, heads[app.name]))
    return lags


@dataclass(frozen=True)
class RelayLag:
    """How far the Kafka relay of one application's log is behind its head."""

    topic: str
    application: str
    position: int
    head: int

    @property
    def lag(self) -> int:
        """Events not yet acknowledged by the broker."""
        return max(0, self.head - self.position)


class RelayPositions:
    """Reads the positions the relay keeps in `relay_positions` (in the views database)."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self._table_ready = False

    def lags(self, heads: dict[str, int] | None = None) -> list[RelayLag]:
        """Per topic, when Kafka is configured (else nothing: no relay runs)."""
        settings = self.container.settings
        if not settings.kafka_bootstrap:
            return []
        if not self._table_ready:
            # The relay may not have started yet; an empty table reads as "nothing relayed".
            with self.container.views.schema_change() as cur:
                cur.execute(RELAY_DDL)
            self._table_ready = True
        with self.container.views.reading() as cur:
            cur.execute("SELECT application, position FROM relay_positions")
            positions = {str(row[0]): int(row[1]) for row in cur.fetchall()}
        heads = heads or {}
        return [
            RelayLag(
                topic_for(name, settings.kafka_topic_prefix),
                name,
                positions.get(name, 0),
                heads[name] if name in heads else log_head(app),
            )
            for name, app in self.container.applications().items()
        ]


def sandboxes(container: Container) -> list[Sandbox]:
    """The process's sandboxed worker pools (DFM analysis, uploads), each once."""
    found: dict[int, Sandbox] = {}
    for owner in (container.dfm, container.checkout):
        analyzer = getattr(owner, "analyzer", None)
        if isinstance(analyzer, OwnsSandbox):
            found.setdefault(id(analyzer.sandbox), analyzer.sandbox)
    return list(found.values())
