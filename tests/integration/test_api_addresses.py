"""Story: a signed-in customer keeps saved delivery addresses (/api/user/addresses): adds,
lists, replaces and removes them, chooses the default checkout fills shipping from; every
address is checked against India Post's PIN directory and the state it names; nobody else
sees them, and every change is an event on the user's address-book stream naming its actor.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.addresses import address_book_id
from domain.errors import NotFound
from tests.support.http import CUBE_STL, Account, checkout, error_of, register, upload

JWT_ONLY = "this endpoint is JWT only; personal access tokens cannot use it"
PUNE = {
    "label": "Home",
    "name": "Asha Rao",
    "phone": "+91 98765 43210",
    "address": "Flat 4, Shanti Apartments\nFC Road",
    "city": "Pune",
    "state": "Maharashtra",
    "zip": "411001",
    "country": "India",
}
BENGALURU = {
    "label": "Work",
    "name": "Asha Rao",
    "address": "12 MG Road",
    "city": "Bengaluru",
    "state": "KA",
    "zip": "560 001",
}
DELHI = {"label": "Parents", "name": "R. Rao", "address": "1 Janpath", "city": "New Delhi"}


def _add(client: TestClient, account: Account, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/user/addresses", json=body, headers=account.auth)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    assert response.headers["X-Position"] == str(answer["position"])
    return answer["address"]


def _listed(client: TestClient, account: Account) -> list[dict[str, Any]]:
    response = client.get("/api/user/addresses", headers=account.auth)
    assert response.status_code == 200, response.text
    addresses: list[dict[str, Any]] = response.json()["addresses"]
    return addresses


def _default(addresses: list[dict[str, Any]]) -> str | None:
    defaults = [a["id"] for a in addresses if a["is_default"]]
    assert len(defaults) <= 1, addresses
    return defaults[0] if defaults else None


def _events(client: TestClient, account: Account) -> list[Any]:
    identity = client.app.state.container.identity  # type: ignore[attr-defined]
    return list(identity.repository.event_store.get(address_book_id(account.id)))


def test_a_customer_saves_lists_replaces_and_removes_addresses(client: TestClient) -> None:
    account = register(client, "homebody")
    assert _listed(client, account) == []

    home = _add(client, account, PUNE)
    assert home == {
        "id": home["id"],
        "label": "Home",
        "name": "Asha Rao",
        "phone": "+91 98765 43210",
        "address": "Flat 4, Shanti Apartments\nFC Road",
        "city": "Pune",
        "state": "MAHARASHTRA",
        "zip": "411001",
        "country": "IN",
        "is_default": True,  # the first address
    }
    assert len(home["id"]) == 16 and int(home["id"], 16) >= 0
    work = _add(client, account, BENGALURU)
    assert (work["state"], work["zip"], work["phone"], work["is_default"]) == (
        "KARNATAKA",
        "560001",
        "",
        False,
    )
    # No state given: the PIN's
    parents = _add(client, account, {**DELHI, "zip": "110001"})
    assert parents["state"] == "DELHI"
    assert [a["id"] for a in _listed(client, account)] == [home["id"], work["id"], parents["id"]]

    response = client.put(
        f"/api/user/addresses/{work['id']}",
        json={**BENGALURU, "label": "Office", "phone": "080 2222 1111"},
        headers=account.auth,
    )
    assert response.status_code == 200, response.text
    assert response.json()["address"]["label"] == "Office"
    assert response.json()["address"]["phone"] == "080 2222 1111"
    assert [a["label"] for a in _listed(client, account)] == ["Home", "Office", "Parents"]

    response = client.delete(f"/api/user/addresses/{parents['id']}", headers=account.auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["id"], body["deleted"]) == (parents["id"], True)
    assert [a["id"] for a in body["addresses"]] == [home["id"], work["id"]]
    assert response.headers["X-Position"] == str(body["position"])
    assert [a["id"] for a in _listed(client, account)] == [home["id"], work["id"]]


def test_the_default_moves_when_chosen_and_when_the_default_is_removed(
    client: TestClient,
) -> None:
    account = register(client, "mover")
    first = _add(client, account, PUNE)
    second = _add(client, account, BENGALURU)
    third = _add(client, account, {**DELHI, "zip": "110001"})

    response = client.patch(f"/api/user/addresses/{third['id']}/default", headers=account.auth)
    assert response.status_code == 200, response.text
    assert response.json()["address"]["is_default"] is True
    assert _default(_listed(client, account)) == third["id"]

    # Removing the default: the oldest remaining one takes over.
    response = client.delete(f"/api/user/addresses/{third['id']}", headers=account.auth)
    assert _default(response.json()["addresses"]) == first["id"]
    client.delete(f"/api/user/addresses/{first['id']}", headers=account.auth)
    assert _default(_listed(client, account)) == second["id"]
    client.delete(f"/api/user/addresses/{second['id']}", headers=account.auth)
    assert _listed(client, account) == []


def test_every_change_is_an_event_naming_the_customer(client: TestClient) -> None:
    account = register(client, "audited")
    first = _add(client, account, PUNE)
    second = _add(client, account, BENGALURU)
    client.put(f"/api/user/addresses/{first['id']}", json=BENGALURU, headers=account.auth)
    client.patch(f"/api/user/addresses/{second['id']}/default", headers=account.auth)
    client.delete(f"/api/user/addresses/{second['id']}", headers=account.auth)

    events = _events(client, account)
    assert [type(e).__name__ for e in events] == [
        "Opened",
        "AddressAdded",
        "DefaultChosen",
        "AddressAdded",
        "AddressReplaced",
        "DefaultChosen",
        "AddressRemoved",
        "DefaultChosen",
    ]
    assert {e.actor for e in events} == {f"user:{account.id}"}
    assert events[4].previous["city"] == "Pune" and events[4].fields["city"] == "Bengaluru"


def test_the_profile_shows_the_addresses(client: TestClient) -> None:
    account = register(client, "profiled")
    assert client.get("/api/user/profile", headers=account.auth).json()["addresses"] == []
    saved = _add(client, account, PUNE)

    response = client.get("/api/user/profile", headers=account.auth)
    assert response.status_code == 200, response.text
    assert response.json()["addresses"] == [saved]
    patched = client.patch("/api/user/profile", json={"display_name": "Asha"}, headers=account.auth)
    assert patched.json()["addresses"] == [saved]


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"zip": "999999"}, "zip: unknown PIN code 999999"),
        ({"state": "Karnataka"}, "zip: PIN 411001 is in MAHARASHTRA, not KARNATAKA"),
        ({"zip": "560001"}, "zip: PIN 560001 is in KARNATAKA, not MAHARASHTRA"),
        ({"zip": "4110"}, "zip must be a 6-digit Indian PIN code"),
        ({"state": "Atlantis"}, "state: unknown state or union territory 'Atlantis'"),
        ({"country": "United States"}, "country: we deliver within India only (IN)"),
        ({"name": "  "}, "name: required"),
        ({"city": ""}, "city: required"),
        ({"phone": "12345"}, "phone: a 10-digit Indian mobile or landline number"),
        ({"address": "x" * 501}, "address"),
        ({"label": "tab\there"}, "label: control characters are not allowed"),
    ],
)
def test_an_address_that_cannot_be_delivered_to_is_refused(
    client: TestClient, customer: Account, changes: dict[str, Any], complaint: str
) -> None:
    before = _listed(client, customer)
    response = client.post("/api/user/addresses", json={**PUNE, **changes}, headers=customer.auth)
    assert complaint in error_of(response, 422)
    assert _listed(client, customer) == before


def test_a_missing_field_is_refused(client: TestClient, customer: Account) -> None:
    body = {k: v for k, v in PUNE.items() if k != "zip"}
    assert "zip" in error_of(
        client.post("/api/user/addresses", json=body, headers=customer.auth), 422
    )


def test_a_replacement_is_checked_like_a_new_address(client: TestClient) -> None:
    account = register(client, "replacer")
    saved = _add(client, account, PUNE)
    response = client.put(
        f"/api/user/addresses/{saved['id']}",
        json={**PUNE, "state": "Goa"},
        headers=account.auth,
    )
    assert error_of(response, 422) == "zip: PIN 411001 is in MAHARASHTRA, not GOA"
    assert _listed(client, account) == [saved]


def test_the_multi_line_street_keeps_its_lines(client: TestClient) -> None:
    account = register(client, "multiline")
    saved = _add(client, account, {**PUNE, "address": "Flat 4\r\n  FC Road \n\nShivajinagar"})
    assert saved["address"] == "Flat 4\nFC Road\nShivajinagar"


def test_a_book_holds_twenty_addresses(client: TestClient) -> None:
    account = register(client, "collector")
    for n in range(20):
        _add(client, account, {**PUNE, "label": f"Place {n}"})

    response = client.post("/api/user/addresses", json=PUNE, headers=account.auth)
    assert "at most 20 saved addresses" in error_of(response, 422)
    assert len(_listed(client, account)) == 20


def test_another_customers_address_is_not_found(
    client: TestClient, customer: Account, rival: Account
) -> None:
    theirs = _add(client, rival, PUNE)
    mine = _add(client, customer, BENGALURU)
    path = f"/api/user/addresses/{theirs['id']}"

    assert error_of(client.put(path, json=PUNE, headers=customer.auth), 404) == (
        "address not found"
    )
    assert error_of(client.delete(path, headers=customer.auth), 404) == "address not found"
    assert error_of(client.patch(f"{path}/default", headers=customer.auth), 404) == (
        "address not found"
    )
    assert theirs["id"] not in [a["id"] for a in _listed(client, customer)]
    assert mine["id"] not in [a["id"] for a in _listed(client, rival)]
    assert _listed(client, rival) == [theirs]  # untouched
    # An unknown id, and one for a user who never saved any
    newcomer = register(client, "newcomer")
    for account in (customer, newcomer):
        response = client.delete("/api/user/addresses/0123456789abcdef", headers=account.auth)
        assert error_of(response, 404) == "address not found"


def test_anonymous_callers_are_refused(client: TestClient) -> None:
    for method, path in [
        ("GET", "/api/user/addresses"),
        ("POST", "/api/user/addresses"),
        ("PUT", "/api/user/addresses/0123456789abcdef"),
        ("DELETE", "/api/user/addresses/0123456789abcdef"),
        ("PATCH", "/api/user/addresses/0123456789abcdef/default"),
    ]:
        body = PUNE if method in ("POST", "PUT") else None
        error_of(client.request(method, path, json=body), 401)


def test_a_personal_access_token_is_refused(client: TestClient, admin: Account) -> None:
    response = client.post(
        "/api/admin/tokens",
        json={"name": "addresses", "permissions": ["orders:read", "admin:read"]},
        headers=admin.auth,
    )
    assert response.status_code == 201, response.text
    pat = {"Authorization": f"Bearer {response.json()['token']}"}

    assert error_of(client.get("/api/user/addresses", headers=pat), 403) == JWT_ONLY
    response = client.post("/api/user/addresses", json=PUNE, headers=pat)
    assert error_of(response, 403) == JWT_ONLY
    # while the admin, signed in, keeps their own addresses like anyone
    assert _add(client, admin, PUNE)["is_default"] is True


def test_checkout_fills_shipping_from_the_default_or_a_chosen_address(
    client: TestClient,
) -> None:
    account = register(client, "shipper")
    addresses = client.app.state.container.addresses  # type: ignore[attr-defined]
    with pytest.raises(NotFound, match="no saved address"):
        addresses.for_checkout(account.id, None)

    home = _add(client, account, PUNE)
    work = _add(client, account, BENGALURU)

    assert addresses.for_checkout(account.id, None) == {
        "name": "Asha Rao",
        "phone": "+91 98765 43210",
        "address": "Flat 4, Shanti Apartments\nFC Road",
        "city": "Pune",
        "state": "MAHARASHTRA",
        "zip": "411001",
    }
    assert addresses.for_checkout(account.id, work["id"])["zip"] == "560001"
    assert home["id"] != work["id"]
    with pytest.raises(NotFound, match="address not found"):
        addresses.for_checkout(account.id, "ffffffffffffffff")


def test_concurrent_first_addresses_are_all_kept_with_one_default(client: TestClient) -> None:
    account = register(client, "racer")
    addresses = client.app.state.container.addresses  # type: ignore[attr-defined]

    def add(n: int) -> dict[str, Any]:
        address, _ = addresses.add(
            account.id, {**PUNE, "label": f"Race {n}"}, actor=f"user:{account.id}"
        )
        return dict(address)

    with ThreadPoolExecutor(max_workers=3) as pool:
        added = list(pool.map(add, range(3)))

    listed = _listed(client, account)
    assert sorted(a["id"] for a in listed) == sorted(a["id"] for a in added)
    assert _default(listed) is not None
    names = [type(e).__name__ for e in _events(client, account)]
    assert names.count("Opened") == 1 and names.count("DefaultChosen") == 1


def test_a_cart_and_a_checkout_ship_to_a_saved_address(client: TestClient) -> None:
    account = register(client, "addressee")
    home = _add(client, account, PUNE)
    work = _add(client, account, BENGALURU)
    session = upload(client, account, "part.stl", CUBE_STL).json()["session_id"]
    item = {"session_id": session, "material": "PLA", "qty": 1, "infill": 20}

    def cart(**shared: Any) -> Any:
        body = {"items": [item], "fulfillment": "shipping", **shared}
        return client.post("/api/cart-checkout", headers=account.auth, json=body)

    placed = cart(address_id=work["id"])
    assert placed.status_code == 201, placed.text
    shipped = placed.json()["orders"][0]["shipping_address"]
    assert (shipped["city"], shipped["zip"], shipped["state"]) == (
        "Bengaluru",
        "560001",
        "KARNATAKA",
    )
    default = cart(address_id="default").json()["orders"][0]["shipping_address"]
    assert default["zip"] == home["zip"]
    assert "not both" in error_of(cart(address_id=work["id"], shipping_city="Pune"), 422)
    error_of(cart(address_id="ffffffffffffffff"), 404)
    pickup = client.post(
        "/api/cart-checkout",
        headers=account.auth,
        json={"items": [item], "fulfillment": "pickup", "address_id": home["id"]},
    )
    assert "shipping orders" in error_of(pickup, 422)
    single = checkout(client, account, fulfillment="shipping", address_id=home["id"])
    assert single.status_code == 201, single.text
    assert single.json()["order"]["shipping_address"]["zip"] == "411001"
