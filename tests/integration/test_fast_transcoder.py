"""Story: the faster transcoder reads every stored event as the library's did, and back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import JSONTranscoder, TranscodingNotRegisteredError

from application.ordering import OrderingApp
from infra.settings import Settings
from infra.transcoder import FastJSONTranscoder
from projections.runner import event_record
from tests.support.order_stream import write_orders
from tests.support.postgres import PostgresDatabase

FAST = {"TRANSCODER_TOPIC": "infra.transcoder:FastJSONTranscoder"}


class Specimen(Aggregate):
    """An aggregate whose events hold every awkward value a stored state can."""

    @event("Recorded")
    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload

    @event("Amended")
    def amend(self, reference: UUID, amount: Decimal, at: datetime, notes: list[Any]) -> None:
        self.payload = {"reference": reference, "amount": amount, "at": at, "notes": notes}


class Ledger(Application[UUID]):
    """A bare application: the transcoder is all that differs between the two sides."""


def awkward() -> dict[str, Any]:
    """Typed values at every depth, marker look-alikes, and JSON only the stdlib reads."""
    return {
        "id": uuid4(),
        "ids": [uuid4(), {"inner": uuid4()}],
        "price": Decimal("1234.50"),
        "when": datetime(2026, 12, 1, 5, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        "naive": datetime(2026, 1, 2, 3, 4, 5, 678901),
        "look_alike": {"_type_": "uuid_hex", "other": 1},  # three keys: plain data
        "half_marker": {"_type_": "nothing"},
        "text": 'quote " backslash \\ "_type_" ünïcødé ✓ \u2028 \n\t',
        "nested": {"deep": [[{"d": Decimal("0.1")}], [], {}]},
        "float": 25.0,
        "small": 1e-7,
        "big_float": 1e16,
        "none": None,
        "flag": True,
    }


def stdlib_only() -> dict[str, Any]:
    """Values orjson refuses to parse but the library's JSONTranscoder writes."""
    return {"nan": float("nan"), "inf": float("inf"), "huge": 2**70, "at": datetime.now(UTC)}


def write_specimens(app: Ledger) -> None:
    for payload in (awkward(), stdlib_only(), {}):
        specimen = Specimen(payload)
        specimen.amend(uuid4(), Decimal("-0.00"), datetime.now(UTC), [uuid4(), "x", 1.5, None])
        app.save(specimen)


def decoded_log(app: Application[UUID]) -> list[str]:
    """Every event of the log as a domain object, compared by repr (NaN equals itself)."""
    out = []
    for n in app.recorder.select_notifications(start=None, limit=100_000):
        domain_event = app.mapper.to_domain_event(n)
        out.append(f"{n.topic} {domain_event.__dict__!r}")
    return out


@pytest.fixture(params=["sqlite", "postgres"])
def store_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """An event store on the backend, as environment for either transcoder."""
    if request.param == "sqlite":
        yield {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "s")}
        return
    database: PostgresDatabase = request.getfixturevalue("postgres_db")
    yield database.eventsourcing_env()


Write = Callable[[Any], None]


@pytest.mark.parametrize(
    ("make", "write"),
    [(Ledger, write_specimens), (OrderingApp, lambda app: write_orders(app, 200))],
    ids=["awkward values", "order lifecycles"],
)
@pytest.mark.parametrize("writer_is_fast", [False, True], ids=["old writes", "new writes"])
def test_each_transcoder_reads_what_the_other_wrote(
    store_env: dict[str, str], make: type[Any], write: Write, writer_is_fast: bool
) -> None:
    old = make(env=store_env)
    new = make(env={**store_env, **FAST})
    assert type(old.mapper.transcoder) is JSONTranscoder
    assert type(new.mapper.transcoder) is FastJSONTranscoder
    try:
        write(new if writer_is_fast else old)
        written = decoded_log(old)
        assert len(written) > 3
        assert decoded_log(new) == written
        for n in new.recorder.select_notifications(start=None, limit=100_000):
            if make is OrderingApp:  # the projection reader sees the same records too
                assert event_record(new, n) == event_record(old, n)
    finally:
        old.close()
        new.close()


def test_the_new_transcoder_writes_the_same_bytes() -> None:
    old, new = Ledger(), Ledger(env=FAST)
    state = {"timestamp": datetime.now(UTC), **awkward(), **stdlib_only()}
    assert new.mapper.transcoder.encode(state) == old.mapper.transcoder.encode(state)


def test_an_unknown_typed_value_is_refused_as_before() -> None:
    new = Ledger(env=FAST).mapper.transcoder
    for data in (
        b'{"x":{"_type_":"martian","_data_":"1"}}',
        b'{"a":[{"_type_":"martian","_data_":"1"}],"b":{"_type_":"uuid_hex","_data_":"00"}}',
    ):
        with pytest.raises(TranscodingNotRegisteredError):
            new.decode(data)


def test_every_application_store_uses_the_new_transcoder(tmp_path: Path) -> None:
    for url in ("", "memory://", "postgresql://u@127.0.0.1:5/db"):
        env = Settings(data_dir=tmp_path, database_url=url).event_store_env("ordering")
        assert env["TRANSCODER_TOPIC"] == FAST["TRANSCODER_TOPIC"]
    app = OrderingApp(env=Settings(database_url="memory://").event_store_env("ordering"))
    assert type(app.mapper.transcoder) is FastJSONTranscoder
