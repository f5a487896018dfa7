"""Story: the catalog's models on each event store: the view folds them live and rebuilds to
the same rows, and two staff taking one slug at the same moment cannot both have it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from application.catalog_models import ModelChange, Person
from domain.errors import Conflict
from infra.bootstrap import Container
from infra.views_db import PostgresViewDatabase
from projections.catalog import CatalogProjection
from projections.catalog_queries import CatalogQuery, list_models
from projections.runner import ProjectionRunner
from tests.support.factories import container_for, cube_stl

ADMIN = Person("a-1", "admin", "admin:a-1")
MAKER = Person("c-1", "user", "user:c-1")


def category(container: Container, name: str) -> str:
    made, _ = container.print_config.add_category({"name": name}, actor=ADMIN.actor)
    return str(made.id)


def upload(container: Container, category_id: str, name: str, **fields: Any) -> ModelChange:
    values = {"name": name, "category_id": category_id, "material": "PLA", **fields}
    return container.catalog_models.upload(cube_stl(), "cube.stl", values, by=ADMIN)


def fill(container: Container) -> dict[str, UUID]:
    """Models in every state: listed, pending, hidden, renamed, re-slugged, deleted."""
    models = container.catalog_models
    toys, tools = category(container, "Toys"), category(container, "Tools")
    made = {
        "stand": upload(container, toys, "Phone stand", price="199.50").model.id,
        "clip": upload(container, tools, "Cable clip", description="holds cables").model.id,
        "vase": upload(container, toys, "Spiral vase", price=50).model.id,
        "doomed": upload(container, tools, "Doomed part").model.id,
    }
    session = container.checkout.upload(MAKER.user_id, cube_stl(30), "mine.stl")
    shared = {"name": "Shared hook", "category_id": tools, "material": "PETG"}
    made["hook"] = models.share(session.session_id, shared, by=MAKER).model.id
    models.moderate(made["vase"], is_approved=None, is_public=False, actor=ADMIN.actor)
    models.change_meta(made["stand"], {"slug": "phone-stand", "seo_title": "Stand"}, actor="x")
    models.change_meta(made["stand"], {"slug": "stand-v2"}, actor=ADMIN.actor)
    models.update(
        made["clip"],
        {"name": "Cable clip XL", "category_id": toys, "material": "PETG", "price": "12.5"},
        actor=ADMIN.actor,
    )
    models.delete(made["doomed"], actor=ADMIN.actor)
    return {**made, "toys": UUID(toys), "tools": UUID(tools)}


def test_the_view_folds_every_change_and_rebuilds_to_the_same_rows(container: Container) -> None:
    runner = container.projections["catalog"]
    made = fill(container)
    runner.catch_up()

    with container.views.reading() as cur:
        incremental = list(runner.projection.dump(cur))
        listed, total = list_models(cur, CatalogQuery())
        assert total == 2  # the vase is hidden, the hook pending, the doomed part deleted
        assert {m["name"] for m in listed} == {"Phone stand", "Cable clip XL"}
        clip = next(m for m in listed if m["name"] == "Cable clip XL")
        assert (clip["category_id"], clip["material"], clip["price_paise"]) == (
            str(made["toys"]),
            "PETG",
            1250,
        )
        stand = next(m for m in listed if m["name"] == "Phone stand")
        assert (stand["slug"], stand["seo_title"]) == ("stand-v2", "Stand")
        every, _ = list_models(cur, CatalogQuery(status="all", limit=100))
        assert {m["status"] for m in every} == {"approved", "hidden", "pending"}
        by_text, _ = list_models(cur, CatalogQuery(status="all", q="HOLDS cab"))
        assert [m["name"] for m in by_text] == ["Cable clip XL"]
        toys, _ = list_models(cur, CatalogQuery(category_id=str(made["toys"]), sort="price"))
        assert [m["name"] for m in toys] == ["Cable clip XL", "Phone stand"]
    assert container.print_config.models.in_category(made["tools"]) == 1  # the pending hook
    runner.rebuild()
    with container.views.reading() as cur:
        assert list(runner.projection.dump(cur)) == incremental
        assert list_models(cur, CatalogQuery(status="all", q="holds"))[1] == 1  # search rebuilt
    assert len(incremental) == 4


def test_of_two_models_taking_one_slug_at_once_exactly_one_gets_it(container: Container) -> None:
    shelf = category(container, "Shelf")
    first = upload(container, shelf, "First").model.id
    second = upload(container, shelf, "Second").model.id
    catalog = container.catalog
    both_loaded = threading.Barrier(2)
    save = catalog.save

    def save_together(*aggregates: Any, **kwargs: Any) -> Any:
        both_loaded.wait(timeout=10)  # both found the slug free before either saves
        return save(*aggregates, **kwargs)

    catalog.save = save_together  # type: ignore[method-assign]
    outcome: dict[UUID, str] = {}

    def take(model_id: UUID) -> None:
        try:
            container.catalog_models.change_meta(model_id, {"slug": "hot"}, actor=ADMIN.actor)
            outcome[model_id] = "won"
        except Conflict as refused:
            outcome[model_id] = refused.message

    threads = [threading.Thread(target=take, args=(m,)) for m in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    catalog.save = save  # type: ignore[method-assign]

    assert sorted(outcome.values()) == [
        "slug 'hot' is already used by another catalog model",
        "won",
    ]
    winner = next(m for m, result in outcome.items() if result == "won")
    loser = first if winner == second else second
    assert container.catalog_models.get(winner).slug == "hot"
    assert container.catalog_models.get(loser).slug is None
    with pytest.raises(Conflict, match="already used"):
        container.catalog_models.change_meta(loser, {"slug": "hot"}, actor=ADMIN.actor)


def test_the_same_events_make_the_same_rows_and_answers_on_sqlite_and_postgresql(
    tmp_path: Path, postgres_db: Any
) -> None:
    container = container_for(tmp_path)  # the log on SQLite, its view in views.db
    try:
        fill(container)
        sqlite = container.projections["catalog"]
        sqlite.catch_up()
        postgres = PostgresViewDatabase(postgres_db.dsn)
        try:
            ProjectionRunner(container.catalog, CatalogProjection(), postgres).catch_up()
            queries = [
                CatalogQuery(),
                CatalogQuery(status="all", sort="price"),
                CatalogQuery(status="all", q="cable"),
                CatalogQuery(status="all", q="sh"),
                CatalogQuery(status="pending"),
            ]
            answers = []
            for views in (container.views, postgres):
                with views.reading() as cur:
                    rows = list(sqlite.projection.dump(cur))
                    answers.append((rows, [list_models(cur, q) for q in queries]))
            assert answers[0] == answers[1]
            assert len(answers[0][0]) == 4
        finally:
            postgres.close()
    finally:
        container.close()


def test_a_search_answers_the_same_however_many_models_match(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = fill(container)
    container.projections["catalog"].catch_up()
    queries = [
        CatalogQuery(q="p"),
        CatalogQuery(q="cable", status="all", sort="price"),
        CatalogQuery(q="s", category_id=str(made["toys"]), sort="popular"),
        CatalogQuery(q="sh", status="pending", limit=1, page=1),
        CatalogQuery(q="zzz"),
    ]
    with container.views.reading() as cur:
        few = [list_models(cur, q) for q in queries]
        # Past the threshold the SQLite page walks the sort's index instead (same answer).
        monkeypatch.setattr("projections.catalog_queries.FTS_DRIVEN_MAX", 0)
        many = [list_models(cur, q) for q in queries]
    assert few == many
    assert [total for _, total in few] == [2, 1, 1, 1, 0]  # "p": PLA, PETG too
