"""Story: a customer orders a model from the catalog instead of uploading one: at the
model's fixed price when it has one, else priced by the cost engine from its geometry.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient

from application.price_preview import PricePreview
from tests.support.catalog_models import new_category, share_model, upload_model
from tests.support.http import Account, checkout, error_of, place_order


def catalog_order(
    client: TestClient, account: Account, model: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    return place_order(client, account, model=None, catalog_model_id=model["id"], **fields)


def test_a_fixed_price_is_charged_per_copy_with_gst_on_top(
    client: TestClient, admin: Account, customer: Account
) -> None:
    stand = upload_model(client, admin, new_category(client, admin, "Fixed"), price="199.50")

    order = catalog_order(client, customer, stand, quantity=2, infill=60)

    price = order["price"]
    assert price["pre_tax_total"] == 399.0 and price["unit_price"] == 199.5
    assert price["gst"] == 71.82 and price["total"] == 470.82
    assert price["material_cost"] + price["printing_cost"] == 399.0
    assert order["model"]["catalog_model_id"] == stand["id"]
    assert order["model"]["sha256"] == stand["sha256"]
    staff_view = client.get(f"/api/admin/orders/{order['id']}", headers=admin.auth).json()
    assert staff_view["price"]["catalog_unit_price"] == 199.5
    # The price recomputes to the paisa from the order's events (the audit check).
    container = client.app.state.container  # type: ignore[attr-defined]
    stored = container.ordering.get_order(UUID(order["id"]))
    assert PricePreview(container.catalog).reprice(stored).to_dict() == stored.price
    assert stored.price["catalog_unit_price_paise"] == 19950


def test_without_a_price_the_cost_engine_prices_the_models_geometry(
    client: TestClient, admin: Account, customer: Account
) -> None:
    cube = upload_model(client, admin, new_category(client, admin, "Engine"))

    from_catalog = catalog_order(client, customer, cube, quantity=3, material="PETG")
    uploaded = place_order(client, customer, quantity=3, material="PETG")  # the same 20 mm cube

    assert from_catalog["price"] == uploaded["price"]
    assert from_catalog["price"]["material"] == "PETG"
    assert "catalog_unit_price" not in from_catalog["price"]


def test_only_a_listed_model_or_your_own_can_be_ordered(
    client: TestClient, admin: Account, customer: Account, rival: Account
) -> None:
    shared = share_model(client, customer, new_category(client, admin, "Own orders"))

    mine = catalog_order(client, customer, shared)
    assert mine["model"]["catalog_model_id"] == shared["id"]
    refused = checkout(client, rival, model=None, catalog_model_id=shared["id"])
    assert error_of(refused, 404) == "catalog model not found"
    error_of(checkout(client, rival, model=None, catalog_model_id="not-an-id"), 404)
    error_of(checkout(client, rival, model=None, catalog_model_id=str(UUID(int=7))), 404)


def test_a_checkout_names_exactly_one_model(
    client: TestClient, admin: Account, customer: Account
) -> None:
    cube = upload_model(client, admin, new_category(client, admin, "One model"))

    both = checkout(client, customer, catalog_model_id=cube["id"])  # and the default file
    assert "not two" in error_of(both, 422)
    with_session = checkout(
        client, customer, model=None, catalog_model_id=cube["id"], session_id="x" * 32
    )
    assert "not two" in error_of(with_session, 422)
    assert error_of(checkout(client, customer, model=None, catalog_model_id=""), 422).startswith(
        "catalog_model_id"
    )


def test_a_retry_returns_the_same_order_and_orders_outlive_their_model(
    client: TestClient, admin: Account, customer: Account
) -> None:
    doomed = upload_model(client, admin, new_category(client, admin, "Outlive"), price=50)
    first = checkout(client, customer, model=None, catalog_model_id=doomed["id"], key="cat-1")
    again = checkout(client, customer, model=None, catalog_model_id=doomed["id"], key="cat-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["order"]["id"] == first.json()["order"]["id"]

    assert client.delete(f"/api/admin/models/{doomed['id']}", headers=admin.auth).status_code == 200
    container = client.app.state.container  # type: ignore[attr-defined]
    sha = doomed["sha256"]
    kept = Path(container.settings.data_dir) / "models" / sha[:2] / sha
    assert kept.is_file()  # the order's own copy
    error_of(checkout(client, customer, model=None, catalog_model_id=doomed["id"]), 404)
    order = client.get(f"/api/user/orders/{first.json()['order']['id']}", headers=customer.auth)
    assert order.json()["price"]["total"] == float(Decimal("50") * 2 * Decimal("1.18"))
