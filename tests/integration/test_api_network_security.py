"""Story: an admin locks the storefront API to the shop's own origins, live, and sees the
Content-Security-Policy every HTML answer carries.

Off (the seed's default), every origin may call /api/* from a browser. The admin lists the
shop's origins (an invalid line is 422 naming it) and turns enforcement on: listed origins
keep working, any other origin's preflight is 403 and its other requests get no CORS
headers, while /api/v1/* stays open to everyone. No restart: the next requests apply it.
The docs, the crawlers' product page and any other HTML answer carry a policy built by one
builder with the admin's extra sources, and the preview shows exactly the headers sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import httpx
import pytest
from fastapi.testclient import TestClient

from api import csp
from api.cors import ALLOW_HEADERS, CurrentNetwork
from domain.shop.network import NetworkSecurity
from tests.support.http import Account, error_of

SHOP = "https://shop.example.com"
DEV = "http://localhost:5173"
STRANGER = "https://evil.example"
PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": ""}
APPLIED_WITHIN = 2.0  # seconds: the bound, in every process


def eventually(check: Callable[[], bool], seconds: float = APPLIED_WITHIN) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not applied in time"
        time.sleep(0.05)


def put(client: TestClient, admin: Account, key: str, value: Any) -> httpx.Response:
    return client.put(f"/api/admin/settings/{key}", headers=admin.auth, json={"value": value})


def preflight(client: TestClient, origin: str, path: str = "/api/materials") -> httpx.Response:
    headers = {**PREFLIGHT, "Origin": origin}
    headers["Access-Control-Request-Headers"] = "authorization, content-type"
    return client.options(path, headers=headers)


def configure(client: TestClient, admin: Account, *, origins: str, enforced: bool) -> None:
    """Store the allowlist and the toggle, and wait until the middleware applies them."""
    for key, value in (("cors_allowed_origins", origins), ("cors_enforced", enforced)):
        assert put(client, admin, key, value).status_code == 200
    eventually(lambda: (preflight(client, "https://probe.invalid").status_code == 403) == enforced)


@pytest.fixture
def enforced(client: TestClient, admin: Account) -> Iterator[None]:
    """Enforcement on with the shop and a developer's origin listed; off again afterwards."""
    configure(client, admin, origins=f"{SHOP}/\n\n{DEV}", enforced=True)
    yield
    configure(client, admin, origins="", enforced=False)


# --- CORS -----------------------------------------------------------------------------------


def test_with_enforcement_off_every_origin_is_allowed(client: TestClient, admin: Account) -> None:
    configure(client, admin, origins="", enforced=False)
    answer = preflight(client, STRANGER)
    assert answer.status_code == 204, answer.text
    assert answer.headers["access-control-allow-origin"] == STRANGER
    assert answer.headers["access-control-allow-headers"] == ALLOW_HEADERS
    assert "PATCH" in answer.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in answer.headers  # bearer tokens, no cookies
    assert "Origin" in answer.headers["vary"]

    read = client.get("/api/materials", headers={"Origin": STRANGER})
    assert read.status_code == 200
    assert read.headers["access-control-allow-origin"] == STRANGER
    assert "x-position" in read.headers["access-control-expose-headers"]
    assert read.headers["vary"] == "Origin"

    same_site = client.get("/api/materials")  # no Origin: not a CORS request at all
    assert "access-control-allow-origin" not in same_site.headers
    assert same_site.headers["vary"] == "Origin"  # a cache must not reuse it for an origin


@pytest.mark.usefixtures("enforced")
def test_with_enforcement_on_only_listed_origins_are_allowed(
    client: TestClient, customer: Account
) -> None:
    for origin in (SHOP, DEV):
        answer = preflight(client, origin)
        assert answer.status_code == 204, (origin, answer.text)
        assert answer.headers["access-control-allow-origin"] == origin
        read = client.get("/api/user/orders", headers={**customer.auth, "Origin": origin})
        assert read.status_code == 200
        assert read.headers["access-control-allow-origin"] == origin
        # A refusal is readable too: the page can show its {"error": ...}.
        unsigned = client.get("/api/user/orders", headers={"Origin": origin})
        assert unsigned.status_code == 401
        assert unsigned.headers["access-control-allow-origin"] == origin

    for origin in (STRANGER, "null", "https://shop.example.com:8443", "http://shop.example.com"):
        message = error_of(preflight(client, origin), 403)
        assert f"origin {origin} may not call this API" in message
        assert "access-control-allow-origin" not in preflight(client, origin).headers
        # Served (bearer tokens make it no CSRF), but without CORS headers the browser
        # keeps the answer from the page.
        read = client.get("/api/user/orders", headers={**customer.auth, "Origin": origin})
        assert read.status_code == 200
        assert "access-control-allow-origin" not in read.headers
        assert read.headers["vary"] == "Origin"


@pytest.mark.usefixtures("enforced")
def test_the_developer_api_keeps_its_open_cors(client: TestClient) -> None:
    answer = client.options("/api/v1/dfm/analyze", headers={**PREFLIGHT, "Origin": STRANGER})
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == "*"
    keyless = client.post("/api/v1/dfm/analyze", headers={"Origin": STRANGER})
    assert keyless.status_code == 401
    assert keyless.headers["access-control-allow-origin"] == "*"
    # Outside /api the storefront's CORS does not apply: a page is no API.
    assert (
        "access-control-allow-origin"
        not in client.get("/robots.txt", headers={"Origin": STRANGER}).headers
    )


@pytest.mark.usefixtures("enforced")
def test_a_body_refused_before_routing_still_carries_cors(client: TestClient) -> None:
    big = client.post(
        "/api/auth/login",
        headers={"Origin": SHOP, "Content-Type": "application/json"},
        content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
    )
    assert big.status_code == 413
    assert big.headers["access-control-allow-origin"] == SHOP


def test_an_invalid_origin_line_is_422_naming_the_line(client: TestClient, admin: Account) -> None:
    before = put(client, admin, "cors_allowed_origins", SHOP).json()["value"]
    cases = {
        f"{SHOP}\nftp://files.example.com": 'line 2 ("ftp://files.example.com")',
        f"{SHOP}\n\n{SHOP}/store": f'line 3 ("{SHOP}/store")',
        "https://*.example.com": "wildcards are not allowed",
        f"{DEV}\r\nhttps://user@shop.example.com": "line 2",
    }
    for text, named in cases.items():
        message = error_of(put(client, admin, "cors_allowed_origins", text), 422)
        assert message.startswith("cors_allowed_origins: "), message
        assert named in message, message
    error_of(put(client, admin, "cors_allowed_origins", f"{SHOP}\n\x00"), 422)  # control char
    error_of(put(client, admin, "cors_enforced", "yes"), 422)
    current = client.get("/api/admin/settings", headers=admin.auth).json()["settings"]
    assert current["cors_allowed_origins"]["value"] == before == SHOP


def test_each_change_is_in_the_settings_history_with_its_admin(
    client: TestClient, admin: Account
) -> None:
    put(client, admin, "cors_allowed_origins", "")
    assert (
        put(client, admin, "cors_allowed_origins", f"HTTPS://Shop.Example.com/\n{DEV}").json()[
            "value"
        ]
        == f"{SHOP}\n{DEV}"
    )
    changes = client.get("/api/admin/settings/history", headers=admin.auth).json()["changes"]
    last = [c for c in changes if c["key"] == "cors_allowed_origins"][-1]
    assert (last["previous"], last["value"]) == ("", f"{SHOP}\n{DEV}")
    assert last["actor"] == f"admin:{admin.id}"


def test_an_unreadable_store_keeps_the_settings_in_hand() -> None:
    class Broken:
        def value(self, key: str) -> Any:
            raise OSError("database away")

    class Container:
        shop = Broken()

    async def read_twice() -> tuple[NetworkSecurity, NetworkSecurity]:
        network = CurrentNetwork()
        first = await network.get(Container())  # type: ignore[arg-type]
        network.forget()
        return first, await network.get(Container())  # type: ignore[arg-type]

    first, second = anyio.run(read_twice)
    assert first == second == NetworkSecurity()  # the seed's default: every origin allowed


# --- CSP ------------------------------------------------------------------------------------


def test_html_answers_carry_a_policy_and_json_answers_none(client: TestClient) -> None:
    for path in ("/docs", "/redoc", "/product/no-such-model"):
        page = client.get(path)
        assert page.headers["content-type"].startswith("text/html"), path
        policy = csp.parse(page.headers["content-security-policy"])
        assert policy["frame-ancestors"] == ("'none'",), path
        assert "'unsafe-eval'" not in page.headers["content-security-policy"]
    docs = csp.parse(client.get("/docs").headers["content-security-policy"])
    # Swagger UI's inline script runs by its hash, not by 'unsafe-inline'.
    assert docs["script-src"][0] == "'self'" and docs["script-src"][1].startswith("'sha256-")
    assert len(docs["script-src"]) == 2
    product = csp.parse(client.get("/product/no-such-model").headers["content-security-policy"])
    assert product["default-src"] == ("'none'",)  # the crawlers' page runs nothing
    assert "content-security-policy" not in client.get("/api/materials").headers


def test_the_preview_is_the_headers_sent_and_extra_sources_only_add(
    client: TestClient, admin: Account
) -> None:
    sources = {"img-src": ["https://cdn.example.com"], "script-src": ["https://js.example.com"]}
    assert put(client, admin, "csp_extra_sources", sources).status_code == 200
    try:
        docs = lambda: client.get("/docs").headers["content-security-policy"]  # noqa: E731
        eventually(lambda: "https://js.example.com" in docs())
        preview = client.get("/api/admin/csp-preview", headers=admin.auth).json()
        assert preview["pages"]["/docs"] == docs()
        assert preview["pages"]["/redoc"] == client.get("/redoc").headers[csp.HEADER]
        product = client.get("/product/no-such-model").headers[csp.HEADER]
        assert preview["pages"]["/product/{model_id}"] == product
        # The product page loads images only: the image host joins it, the script host not.
        assert "https://cdn.example.com" in csp.parse(product)["img-src"]
        assert "script-src" not in csp.parse(product)
        assert preview["content_security_policy"] == (
            "default-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self';"
            " frame-ancestors 'none'; script-src 'self' https://js.example.com;"
            " img-src 'self' https://cdn.example.com"
        )
        refused = put(client, admin, "csp_extra_sources", {"script-src": ["'unsafe-inline'"]})
        assert "csp_extra_sources: script-src source" in error_of(refused, 422)
    finally:
        put(client, admin, "csp_extra_sources", {})


def test_the_preview_shows_the_cors_state(client: TestClient, admin: Account) -> None:
    configure(client, admin, origins=f"{SHOP}\n{DEV}", enforced=True)
    try:
        preview = client.get("/api/admin/csp-preview", headers=admin.auth).json()
        assert preview["cors_enforced"] is True
        assert preview["allowed_origins"] == [SHOP, DEV]
    finally:
        configure(client, admin, origins="", enforced=False)
    preview = client.get("/api/admin/csp-preview", headers=admin.auth).json()
    assert (preview["cors_enforced"], preview["allowed_origins"]) == (False, [])


def test_only_admins_see_the_preview(
    client: TestClient, customer: Account, moderator: Account
) -> None:
    error_of(client.get("/api/admin/csp-preview"), 401)
    error_of(client.get("/api/admin/csp-preview", headers=customer.auth), 403)
    error_of(client.get("/api/admin/csp-preview", headers=moderator.auth), 403)
    error_of(put(client, moderator, "cors_enforced", True), 403)
