"""Story: owners and staff put preview images on catalog models; everyone else is refused.

An owner sets the image of a model of theirs (even while it waits for approval); staff
set and remove any model's image under /api/admin (scope catalog:write). Images are told
by their bytes, never by name or declared type, and what is served is re-encoded: the
upload's metadata never reaches anyone. Each change is an event naming its actor.
"""

from __future__ import annotations

import hashlib
import io
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from PIL.ExifTags import GPS, IFD

from domain.catalog_models import CatalogModel
from infra.bootstrap import Container
from tests.support.http import Account, error_of
from tests.support.model_media import customer_model, moderate, picture, staff_model

NOT_AN_IMAGE = "image: must be a JPEG, PNG or WebP image"
JWT_ONLY = "this endpoint is JWT only; personal access tokens cannot use it"
NOT_FOUND = "catalog model not found"
UNKNOWN = "00000000-0000-4000-8000-000000000000"
MB = 1024 * 1024


def send(
    client: TestClient,
    path: str,
    headers: dict[str, str],
    data: bytes,
    name: str = "preview.png",
    declared: str = "image/png",
) -> httpx.Response:
    return client.post(path, headers=headers, files={"image": (name, data, declared)})


def own(client: TestClient, account: Account, model_id: str, data: bytes, **kw: Any) -> Any:
    return send(client, f"/api/models/{model_id}/image", account.auth, data, **kw)


def as_staff(client: TestClient, headers: dict[str, str], model_id: str, data: bytes) -> Any:
    return send(client, f"/api/admin/models/{model_id}/image", headers, data)


def served(client: TestClient, model_id: str, headers: dict[str, str] | None = None) -> Any:
    return client.get(f"/api/models/{model_id}/image", headers=headers or {})


def pat(client: TestClient, admin: Account, *scopes: str) -> dict[str, str]:
    response = client.post(
        "/api/admin/tokens",
        headers=admin.auth,
        json={"name": f"media {' '.join(scopes)}", "permissions": list(scopes)},
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def container_of(client: TestClient) -> Container:
    return client.app.state.container  # type: ignore[attr-defined,no-any-return]


@pytest.fixture(scope="module")
def pending(client: TestClient, customer: Account, admin: Account) -> str:
    """The customer's own model, waiting for approval (only they and staff see it)."""
    return str(customer_model(client, customer, admin, "Cable clip")["id"])


@pytest.fixture(scope="module")
def shared(client: TestClient, customer: Account, admin: Account) -> str:
    """The customer's own model, approved: in the storefront."""
    model_id = str(customer_model(client, customer, admin, "Shared clip")["id"])
    moderate(client, admin, model_id, is_approved=True)
    return model_id


@pytest.fixture(scope="module")
def shop_model(client: TestClient, admin: Account) -> str:
    return str(staff_model(client, admin, "Shop stand")["id"])


def test_an_owner_sets_the_image_of_a_model_waiting_for_approval(
    client: TestClient,
    customer: Account,
    rival: Account,
    admin: Account,
    moderator: Account,
    pending: str,
) -> None:
    response = own(client, customer, pending, picture("PNG", (64, 48)))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_id"] == pending and body["changed"] is True
    assert response.headers["X-Position"] == str(body["position"]) != "0"
    image = body["image"]
    assert image["url"] == f"/api/models/{pending}/image"
    assert (image["format"], image["content_type"]) == ("png", "image/png")
    assert (image["width"], image["height"]) == (64, 48)

    mine = served(client, pending, customer.auth)
    assert mine.status_code == 200
    assert mine.headers["content-type"] == "image/png"
    assert mine.headers["x-content-type-options"] == "nosniff"
    assert hashlib.sha256(mine.content).hexdigest() == image["sha256"]
    assert Image.open(io.BytesIO(mine.content)).size == (64, 48)
    for staff_member in (admin, moderator):
        assert served(client, pending, staff_member.auth).content == mine.content
    # Not listed yet: unknown to everyone else.
    assert error_of(served(client, pending), 404) == NOT_FOUND
    assert error_of(served(client, pending, rival.auth), 404) == NOT_FOUND


def test_the_same_image_again_changes_nothing(
    client: TestClient, customer: Account, pending: str
) -> None:
    data = picture("PNG", (30, 30))
    assert own(client, customer, pending, data).json()["changed"] is True
    again = own(client, customer, pending, data)
    assert again.status_code == 200
    assert (again.json()["changed"], again.json()["position"]) == (False, 0)


def test_images_are_told_by_their_bytes_not_their_name_or_declared_type(
    client: TestClient, customer: Account, pending: str
) -> None:
    png_as_jpeg = own(
        client, customer, pending, picture("PNG"), name="photo.jpg", declared="image/jpeg"
    )
    assert png_as_jpeg.json()["image"]["format"] == "png", png_as_jpeg.text
    assert served(client, pending, customer.auth).headers["content-type"] == "image/png"

    webp_as_text = own(
        client, customer, pending, picture("WEBP"), name="notes.txt", declared="text/plain"
    )
    assert webp_as_text.json()["image"]["content_type"] == "image/webp", webp_as_text.text
    assert served(client, pending, customer.auth).headers["content-type"] == "image/webp"

    gif_named_png = picture("GIF")
    assert error_of(own(client, customer, pending, gif_named_png), 422) == NOT_AN_IMAGE
    html = b"<!DOCTYPE html><script>alert(1)</script>"
    refused = own(client, customer, pending, html, name="x.png", declared="image/png")
    assert error_of(refused, 422) == NOT_AN_IMAGE


def test_what_is_served_carries_none_of_the_uploads_metadata(
    client: TestClient, customer: Account, pending: str
) -> None:
    exif = Image.Exif()
    exif.get_ifd(IFD.GPSInfo).update({GPS.GPSLatitudeRef: "N", GPS.GPSLatitude: (12.0, 58.0, 1.0)})
    upload = picture("JPEG", (40, 40), exif=exif.tobytes()) + b"<?php system($_GET['c']); ?>"
    assert own(client, customer, pending, upload).status_code == 200

    image = served(client, pending, customer.auth)
    assert image.headers["content-type"] == "image/jpeg"
    out = Image.open(io.BytesIO(image.content))
    assert dict(out.getexif()) == {} and out.getexif().get_ifd(IFD.GPSInfo) == {}
    assert b"<?php" not in image.content


def test_refused_uploads_say_why(client: TestClient, customer: Account, pending: str) -> None:
    before = served(client, pending, customer.auth).content
    assert error_of(own(client, customer, pending, b""), 422) == "image: the file is empty"
    broken = picture("PNG", (200, 200))[:-30]
    assert error_of(own(client, customer, pending, broken), 422).startswith(
        "image: cannot be decoded"
    )
    bomb = io.BytesIO()
    Image.new("1", (8_000, 8_000)).save(bomb, "PNG")  # 64 MP, a few KB
    assert error_of(own(client, customer, pending, bomb.getvalue()), 422) == (
        "image: 8000 x 8000 pixels is more than the 40-megapixel limit"
    )
    too_large = picture("PNG") + b"\x00" * (10 * MB)  # just over: the route's own count
    assert error_of(own(client, customer, pending, too_large), 413) == (
        "image: larger than the 10 MB limit"
    )
    far_too_large = picture("PNG") + b"\x00" * (11 * MB)  # refused as it streams in
    assert error_of(own(client, customer, pending, far_too_large), 413) == (
        "image: larger than the 10 MB limit"
    )
    no_file = client.post(
        f"/api/models/{pending}/image", headers=customer.auth, data={"image": "text"}
    )
    assert error_of(no_file, 422)
    assert served(client, pending, customer.auth).content == before  # nothing changed


def test_nobody_else_changes_an_owners_image(
    client: TestClient,
    customer: Account,
    rival: Account,
    admin: Account,
    moderator: Account,
    pending: str,
    shared: str,
    shop_model: str,
) -> None:
    data = picture("PNG", (9, 9))
    # A model the caller cannot see does not exist for them; one they see is not theirs.
    assert error_of(own(client, rival, pending, data), 404) == NOT_FOUND
    for model_id in (shared, shop_model):
        assert "owner" in error_of(own(client, rival, model_id, data), 403)
    assert "owner" in error_of(own(client, moderator, shared, data), 403)  # staff: /api/admin
    for junk in ("not-an-id", UNKNOWN):
        assert error_of(own(client, customer, junk, data), 404) == NOT_FOUND
    anonymous = send(client, f"/api/models/{pending}/image", {}, data)
    assert error_of(anonymous, 401) == "missing bearer token"
    token = pat(client, admin, "catalog:write")
    with_token = send(client, f"/api/models/{pending}/image", token, data)
    assert error_of(with_token, 403) == JWT_ONLY
    assert own(client, customer, shared, data).status_code == 200  # the owner, listed or not


def test_staff_set_and_remove_any_models_image_with_catalog_write(
    client: TestClient,
    customer: Account,
    admin: Account,
    moderator: Account,
    shop_model: str,
    shared: str,
) -> None:
    data = picture("WEBP", (20, 10))
    set_by_admin = as_staff(client, admin.auth, shared, data)
    assert set_by_admin.status_code == 200, set_by_admin.text
    assert set_by_admin.json()["image"]["format"] == "webp"
    assert served(client, shared).headers["content-type"] == "image/webp"  # listed: public
    listed = client.get(
        f"/api/catalog/{shared}",
        headers={"X-Min-Position": str(set_by_admin.json()["position"])},
    )
    assert listed.json()["image_url"] == f"/api/models/{shared}/image"

    writer, reader = pat(client, admin, "catalog:write"), pat(client, admin, "catalog:read")
    assert as_staff(client, writer, shop_model, picture("JPEG")).status_code == 200
    assert error_of(as_staff(client, reader, shop_model, data), 403) == (
        "token lacks scope catalog:write"
    )
    assert error_of(as_staff(client, moderator.auth, shop_model, data), 403) == (
        "requires role: admin"
    )
    assert error_of(as_staff(client, customer.auth, shop_model, data), 403) == (
        "requires role: admin"
    )
    assert error_of(as_staff(client, {}, shop_model, data), 401)
    assert error_of(as_staff(client, admin.auth, UNKNOWN, data), 404) == NOT_FOUND
    assert error_of(as_staff(client, admin.auth, shop_model, b"GIF89a"), 422) == NOT_AN_IMAGE

    path = f"/api/admin/models/{shop_model}/image"
    assert error_of(client.delete(path, headers=reader), 403) == "token lacks scope catalog:write"
    assert error_of(client.delete(path, headers=moderator.auth), 403) == "requires role: admin"
    removed = client.delete(path, headers=writer)
    assert removed.status_code == 200, removed.text
    assert (removed.json()["image"], removed.json()["changed"]) == (None, True)
    assert error_of(served(client, shop_model), 404) == "this model has no image"
    again = client.delete(path, headers=admin.auth)
    assert (again.json()["changed"], again.json()["position"]) == (False, 0)
    assert error_of(client.delete(f"/api/admin/models/{UNKNOWN}/image", headers=writer), 404)


def test_each_image_change_is_an_event_naming_its_actor(
    client: TestClient, customer: Account, admin: Account
) -> None:
    model_id = str(customer_model(client, customer, admin, "Audited")["id"])
    own(client, customer, model_id, picture("PNG", (5, 5)))
    as_staff(client, admin.auth, model_id, picture("JPEG", (6, 6)))
    client.delete(f"/api/admin/models/{model_id}/image", headers=admin.auth)

    events = [
        e
        for e in container_of(client).catalog.events.get(UUID(model_id))
        if "Image" in type(e).__name__
    ]
    assert [type(e).__name__ for e in events] == [
        "ModelImageSet",
        "ModelImageSet",
        "ModelImageRemoved",
    ]
    actors = [e.actor for e in events]  # type: ignore[attr-defined]
    assert actors == [f"user:{customer.id}", f"admin:{admin.id}", f"admin:{admin.id}"]
    first, second, removed = (e.__dict__ for e in events)
    assert (first["image"]["format"], first["previous"]) == ("png", None)
    assert (second["image"]["format"], second["previous"]) == ("jpeg", first["image"])
    assert removed["previous"] == second["image"]
    model = container_of(client).catalog.find(UUID(model_id), CatalogModel)
    assert model is not None and model.preview_image is None


def test_an_image_follows_its_models_visibility(
    client: TestClient, customer: Account, rival: Account, admin: Account
) -> None:
    model_id = str(staff_model(client, admin, "Visible stand")["id"])
    as_staff(client, admin.auth, model_id, picture("PNG"))
    assert served(client, model_id).status_code == 200
    assert served(client, model_id, rival.auth).status_code == 200
    moderate(client, admin, model_id, is_public=False)
    assert error_of(served(client, model_id), 404) == NOT_FOUND
    assert error_of(served(client, model_id, rival.auth), 404) == NOT_FOUND
    assert served(client, model_id, admin.auth).status_code == 200
    token = pat(client, admin, "catalog:read")
    assert error_of(served(client, model_id, token), 403) == JWT_ONLY
    assert client.delete(f"/api/admin/models/{model_id}", headers=admin.auth).status_code == 200
    assert error_of(served(client, model_id, admin.auth), 404) == NOT_FOUND
    assert error_of(as_staff(client, admin.auth, model_id, picture("PNG")), 404) == NOT_FOUND
    assert error_of(served(client, "not-an-id"), 404) == NOT_FOUND
