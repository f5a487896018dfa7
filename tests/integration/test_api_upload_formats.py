"""Story: an admin switches a model format off in the site settings; from then on every
upload path refuses such a file with 422 before analysing it (a customer's upload for the
cart, a checkout with a file, a staff catalog upload), until the format is switched on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import trimesh
from fastapi.testclient import TestClient

from tests.support.catalog_models import new_category, post_model
from tests.support.http import CUBE_STL, Account, checkout, corpus_file, error_of, upload

BRICK_OBJ = trimesh.creation.box(extents=(10, 20, 30)).export(file_type="obj").encode()
OBJ_OFF = "model_file: OBJ uploads are switched off by the shop"


def switch(client: TestClient, admin: Account, **formats: bool) -> None:
    response = client.put(
        "/api/admin/settings/upload_formats", headers=admin.auth, json={"value": formats}
    )
    assert response.status_code == 200, response.text


@pytest.fixture
def formats_on(client: TestClient, admin: Account) -> Iterator[None]:
    """Every format switched on again after the test."""
    yield
    switch(client, admin, stl=True, obj=True)


def every_upload_path(
    client: TestClient, customer: Account, admin: Account, category: str, model: tuple[str, bytes]
) -> dict[str, httpx.Response]:
    """The same file sent along each path that takes a new model file."""
    return {
        "upload-for-cart": upload(client, customer, *model),
        "checkout": checkout(client, customer, model=model),
        "catalog-models": post_model(client, admin, category, model=model),
    }


def test_a_switched_off_format_is_refused_on_every_upload_path(
    client: TestClient, customer: Account, admin: Account, formats_on: Any
) -> None:
    category = new_category(client, admin, "Format switches")
    switch(client, admin, obj=False)
    public = client.get("/api/public/site-info").json()
    assert public["upload_formats"] == ["stl", "3mf"]

    for path, answer in every_upload_path(
        client, customer, admin, category, ("brick.OBJ", BRICK_OBJ)
    ).items():
        assert error_of(answer, 422) == OBJ_OFF, path
    for path, answer in every_upload_path(
        client, customer, admin, category, ("cube.stl", CUBE_STL)
    ).items():
        assert answer.status_code == 201, (path, answer.text)

    switch(client, admin, stl=True, obj=True)
    for path, answer in every_upload_path(
        client, customer, admin, category, ("brick.obj", BRICK_OBJ)
    ).items():
        assert answer.status_code == 201, (path, answer.text)


def test_3mf_can_be_switched_off_but_not_every_format(
    client: TestClient, customer: Account, admin: Account, formats_on: Any
) -> None:
    moon = corpus_file("3mf/Moon.3mf")
    switch(client, admin, **{"3mf": False})
    refused = upload(client, customer, "Moon.3mf", moon)
    assert error_of(refused, 422) == "model_file: 3MF uploads are switched off by the shop"
    every_off = {"stl": False, "obj": False, "3mf": False}
    put = client.put(
        "/api/admin/settings/upload_formats", headers=admin.auth, json={"value": every_off}
    )
    assert error_of(put, 422).startswith("upload_formats: keep at least one format on")
    switch(client, admin, **{"3mf": True})
    assert upload(client, customer, "Moon.3mf", moon).status_code == 201
