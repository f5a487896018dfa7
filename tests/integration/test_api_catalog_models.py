"""Story: staff fill the catalog, customers share their models, moderators decide what the
storefront shows, and the storefront lists, searches, sorts and pages what is approved.

Each test files its models under a category of its own, so lists show only its models.
"""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from tests.support.catalog_models import new_category, post_model, share_model, upload_model
from tests.support.factories import cube_stl
from tests.support.http import Account, after, error_of, upload

AUTO_APPROVE = "catalog_auto_approve_customer_models"
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def storefront(client: TestClient, position: int, **params: Any) -> dict[str, Any]:
    response = client.get("/api/catalog", params=params, headers=after(position))
    assert response.status_code == 200, response.text
    return dict(response.json())


def names(page: dict[str, Any]) -> list[str]:
    return [m["name"] for m in page["models"]]


def staff_list(client: TestClient, who: Account, position: int, **params: Any) -> dict[str, Any]:
    prefix = "/api/mod" if who.role == "moderator" else "/api/admin"
    response = client.get(
        f"{prefix}/models", params=params, headers={**who.auth, **after(position)}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_an_admin_upload_is_analysed_approved_and_listed_at_its_price(
    client: TestClient, admin: Account
) -> None:
    toys = new_category(client, admin, "Upload toys")
    made = upload_model(
        client, admin, toys, name="Fidget cube", price="199.50", color="red", notes="best seller"
    )

    assert made["status"] == "approved" and made["is_approved"] and made["is_public"]
    assert made["price"] == 199.5
    assert made["color"] == "Red"  # the material's own spelling
    assert made["mesh"]["volume_cm3"] == pytest.approx(8.0)
    assert made["mesh"]["file_format"] == "stl"
    assert made["owner_id"] == admin.id and made["owner_role"] == "admin"
    assert made["file_url"] == f"/api/models/{made['id']}/file"
    page = storefront(client, made["position"], category_id=toys)
    assert page["total"] == 1
    listed = page["models"][0]
    assert listed["name"] == "Fidget cube" and listed["likes_total"] == 0
    assert "notes" not in listed and "owner_id" not in listed  # staff's, not the storefront's
    detail = client.get(f"/api/catalog/{made['id']}")
    assert detail.status_code == 200 and detail.json()["price"] == 199.5
    assert "notes" not in detail.json()


def test_the_upload_refuses_what_it_cannot_list(client: TestClient, admin: Account) -> None:
    toys = new_category(client, admin, "Refusals")
    unknown = post_model(client, admin, UNKNOWN)
    assert error_of(unknown, 422).startswith("category_id")
    assert error_of(post_model(client, admin, "toys"), 422).startswith("category_id")
    assert "unknown material" in error_of(post_model(client, admin, toys, material="WOOD"), 422)
    assert "colour" in error_of(post_model(client, admin, toys, color="Plaid"), 422)
    assert "price" in error_of(post_model(client, admin, toys, price="1.005"), 422)
    assert "price" in error_of(post_model(client, admin, toys, price="-5"), 422)
    assert error_of(post_model(client, admin, toys, price=""), 422).startswith("price")
    not_a_mesh = post_model(client, admin, toys, model=("notes.stl", b"solid nothing here"))
    error_of(not_a_mesh, 422)
    assert storefront(client, 0, category_id=toys)["total"] == 0


def test_a_customer_shares_an_upload_and_it_waits_for_approval(
    client: TestClient, admin: Account, customer: Account, rival: Account
) -> None:
    tools = new_category(client, admin, "Shared tools")
    shared = share_model(client, customer, tools, name="Cable clip", description="Holds 3 cables")

    assert shared["status"] == "pending" and not shared["is_approved"]
    assert "notes" not in shared and "owner_id" not in shared
    assert storefront(client, shared["position"], category_id=tools)["total"] == 0
    error_of(client.get(f"/api/catalog/{shared['id']}"), 404)
    pending = staff_list(client, admin, shared["position"], status="pending", category_id=tools)
    assert [m["id"] for m in pending["models"]] == [shared["id"]]
    assert pending["models"][0]["owner_role"] == "user"

    approved = client.patch(
        f"/api/admin/models/{shared['id']}", headers=admin.auth, json={"is_approved": True}
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["model"]["status"] == "approved"
    page = storefront(client, approved.json()["position"], category_id=tools)
    assert names(page) == ["Cable clip"]


def test_a_share_is_refused_for_someone_elses_upload_or_an_unknown_category(
    client: TestClient, admin: Account, customer: Account, rival: Account
) -> None:
    tools = new_category(client, admin, "Share refusals")
    theirs = upload(client, rival, "part.stl", cube_stl()).json()["session_id"]
    body = {"session_id": theirs, "name": "Mine now", "category_id": tools, "material": "PLA"}
    error_of(client.post("/api/models", headers=customer.auth, json=body), 404)
    mine = upload(client, customer, "part.stl", cube_stl()).json()["session_id"]
    unknown = {**body, "session_id": mine, "category_id": UNKNOWN}
    assert "category_id" in error_of(
        client.post("/api/models", headers=customer.auth, json=unknown), 422
    )
    error_of(client.post("/api/models", json={**body, "session_id": mine}), 401)


def test_the_shop_setting_approves_customers_models_at_once_and_staff_always_are(
    client: TestClient, admin: Account, customer: Account, moderator: Account
) -> None:
    gifts = new_category(client, admin, "Auto gifts")
    setting = f"/api/admin/settings/{AUTO_APPROVE}"
    assert (
        client.get("/api/admin/settings", headers=admin.auth).json()["settings"][AUTO_APPROVE][
            "value"
        ]
        is False
    )
    assert client.put(setting, headers=admin.auth, json={"value": True}).status_code == 200
    try:
        assert share_model(client, customer, gifts, name="Auto")["status"] == "approved"
    finally:
        client.put(setting, headers=admin.auth, json={"value": False})
    assert share_model(client, customer, gifts, name="Reviewed")["status"] == "pending"
    assert share_model(client, moderator, gifts, name="Staff")["status"] == "approved"


def test_hiding_takes_a_model_out_of_the_storefront_and_withdrawing_approval_too(
    client: TestClient, admin: Account
) -> None:
    decor = new_category(client, admin, "Decor hide")
    vase = upload_model(client, admin, decor, name="Vase")
    path = f"/api/admin/models/{vase['id']}"

    hidden = client.patch(path, headers=admin.auth, json={"is_public": False}).json()
    assert hidden["model"]["status"] == "hidden"
    assert storefront(client, hidden["position"], category_id=decor)["total"] == 0
    error_of(client.get(f"/api/catalog/{vase['id']}", headers=after(hidden["position"])), 404)
    shown = client.patch(path, headers=admin.auth, json={"is_public": True}).json()
    assert storefront(client, shown["position"], category_id=decor)["total"] == 1
    withdrawn = client.patch(path, headers=admin.auth, json={"is_approved": False}).json()
    assert withdrawn["model"]["status"] == "pending"
    assert storefront(client, withdrawn["position"], category_id=decor)["total"] == 0
    unchanged = client.patch(path, headers=admin.auth, json={"is_approved": False})
    assert unchanged.status_code == 200  # nothing to record: the head position
    assert error_of(client.patch(path, headers=admin.auth, json={}), 422).startswith("send")
    error_of(
        client.patch(f"/api/admin/models/{UNKNOWN}", headers=admin.auth, json={"is_public": True}),
        404,
    )
    error_of(
        client.patch("/api/admin/models/junk", headers=admin.auth, json={"is_public": True}), 404
    )


def test_the_storefront_searches_every_word_as_a_prefix_within_a_category(
    client: TestClient, admin: Account
) -> None:
    parts = new_category(client, admin, "Search parts")
    other = new_category(client, admin, "Search other")
    upload_model(client, admin, parts, name="Phone stand", description="Folding desk stand")
    upload_model(client, admin, parts, name="Tablet holder", description="For the kitchen desk")
    upload_model(client, admin, parts, name="Cable clip", material="PETG")
    last = upload_model(client, admin, other, name="Phone case")["position"]

    assert names(storefront(client, last, category_id=parts, q="phone")) == ["Phone stand"]
    assert sorted(names(storefront(client, last, q="phon"))) == ["Phone case", "Phone stand"]
    assert sorted(names(storefront(client, last, category_id=parts, q="desk"))) == [
        "Phone stand",
        "Tablet holder",
    ]
    assert names(storefront(client, last, category_id=parts, q="desk, KITCHEN!")) == [
        "Tablet holder"
    ]
    assert names(storefront(client, last, category_id=parts, q="petg")) == ["Cable clip"]
    assert storefront(client, last, category_id=parts, q="spaceship")["total"] == 0
    # Only punctuation: no words to search, so no text filter.
    assert storefront(client, last, category_id=parts, q="%_*")["total"] == 3
    bad = client.get("/api/catalog", params={"q": 'phone" OR "*'})
    assert bad.status_code == 200  # search syntax is never passed through
    assert error_of(client.get("/api/catalog", params={"category_id": "toys"}), 422)
    assert error_of(client.get("/api/catalog", params={"q": "a\x00"}), 422)


def test_the_storefront_sorts_newest_popular_or_cheapest_and_pages(
    client: TestClient, admin: Account
) -> None:
    shelf = new_category(client, admin, "Sorted shelf")
    made = [
        upload_model(client, admin, shelf, name="Engine priced"),
        upload_model(client, admin, shelf, name="Cheap", price="49.99"),
        upload_model(client, admin, shelf, name="Free", price=0),
        upload_model(client, admin, shelf, name="Pricey", price=900),
    ]
    last = made[-1]["position"]
    newest = storefront(client, last, category_id=shelf)
    assert names(newest) == ["Pricey", "Free", "Cheap", "Engine priced"]
    cheapest = storefront(client, last, category_id=shelf, sort="price")
    assert names(cheapest) == ["Free", "Cheap", "Pricey", "Engine priced"]
    assert [m["price"] for m in cheapest["models"]] == [0.0, 49.99, 900.0, None]
    # Likes arrive as events from the likes feature; here the column is set as it would be.
    views = client.app.state.container.views  # type: ignore[attr-defined]
    with views.transaction() as cur:
        cur.execute("UPDATE catalog_view SET likes_total = 7 WHERE id = ?", (made[1]["id"],))
    popular = storefront(client, last, category_id=shelf, sort="popular")
    assert names(popular) == ["Cheap", "Pricey", "Free", "Engine priced"]
    assert popular["models"][0]["likes_total"] == 7

    page_two = storefront(client, last, category_id=shelf, limit=3, page=2)
    assert names(page_two) == ["Engine priced"] and page_two["total"] == 4
    assert storefront(client, last, category_id=shelf, limit=3, page=9)["models"] == []
    assert error_of(client.get("/api/catalog", params={"sort": "cheapest"}), 422)
    assert error_of(client.get("/api/catalog", params={"limit": 101}), 422)


def test_staff_list_every_model_by_status(
    client: TestClient, admin: Account, customer: Account, moderator: Account
) -> None:
    bench = new_category(client, admin, "Staff bench")
    live = upload_model(client, admin, bench, name="Live one")
    pending = share_model(client, customer, bench, name="Pending one")
    hidden = upload_model(client, admin, bench, name="Hidden one")
    position = client.patch(
        f"/api/admin/models/{hidden['id']}", headers=admin.auth, json={"is_public": False}
    ).json()["position"]

    every = staff_list(client, admin, position, category_id=bench)
    assert names(every) == ["Hidden one", "Pending one", "Live one"]
    assert every["models"][0]["notes"] == "" and "sha256" in every["models"][0]
    for status, expected in (("approved", live), ("pending", pending), ("hidden", hidden)):
        listed = staff_list(client, moderator, position, category_id=bench, status=status)
        assert [m["id"] for m in listed["models"]] == [expected["id"]], status
    assert names(staff_list(client, admin, position, q="pending")) == ["Pending one"]
    assert "status" in error_of(
        client.get("/api/admin/models", params={"status": "rejected"}, headers=admin.auth), 422
    )


def test_metadata_slugs_are_unique_and_freed_when_changed(
    client: TestClient, admin: Account, moderator: Account
) -> None:
    seo = new_category(client, admin, "Slug shelf")
    first = upload_model(client, admin, seo, name="First")
    second = upload_model(client, admin, seo, name="Second")

    def meta(who: Account, model: dict[str, Any], **body: Any) -> Any:
        prefix = "/api/mod" if who.role == "moderator" else "/api/admin"
        return client.patch(f"{prefix}/models/{model['id']}/meta", headers=who.auth, json=body)

    named = meta(admin, first, seo_title="The first", slug="First-Model")
    assert named.status_code == 200, named.text
    assert named.json()["model"]["slug"] == "first-model"
    assert named.json()["model"]["seo_title"] == "The first"
    taken = meta(moderator, second, slug="first-model")
    assert "already used" in error_of(taken, 409)
    # A description alone keeps the slug; another slug frees the first one.
    kept = meta(moderator, first, seo_description="Great for desks")
    assert kept.json()["model"]["slug"] == "first-model"
    assert kept.json()["model"]["seo_title"] == "The first"
    assert meta(admin, first, slug="renamed").status_code == 200
    assert meta(moderator, second, slug="first-model").json()["model"]["slug"] == "first-model"
    cleared = meta(admin, second, slug=None).json()
    assert cleared["model"]["slug"] is None
    assert meta(admin, first, slug="first-model").status_code == 200  # free again
    assert error_of(meta(admin, first, slug="two words"), 422).startswith("slug")
    assert error_of(meta(admin, first, seo_title="x" * 121), 422)
    listed = staff_list(client, admin, cleared["position"], category_id=seo, q="desks")
    assert names(listed) == ["First"]  # SEO text is searchable


def test_put_replaces_the_details_and_refuses_an_unknown_category(
    client: TestClient, admin: Account
) -> None:
    old = new_category(client, admin, "Put old")
    new = new_category(client, admin, "Put new")
    made = upload_model(client, admin, old, name="Old name", price=100, description="Kept")
    path = f"/api/admin/models/{made['id']}"
    body = {"name": "New name", "category_id": new, "material": "petg", "color": "blue"}

    changed = client.put(path, headers=admin.auth, json={**body, "notes": "reprint in blue"})
    assert changed.status_code == 200, changed.text
    model = changed.json()["model"]
    assert (model["name"], model["category_id"], model["material"], model["color"]) == (
        "New name",
        new,
        "PETG",
        "Blue",
    )
    assert model["price"] is None  # no price given: the cost engine prices it now
    assert model["description"] == "Kept" and model["notes"] == "reprint in blue"
    assert storefront(client, changed.json()["position"], category_id=old)["total"] == 0
    assert names(storefront(client, changed.json()["position"], category_id=new)) == ["New name"]
    priced = client.put(path, headers=admin.auth, json={**body, "price": "12.5"}).json()
    assert priced["model"]["price"] == 12.5
    unknown = client.put(path, headers=admin.auth, json={**body, "category_id": UNKNOWN})
    assert error_of(unknown, 422).startswith("category_id")
    assert error_of(client.put(path, headers=admin.auth, json={"name": "x"}), 422)
    error_of(client.put(f"/api/admin/models/{UNKNOWN}", headers=admin.auth, json=body), 404)


def test_a_category_with_models_cannot_be_deleted(client: TestClient, admin: Account) -> None:
    busy = new_category(client, admin, "Busy category")
    made = upload_model(client, admin, busy, name="Keeps it busy")
    storefront(client, made["position"])  # the view has the model
    refused = client.delete(f"/api/admin/categories/{busy}", headers=admin.auth)
    assert "1 catalog model" in error_of(refused, 409)


def test_delete_removes_the_record_and_its_file(client: TestClient, admin: Account) -> None:
    trash = new_category(client, admin, "Trash")
    made = upload_model(client, admin, trash, name="Doomed")
    container = client.app.state.container  # type: ignore[attr-defined]
    file = container.catalog_models.files.path(UUID(made["id"]))
    assert file is not None and file.exists()

    deleted = client.delete(f"/api/admin/models/{made['id']}", headers=admin.auth)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["deleted"] is True
    assert not file.exists()
    position = deleted.json()["position"]
    assert storefront(client, position, category_id=trash)["total"] == 0
    assert staff_list(client, admin, position, category_id=trash)["total"] == 0
    error_of(client.get(f"/api/catalog/{made['id']}"), 404)
    error_of(client.get(f"/api/models/{made['id']}/file", headers=admin.auth), 404)
    error_of(client.delete(f"/api/admin/models/{made['id']}", headers=admin.auth), 404)
    assert client.delete(f"/api/admin/categories/{trash}", headers=admin.auth).status_code == 200


def test_who_may_do_what(
    client: TestClient, admin: Account, moderator: Account, customer: Account
) -> None:
    racks = new_category(client, admin, "Role racks")
    made = upload_model(client, admin, racks, name="Guarded")
    model = f"/models/{made['id']}"
    admin_only = [
        ("PATCH", f"/api/admin{model}", {"is_public": True}),
        ("PUT", f"/api/admin{model}", {"name": "x", "category_id": racks, "material": "PLA"}),
        ("DELETE", f"/api/admin{model}", None),
        ("GET", "/api/admin/models", None),
        ("PATCH", f"/api/admin{model}/meta", {"seo_title": "x"}),
        ("GET", f"/api/admin{model}/download", None),
    ]
    for method, path, body in admin_only:
        assert error_of(client.request(method, path, json=body, headers=moderator.auth), 403)
        assert error_of(client.request(method, path, json=body, headers=customer.auth), 403)
        assert error_of(client.request(method, path, json=body), 401)
    refused = post_model(client, moderator, racks)
    assert error_of(refused, 403) == "requires role: admin"
    # The moderators' subset: list, metadata, download; nothing else is routed there.
    assert client.get("/api/mod/models", headers=moderator.auth).status_code == 200
    assert client.get("/api/mod/models", headers=admin.auth).status_code == 200
    assert client.get(f"/api/mod{model}/download", headers=moderator.auth).status_code == 200
    for method in ("PATCH", "PUT", "DELETE"):
        answer = client.request(method, f"/api/mod{model}", json={}, headers=moderator.auth)
        assert answer.status_code == 404, method  # no such route for moderators
    for path in ("/api/mod/models", f"/api/mod{model}/download"):
        assert error_of(client.get(path, headers=customer.auth), 403)


def pat(client: TestClient, admin: Account, *scopes: str) -> dict[str, str]:
    response = client.post(
        "/api/admin/tokens",
        headers=admin.auth,
        json={"name": f"catalog {' '.join(scopes)}", "permissions": list(scopes)},
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_personal_access_tokens_read_and_write_the_catalog_by_scope(
    client: TestClient, admin: Account
) -> None:
    racks = new_category(client, admin, "Token racks")
    made = upload_model(client, admin, racks, name="Scoped")
    path = f"/api/admin/models/{made['id']}"
    reader, writer = pat(client, admin, "catalog:read"), pat(client, admin, "catalog:write")

    listed = client.get(
        "/api/admin/models",
        params={"category_id": racks},
        headers={**reader, **after(made["position"])},
    )
    assert listed.json()["total"] == 1
    assert client.get(f"{path}/download", headers=reader).content[:5] == made_file_start(
        client, made
    )
    assert error_of(client.patch(path, headers=reader, json={"is_public": False}), 403) == (
        "token lacks scope catalog:write"
    )
    assert client.patch(path, headers=writer, json={"is_public": False}).status_code == 200
    meta = client.patch(f"{path}/meta", headers=writer, json={"slug": "scoped-model"})
    assert meta.status_code == 200
    catalog = client.app.state.container.catalog  # type: ignore[attr-defined]
    history = catalog.events.get(UUID(made["id"]))
    actors = [e.actor for e in history]
    assert actors[-1].startswith(f"admin:{admin.id}/pat:")  # the token is named in the event
    assert error_of(client.get("/api/admin/models", headers=writer), 403) == (
        "token lacks scope catalog:read"
    )
    upload_with_pat = client.post(
        "/api/admin/catalog-models",
        headers=pat(client, admin, "catalog:read", "catalog:write"),
        data={"name": "x", "category_id": racks, "material": "PLA"},
        files={"model_file": ("cube.stl", cube_stl(), "application/octet-stream")},
    )
    assert "JWT only" in error_of(upload_with_pat, 403)
    assert client.delete(path, headers=writer).status_code == 200


def made_file_start(client: TestClient, made: dict[str, Any]) -> bytes:
    """The first bytes of a model's file, as the storefront streams it."""
    return client.get(f"/api/models/{made['id']}/file", headers={"Range": "bytes=0-4"}).content


def test_two_requests_for_one_slug_at_once_give_it_to_exactly_one_model(
    client: TestClient, admin: Account, moderator: Account
) -> None:
    shelf = new_category(client, admin, "Slug race")
    models = [upload_model(client, admin, shelf, name=f"Racer {n}") for n in range(2)]
    start = threading.Barrier(2)
    answers: list[int] = []

    def take(model: dict[str, Any], who: Account) -> None:
        prefix = "/api/mod" if who.role == "moderator" else "/api/admin"
        start.wait(timeout=10)
        answer = client.patch(
            f"{prefix}/models/{model['id']}/meta", headers=who.auth, json={"slug": "race"}
        )
        answers.append(answer.status_code)

    threads = [
        threading.Thread(target=take, args=pair)
        for pair in zip(models, (admin, moderator), strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answers) == [200, 409]
    container = client.app.state.container  # type: ignore[attr-defined]
    slugs = [container.catalog_models.get(UUID(m["id"])).slug for m in models]
    assert sorted(map(str, slugs)) == ["None", "race"]
