"""Story: confirmed payments get invoice numbers from one series per prefix and financial
year: consecutive, no gaps, no duplicates, one per payment, even when twenty payments are
confirmed at the same moment.

Each allotment writes the series stream's next version; the store accepts one writer per
version, so a loser reloads and allots again. Runs on the in-memory store, SQLite and
PostgreSQL, with a bare application of the series (the payments application holds it).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from application.base import FabApplication
from domain.errors import Conflict
from domain.invoice_numbers import InvoiceSeries, series_id

ACTOR = "system:payments"
ATTEMPTS = 200  # a thread can lose at most 19 races per number; this is far above it


class SeriesApp(FabApplication):
    """The series as the payments application keeps it: allot, reload and retry on a race."""

    name = "payments"

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self.races = 0
        self._lock = threading.Lock()

    def load(self, prefix: str, fy: str) -> InvoiceSeries | None:
        """The stored series, if any number was allotted in it."""
        return self.find(series_id(prefix, fy), InvoiceSeries)

    def allot(self, prefix: str, fy: str, payment_id: str) -> str:
        """The payment's number: allotted once, whoever else is allotting at the time."""
        for _ in range(ATTEMPTS):
            series = self.load(prefix, fy) or InvoiceSeries.open(prefix, fy, actor=ACTOR)
            number = series.allot(payment_id, actor=ACTOR)
            if not series.pending_events:
                return number  # it already had one: nothing to write
            try:
                self.save_new(series)
            except Conflict:
                with self._lock:
                    self.races += 1
                continue
            return number
        raise AssertionError(f"{payment_id} lost {ATTEMPTS} races in a row")


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SeriesApp]:
    """The series application on each backend."""
    if request.param == "memory":
        env = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    elif request.param == "sqlite":
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(tmp_path / "payments.db"),
            "SQLITE_LOCK_TIMEOUT": "10",
        }
    else:
        database = request.getfixturevalue("postgres_db")
        env = database.eventsourcing_env(POSTGRES_POOL_SIZE="5", POSTGRES_MAX_OVERFLOW="20")
    built = SeriesApp(env)
    try:
        yield built
    finally:
        built.close()


def test_numbers_are_consecutive_and_allotted_once_per_payment(app: SeriesApp) -> None:
    assert app.load("FL", "2026-27") is None
    assert [app.allot("fl", "2026-27", f"pay-{i}") for i in range(3)] == [
        "FL/26-27/00001",
        "FL/26-27/00002",
        "FL/26-27/00003",
    ]
    head = app.position()
    assert app.allot("FL", "2026-27", "pay-1") == "FL/26-27/00002"
    assert app.position() == head  # asked again (a replayed confirmation): nothing written
    series = app.load("FL", "2026-27")
    assert series is not None and series.version == 4 and series.last_sequence == 3


def test_a_new_financial_year_and_a_new_prefix_start_again_at_one(app: SeriesApp) -> None:
    app.allot("FL", "2026-27", "march-31")
    assert app.allot("FL", "2027-28", "april-1") == "FL/27-28/00001"
    assert app.allot("FLB", "2027-28", "april-1") == "FLB/27-28/00001"
    assert app.allot("FL", "2026-27", "late") == "FL/26-27/00002"


def test_a_stale_copy_loses_the_race_and_allots_the_next_number_after_reload(
    app: SeriesApp,
) -> None:
    app.allot("FL", "2026-27", "first")
    mine, theirs = app.load("FL", "2026-27"), app.load("FL", "2026-27")
    assert mine is not None and theirs is not None
    assert theirs.allot("theirs", actor=ACTOR) == "FL/26-27/00002"
    app.save_new(theirs)
    assert mine.allot("mine", actor=ACTOR) == "FL/26-27/00002"  # a duplicate, not stored:
    with pytest.raises(Conflict, match="reload and retry"):
        app.save_new(mine)
    assert app.allot("FL", "2026-27", "mine") == "FL/26-27/00003"


def test_twenty_concurrent_confirmations_get_twenty_consecutive_numbers(app: SeriesApp) -> None:
    payments = [f"pay-{i:02d}" for i in range(20)]
    allotted: dict[str, str] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(len(payments))

    def confirm(payment_id: str) -> None:
        start.wait()
        try:
            number = app.allot("FL", "2026-27", payment_id)
        except BaseException as error:  # reported below, not lost in the thread
            with lock:
                errors.append(error)
            return
        with lock:
            allotted[payment_id] = number

    threads = [threading.Thread(target=confirm, args=(p,)) for p in payments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == [] and sorted(allotted) == payments
    numbers = sorted(allotted.values())
    assert numbers == [f"FL/26-27/{n:05d}" for n in range(1, 21)]  # no gap, no duplicate
    series = app.load("FL", "2026-27")
    assert series is not None and series.numbers == allotted
    # The stream holds exactly one NumberAllotted per payment, in sequence order.
    stored = [e for e in app.events.get(series.id) if type(e).__name__ == "NumberAllotted"]
    assert [e.sequence for e in stored] == list(range(1, 21))  # type: ignore[attr-defined]
    assert sorted(e.payment_id for e in stored) == payments  # type: ignore[attr-defined]
