"""Story: likes stay exact under concurrency on every store (memory, SQLite, PostgreSQL).

Many customers toggle one model at once: nobody contends (each has their own stream), and
both views that count likes (the likes view and the catalog's likes_total) end at the
exact number, and again after a rebuild. One customer's concurrent toggles serialise on
their stream: each applies once, in turn.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from uuid import UUID, uuid4

import pytest

from application.catalog_models import Person
from application.model_media import LikeToggle
from domain.catalog_models import CatalogModel, ModelDetails
from domain.errors import NotFound
from domain.model_media import like_id_for
from infra.bootstrap import Container

CUSTOMERS = 12


def listed_model(container: Container, *, approved: bool = True) -> UUID:
    """A model in the catalog's log, as a staff upload (or a customer's, not approved)."""
    details = ModelDetails("Lamp", str(uuid4()), "PLA", "Black", None)
    model = CatalogModel.upload(
        uuid4(),
        details,
        owner_id=str(uuid4()),
        owner_role="admin" if approved else "user",
        file={"sha256": "0" * 64, "filename": "lamp.stl", "size_bytes": 1},
        mesh={"file_format": "stl"},
        auto_approve_customers=False,
        actor="admin:test",
    )
    container.catalog.save(model)
    return UUID(str(model.id))


def customer() -> Person:
    user_id = str(uuid4())
    return Person(user_id, "user", f"user:{user_id}")


def counts(container: Container, model_id: UUID) -> tuple[int, int]:
    """(likes view, catalog view) after both folded the whole log."""
    runners = container.projections
    for name in ("model_likes", "catalog"):
        runners[name].catch_up()
    with container.views.reading() as cur:
        cur.execute("SELECT likes_total FROM model_likes WHERE model_id = ?", (str(model_id),))
        row = cur.fetchone()
        cur.execute("SELECT likes_total FROM catalog_view WHERE id = ?", (str(model_id),))
        return (int(row[0]) if row else 0), int(cur.fetchone()[0])


def test_many_customers_liking_one_model_at_once_are_counted_exactly(
    container: Container,
) -> None:
    model_id = listed_model(container)
    people = [customer() for _ in range(CUSTOMERS)]
    start = Barrier(CUSTOMERS)

    def toggle(person: Person) -> LikeToggle:
        start.wait()
        return container.model_media.toggle_like(model_id, by=person)

    with ThreadPoolExecutor(CUSTOMERS) as pool:
        toggles = list(pool.map(toggle, people))

    assert all(t.liked for t in toggles)
    assert len({t.position for t in toggles}) == CUSTOMERS
    assert counts(container, model_id) == (CUSTOMERS, CUSTOMERS)
    before: dict[str, list[object]] = {}
    for name in ("model_likes", "catalog"):
        runner = container.projections[name]
        with container.views.reading() as cur:
            before[name] = list(runner.projection.dump(cur))
        runner.rebuild()
        with container.views.reading() as cur:
            assert list(runner.projection.dump(cur)) == before[name], name
    assert counts(container, model_id) == (CUSTOMERS, CUSTOMERS)


def test_one_customers_concurrent_toggles_each_apply_once_in_turn(
    container: Container,
) -> None:
    model_id = listed_model(container)
    clicker = customer()
    rounds, clicks = 4, 3

    def toggle(start: Barrier) -> LikeToggle:
        start.wait()
        return container.model_media.toggle_like(model_id, by=clicker)

    for _ in range(rounds):
        start = Barrier(clicks)
        with ThreadPoolExecutor(clicks) as pool:
            toggles = list(pool.map(toggle, [start] * clicks))
        assert len({t.position for t in toggles}) == clicks

    events = container.catalog.events.get(like_id_for(model_id, UUID(clicker.user_id)))
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "LikeStarted"
    assert kinds[1:] == ["Liked", "Unliked"] * (rounds * clicks // 2)
    liked_now = kinds[-1] == "Liked"
    assert counts(container, model_id) == (int(liked_now), int(liked_now))


def test_only_listed_models_take_likes(container: Container) -> None:
    pending = listed_model(container, approved=False)
    with pytest.raises(NotFound):
        container.model_media.toggle_like(pending, by=customer())
    with pytest.raises(NotFound):
        container.model_media.toggle_like(uuid4(), by=customer())
    assert counts(container, pending) == (0, 0)
