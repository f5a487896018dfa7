"""Story: customers like catalog models; the count is exact, however many like at once.

Each toggle is an event on the customer's own like stream; the counts are projections
(the likes view, and the catalog view's likes_total behind sort=popular), and the toggle
answers the count once the likes view has folded it. Rebuilding the views from the log
gives the same counts.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi.testclient import TestClient

from domain.model_media import like_id_for
from infra.bootstrap import Container
from tests.support.http import (
    Account,
    after,
    app_settings,
    error_of,
    register,
    running_app,
    staff,
)
from tests.support.model_media import customer_model, moderate, staff_model

JWT_ONLY = "this endpoint is JWT only; personal access tokens cannot use it"
NOT_FOUND = "catalog model not found"
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def like(client: TestClient, account: Account, model_id: str) -> httpx.Response:
    return client.post(f"/api/catalog/{model_id}/like", headers=account.auth)


def liked(client: TestClient, account: Account, model_id: str) -> dict[str, Any]:
    response = like(client, account, model_id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert response.headers["X-Position"] == str(body["position"])
    return dict(body)


def catalog_likes(client: TestClient, model_id: str, position: int) -> int:
    response = client.get(f"/api/catalog/{model_id}", headers=after(position))
    assert response.status_code == 200, response.text
    return int(response.json()["likes_total"])


def container_of(client: TestClient) -> Container:
    return client.app.state.container  # type: ignore[attr-defined,no-any-return]


def at_once(count: int, action: Any) -> list[Any]:
    """action(i) for i in range(count), all released together from a barrier."""
    start = threading.Barrier(count)
    answers: list[Any] = [None] * count

    def run(index: int) -> None:
        start.wait()
        answers[index] = action(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


@pytest.fixture(scope="module")
def listed(client: TestClient, admin: Account) -> str:
    return str(staff_model(client, admin, "Likeable lamp")["id"])


def test_a_like_toggles_and_answers_the_exact_count(
    client: TestClient, customer: Account, rival: Account, listed: str
) -> None:
    first = liked(client, customer, listed)
    assert (first["liked"], first["total_likes"]) == (True, 1)
    second = liked(client, rival, listed)
    assert (second["liked"], second["total_likes"]) == (True, 2)
    undo = liked(client, customer, listed)
    assert (undo["liked"], undo["total_likes"]) == (False, 1)
    assert undo["position"] > second["position"] > first["position"]
    assert catalog_likes(client, listed, undo["position"]) == 1
    again = liked(client, customer, listed)
    assert (again["liked"], again["total_likes"]) == (True, 2)
    assert catalog_likes(client, listed, again["position"]) == 2


def test_likes_need_a_signed_in_customer(client: TestClient, admin: Account, listed: str) -> None:
    assert error_of(client.post(f"/api/catalog/{listed}/like"), 401) == "missing bearer token"
    token = client.post(
        "/api/admin/tokens",
        headers=admin.auth,
        json={"name": "likes", "permissions": ["catalog:write", "catalog:read"]},
    ).json()["token"]
    pat = {"Authorization": f"Bearer {token}"}
    assert error_of(client.post(f"/api/catalog/{listed}/like", headers=pat), 403) == JWT_ONLY
    bad = {"Authorization": "Bearer not-a-token"}
    assert error_of(client.post(f"/api/catalog/{listed}/like", headers=bad), 401)


def test_only_listed_models_can_be_liked(
    client: TestClient, customer: Account, rival: Account, admin: Account
) -> None:
    for junk in ("not-an-id", UNKNOWN, "1"):
        assert error_of(like(client, customer, junk), 404) == NOT_FOUND
    pending = str(customer_model(client, customer, admin, "Pending hook")["id"])
    assert error_of(like(client, customer, pending), 404) == NOT_FOUND  # its owner too
    assert error_of(like(client, rival, pending), 404) == NOT_FOUND
    moderate(client, admin, pending, is_approved=True)
    assert liked(client, rival, pending)["total_likes"] == 1
    moderate(client, admin, pending, is_public=False)  # hidden: out of the storefront
    assert error_of(like(client, rival, pending), 404) == NOT_FOUND
    moderate(client, admin, pending, is_public=True)
    unliked = liked(client, rival, pending)
    assert (unliked["liked"], unliked["total_likes"]) == (False, 0)
    deleted = client.delete(f"/api/admin/models/{pending}", headers=admin.auth)
    assert deleted.status_code == 200, deleted.text
    assert error_of(like(client, rival, pending), 404) == NOT_FOUND


def test_many_customers_liking_at_once_are_all_counted_and_survive_a_rebuild(
    client: TestClient, admin: Account
) -> None:
    model = str(staff_model(client, admin, "Crowd favourite")["id"])
    quiet = str(staff_model(client, admin, "Quiet one")["id"])
    crowd = [register(client, f"fan{i}") for i in range(10)]

    answers = at_once(len(crowd), lambda i: like(client, crowd[i], model))

    assert [a.status_code for a in answers] == [200] * len(crowd), [a.text for a in answers]
    bodies = [a.json() for a in answers]
    assert all(b["liked"] for b in bodies)
    # The answer written last counts every like; each counts at least those before it.
    last = max(bodies, key=lambda b: b["position"])
    assert last["total_likes"] == max(b["total_likes"] for b in bodies) == len(crowd)
    for body in bodies:
        earlier = sum(1 for other in bodies if other["position"] <= body["position"])
        assert body["total_likes"] >= earlier
    assert catalog_likes(client, model, last["position"]) == len(crowd)
    popular = client.get("/api/catalog", params={"sort": "popular", "limit": 100}).json()
    ids = [m["id"] for m in popular["models"]]
    assert ids.index(model) < ids.index(quiet)

    runners = container_of(client).projections
    for name in ("model_likes", "catalog"):
        runners[name].rebuild()
    assert catalog_likes(client, model, last["position"]) == len(crowd)
    with container_of(client).views.reading() as cur:
        cur.execute("SELECT likes_total FROM model_likes WHERE model_id = ?", (model,))
        assert cur.fetchone()[0] == len(crowd)
    unlike = liked(client, crowd[0], model)
    assert (unlike["liked"], unlike["total_likes"]) == (False, len(crowd) - 1)


def test_a_double_click_ends_in_a_consistent_state(client: TestClient, admin: Account) -> None:
    model = str(staff_model(client, admin, "Double clicked")["id"])
    clicker = register(client, "clicker")
    for _ in range(3):
        answers = at_once(2, lambda _: like(client, clicker, model))
        assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
        first, second = sorted((a.json() for a in answers), key=lambda b: b["position"])
        # Both clicks applied, one after the other: liked, then unliked again.
        assert (first["liked"], second["liked"]) == (True, False)
        assert second["total_likes"] == 0
    # The customer's like stream (its id made of the model's and the customer's).
    events = container_of(client).catalog.events.get(like_id_for(UUID(model), UUID(clicker.id)))
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["LikeStarted", *["Liked", "Unliked"] * 3]
    assert all(e.actor == f"user:{clicker.id}" for e in events)  # type: ignore[attr-defined]
    final = liked(client, clicker, model)
    assert (final["liked"], final["total_likes"]) == (True, 1)
    assert catalog_likes(client, model, final["position"]) == 1


def test_a_lagging_likes_view_still_answers_with_the_callers_own_toggle(
    tmp_path: Path,
) -> None:
    # Not a 503: the toggle is saved, and a client retrying it would undo it.
    with running_app(app_settings(tmp_path, read_wait_seconds=0.3)) as client:
        admin = staff(client, "admin", "boss")
        fan = register(client, "fan")
        model = str(staff_model(client, admin, "Lagging")["id"])
        container_of(client).projections["model_likes"].stop()  # its follower is down

        assert liked(client, fan, model)["total_likes"] == 1
        with container_of(client).views.reading() as cur:
            cur.execute("SELECT COUNT(*) FROM model_likes")
            assert cur.fetchone()[0] == 0  # the view has not folded it
        undo = liked(client, fan, model)  # the view has neither of the fan's toggles
        assert (undo["liked"], undo["total_likes"]) == (False, 0)
        other = register(client, "other")
        assert liked(client, other, model)["total_likes"] == 1
        again = liked(client, fan, model)
        assert (again["liked"], again["total_likes"]) == (True, 1)  # the view's 0 + the fan
