"""HTTP helpers of the catalog model stories: categories, staff uploads, customer shares."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.support.factories import cube_stl
from tests.support.http import CUBE_STL, Account, upload


def new_category(client: TestClient, admin: Account, name: str) -> str:
    """A fresh category's id."""
    response = client.post("/api/admin/categories", headers=admin.auth, json={"name": name})
    assert response.status_code == 201, response.text
    return str(response.json()["category"]["id"])


def post_model(
    client: TestClient,
    account: Account,
    category_id: str,
    *,
    name: str = "Desk cube",
    material: str = "PLA",
    model: tuple[str, bytes] = ("cube.stl", CUBE_STL),
    **fields: Any,
) -> httpx.Response:
    """POST /api/admin/catalog-models (multipart)."""
    form = {"name": name, "category_id": category_id, "material": material}
    form.update({k: str(v) for k, v in fields.items()})
    return client.post(
        "/api/admin/catalog-models",
        headers=account.auth,
        data=form,
        files={"model_file": (model[0], model[1], "application/octet-stream")},
    )


def upload_model(
    client: TestClient, account: Account, category_id: str, **fields: Any
) -> dict[str, Any]:
    """A staff upload that succeeded: the model, with the position it wrote."""
    response = post_model(client, account, category_id, **fields)
    assert response.status_code == 201, response.text
    body = response.json()
    return {**body["model"], "position": body["position"]}


def share_model(
    client: TestClient,
    account: Account,
    category_id: str,
    *,
    size_mm: float = 20.0,
    **fields: Any,
) -> dict[str, Any]:
    """Upload for the cart, then share it in the catalog: the shared model and position."""
    uploaded = upload(client, account, "part.stl", cube_stl(size_mm))
    assert uploaded.status_code == 201, uploaded.text
    body = {
        "session_id": uploaded.json()["session_id"],
        "name": "Shared part",
        "category_id": category_id,
        "material": "PLA",
        **fields,
    }
    response = client.post("/api/models", headers=account.auth, json=body)
    assert response.status_code == 201, response.text
    answer = response.json()
    return {**answer["model"], "position": answer["position"]}
