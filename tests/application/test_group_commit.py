"""Group commit: concurrent saves share transactions, yet each keeps its own outcome."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError, OperationalError, StoredEvent

from application.base import FabApplication
from application.group_commit import GroupCommitter, Insert
from domain.errors import Conflict
from infra.settings import Settings

CLIENTS = 16


class Tally(Aggregate):
    """A counter stream: enough to make versions collide."""

    @event("Started")
    def __init__(self, actor: str) -> None:
        self.count = 0
        self.actor = actor

    @event("Bumped")
    def bump(self, actor: str) -> None:
        """One more."""
        self.count += 1
        self.actor = actor


class TallyApp(FabApplication):
    """A FabApplication of tallies (its own event table)."""


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TallyApp]:
    """The app on each store, with a long wait so that the burst forms real batches."""
    url = {"memory": "memory://", "sqlite": ""}.get(request.param)
    if url is None:
        url = request.getfixturevalue("postgres_db").dsn
    settings = Settings(data_dir=tmp_path, database_url=url, group_commit_wait_ms=20)
    built = TallyApp(env=settings.event_store_env("tally"))
    try:
        yield built
    finally:
        built.close()


def test_a_burst_of_saves_fails_only_the_conflicting_ones(app: TallyApp) -> None:
    """16 clients save at once: 8 new streams, 4 stale copies of streams already moved on,
    and 2 pairs bumping one stream each from the same version. Only the 4 stale saves and
    one of each pair fail (409); every other save commits, with ordered positions."""
    existing = [Tally(actor="user:seed") for _ in range(6)]
    app.save(*existing)
    stale: list[Tally] = [app.repository.get(t.id) for t in existing[:4]]
    for tally in existing[:4]:  # moves these streams on: the copies above are now stale
        fresh: Tally = app.repository.get(tally.id)
        fresh.bump(actor="user:mover")
        app.save(fresh)
    pairs: list[list[Tally]] = [[app.repository.get(t.id) for _ in range(2)] for t in existing[4:]]
    before = app.position()
    work: list[Tally] = [Tally(actor=f"customer:{i}") for i in range(8)]
    for tally in [*stale, *(copy for pair in pairs for copy in pair)]:
        tally.bump(actor="user:racer")
        work.append(tally)
    assert len(work) == CLIENTS

    # The burst's first write holds the store a moment, so the others queue behind it
    # (an in-memory write is too quick for them to meet otherwise).
    app.committer = GroupCommitter(held_first(app.recorder.insert_events), wait=0.02, max_batch=64)
    outcomes: list[int | Conflict | None] = [None] * CLIENTS
    heard: list[int] = []
    app.add_listener(heard.append)
    start = threading.Barrier(CLIENTS)

    def client(index: int) -> None:
        start.wait()
        try:
            outcomes[index] = app.save_new(work[index])
        except Conflict as error:
            outcomes[index] = error

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    created, stale_saves = outcomes[:8], outcomes[8:12]
    paired = [outcomes[12:14], outcomes[14:16]]
    assert all(isinstance(p, int) for p in created)
    assert all(isinstance(p, Conflict) for p in stale_saves)
    for pair in paired:  # exactly one of two saves of the same version wins
        assert sorted(isinstance(p, int) for p in pair) == [False, True]
    positions = sorted(p for p in outcomes if isinstance(p, int))
    assert len(positions) == 10 and len(set(positions)) == 10
    assert sorted(heard) == positions  # one listener call per successful save

    log = app.recorder.select_notifications(start=before + 1, limit=100)
    ids = [n.id for n in log]
    assert ids == sorted(ids) and set(ids) == set(positions)
    if not any("postgres" in kind.__module__ for kind in type(app.recorder).__mro__):
        # SQLite rowids and the in-memory list never skip; a PostgreSQL sequence may skip
        # the values a rolled-back transaction drew (the library's readers allow for it).
        assert ids == list(range(before + 1, before + 11))
    for tally in existing[4:]:
        assert app.repository.get(tally.id).version == 2
    stats = app.committer.stats
    assert stats.commands == 10 and stats.conflicts == 6 and max(stats.sizes) > 1


def held_first(insert: Insert) -> Insert:
    """The store's insert, its first call delayed (until the other clients queued)."""
    calls = []

    def held(stored: Sequence[StoredEvent]) -> Sequence[int] | None:
        calls.append(len(stored))
        if len(calls) == 1:
            time.sleep(0.3)
        return insert(stored)

    return held


# --- the committer alone: batches, halving, errors -----------------------------------


def _stored(stream: str, version: int = 1) -> StoredEvent:
    return StoredEvent(originator_id=stream, originator_version=version, topic="t", state=b"")


class SlowStore:
    """An insert that holds its first call until released, so the rest queue up."""

    def __init__(self, refuse: set[str] | None = None, down: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.release = threading.Event()
        self.refuse = refuse or set()
        self.down = down
        self.next_id = 0

    def insert(self, stored: Sequence[StoredEvent]) -> Sequence[int]:
        streams = [str(s.originator_id) for s in stored]
        self.calls.append(streams)
        if len(self.calls) == 1:
            self.release.wait(timeout=10)
        if self.down and len(self.calls) > 1:
            raise OperationalError("database away")
        if self.refuse & set(streams):
            raise IntegrityError("version taken")
        ids = list(range(self.next_id + 1, self.next_id + 1 + len(stored)))
        self.next_id += len(stored)
        return ids


def _burst(committer: GroupCommitter, store: SlowStore, streams: list[str]) -> list[object]:
    """The first stream's save holds the store; the rest queue behind it, then go."""
    results: list[object] = [None] * len(streams)

    def save(index: int) -> None:
        try:
            results[index] = committer.commit([_stored(streams[index])])
        except Exception as error:
            results[index] = error

    first = threading.Thread(target=save, args=(0,))
    first.start()
    while not store.calls:
        time.sleep(0.001)
    others = [threading.Thread(target=save, args=(i,)) for i in range(1, len(streams))]
    for thread in others:
        thread.start()
    while len(committer._queue) < len(streams) - 1:
        time.sleep(0.001)
    store.release.set()
    for thread in [first, *others]:
        thread.join(timeout=10)
    return results


def test_commands_queued_behind_a_write_go_in_one_transaction() -> None:
    """While one write is in flight the rest queue; the next write takes them all."""
    store = SlowStore()
    committer = GroupCommitter(store.insert, wait=0, max_batch=64)
    results = _burst(committer, store, [f"s{i}" for i in range(CLIENTS)])
    assert [len(call) for call in store.calls] == [1, CLIENTS - 1]
    assert sorted(r[0] for r in results) == list(range(1, CLIENTS + 1))  # type: ignore[index]
    assert committer.stats.sizes == {1: 1, CLIENTS - 1: 1}


def test_a_batch_is_bounded() -> None:
    """max_batch caps a transaction; the rest go in the next one, oldest first."""
    store = SlowStore()
    committer = GroupCommitter(store.insert, wait=0, max_batch=4)
    _burst(committer, store, [f"s{i}" for i in range(9)])
    assert [len(call) for call in store.calls] == [1, 4, 4]


def test_a_conflict_fails_only_its_command() -> None:
    """The refused batch is retried in halves: only the stale command fails."""
    store = SlowStore(refuse={"s5"})
    committer = GroupCommitter(store.insert, wait=0, max_batch=64)
    results = _burst(committer, store, [f"s{i}" for i in range(8)])
    assert isinstance(results[5], IntegrityError)
    assert all(isinstance(r, list) for i, r in enumerate(results) if i != 5)
    assert committer.stats.conflicts == 1 and committer.stats.commands == 7


def test_two_commands_on_one_version_never_share_a_batch() -> None:
    """The later of two writes of one (stream, version) waits for the next batch."""
    store = SlowStore()
    committer = GroupCommitter(store.insert, wait=0, max_batch=64)
    _burst(committer, store, ["a", "b", "c", "b", "d"])
    assert store.calls == [["a"], ["b", "c"], ["b", "d"]]


def test_an_outage_fails_every_command_of_the_batch() -> None:
    """No database, no commit: each caller gets its own error, nothing is split."""
    store = SlowStore(down=True)
    committer = GroupCommitter(store.insert, wait=0, max_batch=64)
    results = _burst(committer, store, [f"s{i}" for i in range(5)])
    errors = results[1:]
    assert all(isinstance(e, OperationalError) for e in errors)
    assert len({id(e) for e in errors}) == len(errors)
    assert len(store.calls) == 2


def test_a_lone_client_never_waits() -> None:
    """Batches of one: the leader never waits for company (a long wait would show)."""
    store = SlowStore()
    store.release.set()
    committer = GroupCommitter(store.insert, wait=5.0, max_batch=64)
    for index in range(3):
        assert committer.commit([_stored(f"s{index}")]) == [index + 1]
    assert committer.stats.sizes == {1: 3}


def test_group_commit_can_be_turned_off(tmp_path: Path) -> None:
    """group_commit_max=0 saves as the library does."""
    settings = Settings(data_dir=tmp_path, database_url="memory://", group_commit_max=0)
    app = TallyApp(env=settings.event_store_env("tally"))
    assert app.committer is None
    assert app.save_new(Tally(actor="user:1")) == 1


def test_a_save_of_several_events_gets_an_id_for_each(tmp_path: Path) -> None:
    """A save of several events gets one id each, in order (positions per command)."""
    app = TallyApp(env=Settings(data_dir=tmp_path, database_url="memory://").event_store_env("t"))
    tally = Tally(actor="user:1")
    tally.bump(actor="user:1")
    recordings = app.save(tally)
    assert [r.notification.id for r in recordings] == [1, 2]
    assert isinstance(recordings[0].notification.originator_id, UUID)
