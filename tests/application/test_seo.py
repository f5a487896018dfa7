"""Story: on each event store, product pages come from the model's streams (by id or slug,
listed models only) and the sitemap reads the listed models in keyset batches that agree
with one plain read, wherever a part starts.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from application.catalog_models import Person
from domain.errors import NotFound
from infra.bootstrap import Container
from projections.seo import count_listed, listed_models
from tests.support.factories import cube_stl

ADMIN = Person("a-1", "admin", "admin:a-1")


def upload(container: Container, category_id: str, name: str, **fields: Any) -> UUID:
    values = {"name": name, "category_id": category_id, "material": "PLA", **fields}
    change = container.catalog_models.upload(cube_stl(), "cube.stl", values, by=ADMIN)
    return UUID(str(change.model.id))


def test_pages_and_sitemap_batches_follow_the_listed_models(container: Container) -> None:
    models = container.catalog_models
    made, _ = container.print_config.add_category({"name": "Lamps"}, actor=ADMIN.actor)
    shelf = str(made.id)
    listed = [upload(container, shelf, f"Lamp {n}", price="250.25") for n in range(5)]
    models.change_meta(listed[1], {"slug": "lamp-one"}, actor=ADMIN.actor)
    hidden = upload(container, shelf, "Hidden lamp")
    models.moderate(hidden, is_approved=None, is_public=False, actor=ADMIN.actor)
    models.change_meta(hidden, {"slug": "hidden-lamp"}, actor=ADMIN.actor)
    container.projections["catalog"].catch_up()

    seo = container.seo
    page = seo.product("lamp-one")
    assert page.product.id == str(listed[1]) and page.product.category == "Lamps"
    assert seo.product(str(listed[1])).meta == page.meta
    assert page.meta.json_ld["offers"]["price"] == "250.25"
    for ref in (str(hidden), "hidden-lamp", "lamp-two", "Lamp-One", "", "x" * 81):
        with pytest.raises(NotFound):
            seo.product(ref)

    with container.views.reading() as cur:
        assert count_listed(cur) == 5
    whole = [m for batch in listed_models(container.views, 0, 100) for m in batch]
    assert [m.id for m in whole] == [str(i) for i in listed]  # oldest first
    assert whole[1].slug == "lamp-one" and whole[0].slug is None
    for skip, take in ((0, 5), (1, 3), (2, 3), (4, 10), (5, 2), (7, 1)):
        batches = list(listed_models(container.views, skip, take, batch=2))
        assert all(1 <= len(b) <= 2 for b in batches)
        assert [m for b in batches for m in b] == whole[skip : skip + take], (skip, take)
