"""Catalog models to put images on and to like, made over HTTP, and images made with Pillow."""

from __future__ import annotations

import io
from typing import Any

from fastapi.testclient import TestClient
from PIL import Image

from tests.support.http import CUBE_STL, Account, upload


def a_category(client: TestClient, admin: Account) -> str:
    """The id of a category the shop has (one is made when there is none)."""
    categories = client.get("/api/categories").json()["categories"]
    if categories:
        return str(categories[0]["id"])
    made = client.post("/api/admin/categories", headers=admin.auth, json={"name": "Gadgets"})
    assert made.status_code == 201, made.text
    return str(made.json()["category"]["id"])


def staff_model(client: TestClient, admin: Account, name: str = "Phone stand") -> dict[str, Any]:
    """A model an admin uploaded: approved and public at once (listed)."""
    response = client.post(
        "/api/admin/catalog-models",
        headers=admin.auth,
        data={"name": name, "category_id": a_category(client, admin), "material": "PLA"},
        files={"model_file": ("stand.stl", CUBE_STL, "application/octet-stream")},
    )
    assert response.status_code == 201, response.text
    return {**response.json()["model"], "position": response.json()["position"]}


def customer_model(
    client: TestClient, owner: Account, admin: Account, name: str = "Desk hook"
) -> dict[str, Any]:
    """A model a customer shared from an upload: waiting for approval (not listed)."""
    session = upload(client, owner, "hook.stl", CUBE_STL)
    assert session.status_code == 201, session.text
    response = client.post(
        "/api/models",
        headers=owner.auth,
        json={
            "session_id": session.json()["session_id"],
            "name": name,
            "category_id": a_category(client, admin),
            "material": "PLA",
        },
    )
    assert response.status_code == 201, response.text
    return {**response.json()["model"], "position": response.json()["position"]}


def moderate(client: TestClient, admin: Account, model_id: str, **flags: bool) -> int:
    """Approve, withdraw, show or hide a model; the position written."""
    response = client.patch(f"/api/admin/models/{model_id}", headers=admin.auth, json=flags)
    assert response.status_code == 200, response.text
    return int(response.json()["position"])


def picture(fmt: str = "PNG", size: tuple[int, int] = (64, 48), **options: Any) -> bytes:
    """A small picture in this format, made here."""
    out = io.BytesIO()
    Image.new("RGB", size, (200, 60, 20)).save(out, fmt, **options)
    return out.getvalue()
