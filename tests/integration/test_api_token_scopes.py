"""The PAT scope matrix, from the seed's API reference: every /api/admin route of the app
either names the one scope a personal access token needs, or is JWT only. Each scope alone
opens exactly the routes listed for it; /api/mod and customer routes refuse PATs.

The table is written out here from the seed (not read from the code): a new admin route
fails `test_every_admin_route_has_a_declared_rule` until it is given a line below.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from tests.support.http import Account, error_of

JWT = "JWT only"
ORDERS_READ, ORDERS_WRITE, PAYMENT_WRITE = "orders:read", "orders:write", "payment:write"
CATALOG_READ, CATALOG_WRITE, ADMIN_READ = "catalog:read", "catalog:write", "admin:read"
SCOPES = (ORDERS_READ, ORDERS_WRITE, PAYMENT_WRITE, CATALOG_READ, CATALOG_WRITE, ADMIN_READ)
JWT_ONLY = "this endpoint is JWT only; personal access tokens cannot use it"
UNKNOWN = "00000000-0000-4000-8000-000000000000"

# (method, path with ":param") -> the scope a PAT needs, or JWT only.
SEED = {
    # Dashboard & stats
    ("GET", "/api/admin/stats"): ADMIN_READ,
    ("GET", "/api/admin/cost-settings"): ADMIN_READ,
    ("POST", "/api/admin/price-preview"): ADMIN_READ,
    # Orders
    ("GET", "/api/admin/orders"): ORDERS_READ,
    ("GET", "/api/admin/orders/:id"): ORDERS_READ,
    ("GET", "/api/admin/orders/group/:group_id"): ORDERS_READ,
    ("PATCH", "/api/admin/orders/:id/status"): ORDERS_WRITE,
    ("PATCH", "/api/admin/orders/:id/tracking"): ORDERS_WRITE,
    ("PATCH", "/api/admin/orders/:id/printer"): ORDERS_WRITE,
    ("PATCH", "/api/admin/orders/:id/paid"): PAYMENT_WRITE,
    ("GET", "/api/admin/orders/:id/eligible-printers"): ORDERS_READ,
    ("GET", "/api/admin/orders/:id/slice"): ORDERS_READ,
    ("GET", "/api/admin/orders/:id/gcode"): ORDERS_READ,
    ("GET", "/api/admin/orders/:id/notes"): ORDERS_READ,
    ("POST", "/api/admin/orders/:id/notes"): ORDERS_WRITE,
    # Catalog & models
    ("GET", "/api/admin/models"): CATALOG_READ,
    ("PATCH", "/api/admin/models/:id"): CATALOG_WRITE,
    ("PATCH", "/api/admin/models/:id/meta"): CATALOG_WRITE,
    ("PUT", "/api/admin/models/:id"): CATALOG_WRITE,
    ("DELETE", "/api/admin/models/:id"): CATALOG_WRITE,
    ("POST", "/api/admin/models/:id/image"): CATALOG_WRITE,
    ("DELETE", "/api/admin/models/:id/image"): CATALOG_WRITE,
    ("GET", "/api/admin/models/:id/download"): CATALOG_READ,
    ("POST", "/api/admin/catalog-models"): JWT,
    # Print config
    ("GET", "/api/admin/printer-types"): CATALOG_READ,
    ("POST", "/api/admin/printer-types"): JWT,
    ("PUT", "/api/admin/printer-types/:id"): JWT,
    ("DELETE", "/api/admin/printer-types/:id"): JWT,
    ("GET", "/api/admin/materials"): CATALOG_READ,
    ("POST", "/api/admin/materials"): JWT,
    ("PUT", "/api/admin/materials/:id"): JWT,
    ("DELETE", "/api/admin/materials/:id"): JWT,
    ("GET", "/api/admin/categories"): CATALOG_READ,
    ("POST", "/api/admin/categories"): JWT,
    ("PUT", "/api/admin/categories/:id"): JWT,
    ("DELETE", "/api/admin/categories/:id"): JWT,
    # Settings, site content & rate limiter
    ("GET", "/api/admin/settings"): ADMIN_READ,
    ("PUT", "/api/admin/settings/:key"): JWT,
    ("GET", "/api/admin/site-info"): ADMIN_READ,
    ("GET", "/api/admin/about-info"): JWT,
    ("POST", "/api/admin/about-info"): JWT,
    ("GET", "/api/admin/company-info"): ADMIN_READ,
    ("POST", "/api/admin/company-info"): JWT,
    ("POST", "/api/admin/test-email"): JWT,
    ("GET", "/api/admin/rate-limiter"): ADMIN_READ,
    ("PUT", "/api/admin/rate-limiter"): JWT,
    # Users
    ("GET", "/api/admin/users"): ADMIN_READ,
    ("PATCH", "/api/admin/users/:id"): JWT,
    ("PATCH", "/api/admin/users/:id/verify"): JWT,
    # API tokens: all JWT only, but the logs
    ("GET", "/api/admin/tokens"): JWT,
    ("POST", "/api/admin/tokens"): JWT,
    ("PATCH", "/api/admin/tokens/:id/revoke"): JWT,
    ("DELETE", "/api/admin/tokens/:id"): JWT,
    ("POST", "/api/admin/tokens/bulk-revoke"): JWT,
    ("POST", "/api/admin/tokens/bulk-delete"): JWT,
    ("GET", "/api/admin/tokens/logs"): ADMIN_READ,
    ("GET", "/api/admin/tokens/:id/logs"): ADMIN_READ,
    # Contact inquiries: admin + moderator, no scope in the seed, so JWT only
    ("GET", "/api/admin/contact"): JWT,
    ("GET", "/api/admin/contact/:id"): JWT,
    ("POST", "/api/admin/contact/:id/reply"): JWT,
    ("PATCH", "/api/admin/contact/:id/status"): JWT,
}
# Admin routes the seed does not list: our decisions (see the routers' comments).
OURS = {
    ("GET", "/api/admin/orders/:id/history"): ORDERS_READ,  # = order detail ?as_of=
    ("GET", "/api/admin/printer-types/:id/queue"): ORDERS_READ,  # orders, by printer
    ("GET", "/api/admin/my-printers/queue"): JWT,  # a person's own printers
    ("PUT", "/api/admin/cost-settings"): JWT,  # changes prices
    ("GET", "/api/admin/cost-settings/versions"): ADMIN_READ,  # reads the cost settings
    ("GET", "/api/admin/settings/history"): ADMIN_READ,  # reads the shop settings
    ("GET", "/api/admin/csp-preview"): ADMIN_READ,  # reads the shop settings
    ("GET", "/api/admin/shipping-partners"): JWT,  # not in the seed at all
    ("POST", "/api/admin/shipping-partners"): JWT,
    ("PUT", "/api/admin/shipping-partners/:id"): JWT,
    ("DELETE", "/api/admin/shipping-partners/:id"): JWT,
    # Coupons and promos: the seed's admin UI only; pricing and site content, admin JWT only.
    ("GET", "/api/admin/coupons"): JWT,
    ("POST", "/api/admin/coupons"): JWT,
    ("GET", "/api/admin/coupons/:id"): JWT,
    ("PATCH", "/api/admin/coupons/:id"): JWT,
    ("DELETE", "/api/admin/coupons/:id"): JWT,
    ("GET", "/api/admin/promos"): JWT,
    ("POST", "/api/admin/promos"): JWT,
    ("PATCH", "/api/admin/promos/:id"): JWT,
    ("DELETE", "/api/admin/promos/:id"): JWT,
    # Payments and invoices: reading is orders:read; moving money is payment:write, the
    # scope the seed gives to marking an order paid.
    ("GET", "/api/admin/payments"): ORDERS_READ,
    ("GET", "/api/admin/payments/:id"): ORDERS_READ,
    ("POST", "/api/admin/payments/:id/reconcile"): PAYMENT_WRITE,
    ("POST", "/api/admin/payments/:id/reject"): PAYMENT_WRITE,
    ("POST", "/api/admin/payments/:id/accept"): PAYMENT_WRITE,
    ("POST", "/api/admin/payments/:id/refunds/:key/sent"): PAYMENT_WRITE,
    ("GET", "/api/admin/orders/:id/invoice"): ORDERS_READ,
    ("GET", "/api/admin/orders/group/:group_id/invoice"): ORDERS_READ,
    # Users' own contact limits: beside the shop's (settings, changed by JWT only).
    ("GET", "/api/admin/contact/limits"): JWT,
    ("GET", "/api/admin/contact/limits/:user_id"): JWT,
    ("PUT", "/api/admin/contact/limits/:user_id"): JWT,
}
_PARAM = re.compile(r"\{[^}]+\}|:[a-z_]+")


def _shape(path: str) -> str:
    """A path with every parameter as {} (the seed writes :id, the app {order_id})."""
    return _PARAM.sub("{}", path)


EXPECTED = {(m, _shape(p)): rule for (m, p), rule in {**SEED, **OURS}.items()}


def app_routes(client: TestClient) -> list[tuple[str, str]]:
    """Every (method, path) the app serves, included routers flattened."""
    routes = []
    for route in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        for method in sorted((route.methods or set()) - {"HEAD"}):
            routes.append((method, str(route.path)))
    return routes


def admin_routes(client: TestClient) -> list[tuple[str, str]]:
    return [(m, p) for m, p in app_routes(client) if p.startswith("/api/admin/")]


def call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> Any:
    """The route with unknown ids and an empty body: auth answers before either matters."""
    concrete = re.sub(r"\{[^}]+\}", UNKNOWN, path)
    body: dict[str, Any] | None = None if method in ("GET", "DELETE") else {}
    return client.request(method, concrete, json=body, headers=headers)


@pytest.fixture(scope="module")
def pats(client: TestClient, admin: Account) -> dict[str, dict[str, str]]:
    """One token per scope alone, and one with all six; each as its header."""
    made = {}
    for name, permissions in [*((s, [s]) for s in SCOPES), ("all", list(SCOPES))]:
        response = client.post(
            "/api/admin/tokens",
            json={"name": f"only {name}", "permissions": permissions},
            headers=admin.auth,
        )
        assert response.status_code == 201, response.text
        made[name] = {"Authorization": f"Bearer {response.json()['token']}"}
    return made


def test_every_admin_route_has_a_declared_rule(client: TestClient) -> None:
    routes = admin_routes(client)
    assert len(routes) > 40  # the enumeration sees included routers
    undeclared = [f"{m} {p}" for m, p in routes if (m, _shape(p)) not in EXPECTED]
    assert undeclared == [], "give these routes a PAT rule in this file (from the seed)"


def test_each_scope_alone_opens_exactly_its_routes(
    client: TestClient, admin: Account, pats: dict[str, dict[str, str]]
) -> None:
    wrong: list[str] = []
    for method, path in admin_routes(client):
        rule = EXPECTED[(method, _shape(path))]
        answer = call(client, method, path, admin.auth)
        if answer.status_code in (401, 403):
            wrong.append(f"{method} {path}: admin JWT got {answer.status_code}")
        for scope in SCOPES:
            answer = call(client, method, path, pats[scope])
            if rule == scope:
                if answer.status_code in (401, 403) or answer.status_code >= 500:
                    wrong.append(f"{method} {path}: {scope} refused ({answer.status_code})")
                continue
            reason = JWT_ONLY if rule == JWT else f"token lacks scope {rule}"
            if answer.status_code != 403 or answer.json() != {"error": reason}:
                wrong.append(f"{method} {path}: {scope} got {answer.status_code} {answer.text}")
    assert not wrong, "\n".join(wrong)


def test_jwt_only_admin_routes_refuse_even_a_token_with_every_scope(
    client: TestClient, pats: dict[str, dict[str, str]]
) -> None:
    for method, path in admin_routes(client):
        answer = call(client, method, path, pats["all"])
        if EXPECTED[(method, _shape(path))] == JWT:
            assert error_of(answer, 403) == JWT_ONLY, f"{method} {path}"
        else:
            assert answer.status_code not in (401, 403), f"{method} {path}: {answer.text}"


def test_moderator_routes_refuse_tokens(
    client: TestClient, pats: dict[str, dict[str, str]]
) -> None:
    mod = [(m, p) for m, p in app_routes(client) if p.startswith("/api/mod/")]
    assert len(mod) > 15
    for method, path in mod:
        assert error_of(call(client, method, path, pats["all"]), 403) == JWT_ONLY, path


def test_routes_outside_admin_never_take_a_token(
    client: TestClient, pats: dict[str, dict[str, str]]
) -> None:
    customer_routes = [
        ("GET", "/api/auth/me"),
        ("GET", "/api/user/orders"),
        ("GET", "/api/user/orders/{order_id}"),
        ("GET", "/api/user/profile"),
        ("POST", "/api/orgs"),
        ("POST", "/api/checkout"),
        ("POST", "/api/cart-checkout"),
        ("GET", "/api/user/orders/group/{group_id}"),
        ("POST", "/api/upload-for-cart"),
        ("POST", "/api/models/{model_id}/image"),
        ("POST", "/api/catalog/{model_id}/like"),
    ]
    for method, path in customer_routes:
        assert error_of(call(client, method, path, pats["all"]), 403) == JWT_ONLY, path
    # Every protected route outside /api/admin and /api/mod: a token gets no further than
    # nobody does (401), or is told the route is JWT only.
    for method, path in app_routes(client):
        if path.startswith(("/api/admin/", "/api/mod/")):
            continue
        if call(client, method, path, {}).status_code != 401:
            continue  # public (or answered before auth)
        answer = call(client, method, path, pats["all"])
        assert answer.status_code in (401, 403), f"{method} {path}: {answer.status_code}"
        if answer.status_code == 403:
            assert answer.json() == {"error": JWT_ONLY}, f"{method} {path}"
