"""Story: the seed's per-IP rate limits, over HTTP, and an admin who tunes them live.

A brute-forcer gets 15 wrong passwords, then 429 with Retry-After and the RateLimit
headers (draft-ietf-httpapi-ratelimit-headers-08); an admin skips the general and upload
limiters but never the auth one; a PUT changes a limit for the very next request and is
recorded in the settings history; X-Forwarded-For counts only from a trusted proxy; a
window ends and the client may go on. Each story builds its own app: counts start at zero.
(The PostgreSQL counters and the configuration refresh: test_rate_limit_parts.py.)
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.rate_limit import ROLE_SECONDS
from domain.rate_limits import DEFAULT_VALUE
from infra.rate_limits import Hit
from tests.support.http import (
    CUBE_STL,
    PASSWORD,
    Account,
    app_settings,
    checkout,
    error_of,
    running_app,
    staff,
    upload,
)

QUOTE = {"material": "PLA", "dim_x_mm": 20, "dim_y_mm": 20, "dim_z_mm": 20, "volume_cm3": 8}
ITEM = re.compile(r'"(?P<name>[a-z_]+)"((?:;[a-z]+=\d+)*)')


def steady_clock() -> Callable[[], float]:
    """The counters' clock for a story: real time, but starting a minute into a day.

    Windows are fixed and aligned to the epoch; on the wall clock a story that ran across
    a quarter hour saw its counts start over (a 429, then a 200 a second later). Every
    window these stories use divides a day, so none ends within a story's seconds.
    """
    start, base = time.monotonic(), 86_400.0 * 20_000 + 60
    return lambda: base + (time.monotonic() - start)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """The app with the seed's limits on (the other HTTP tests run with them off)."""
    with running_app(app_settings(tmp_path, rate_limits_enabled=True)) as running:
        running.app.state.container.rate_counters.clock = steady_clock()  # type: ignore[attr-defined]
        yield running


def items(response: httpx.Response, header: str) -> dict[str, dict[str, int]]:
    """A RateLimit or RateLimit-Policy header: {limiter: {parameter: value}}."""
    parsed = {}
    for match in ITEM.finditer(response.headers[header]):
        params = (p.split("=") for p in match.group(2).split(";") if p)
        parsed[match.group("name")] = {key: int(value) for key, value in params}
    return parsed


def limited_by(response: httpx.Response) -> set[str]:
    """The limiters that counted the request (none when no header)."""
    return (
        set(items(response, "RateLimit-Policy"))
        if "ratelimit-policy" in response.headers
        else set()
    )


def tune(client: TestClient, admin: Account, **fields: Any) -> dict[str, Any]:
    """PUT /api/admin/rate-limiter; the new configuration."""
    response = client.put("/api/admin/rate-limiter", headers=admin.auth, json=fields)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def quiet_customer(client: TestClient, name: str) -> Account:
    """A customer and a session made without HTTP: not one auth request counted."""
    container = client.app.state.container  # type: ignore[attr-defined]
    email = f"{name}@example.com"
    user = container.identity.register(email=email, username=name, password=PASSWORD, actor="t")
    token = container.tokens.issue(str(user.id), user.role, user.session_epoch)
    return Account(id=str(user.id), email=email, role="user", token=token)


def test_fifteen_wrong_passwords_then_429_with_retry_after_and_headers(
    client: TestClient,
) -> None:
    victim = quiet_customer(client, "victim")
    wrong = {"email": victim.email, "password": "not the password"}
    answers = [client.post("/api/auth/login", json=wrong) for _ in range(30)]

    assert [a.status_code for a in answers] == [401] * 15 + [429] * 15
    first, refused = answers[0], answers[15]
    assert items(first, "RateLimit-Policy") == {"auth": {"q": 15, "w": 900}}
    assert items(first, "RateLimit")["auth"]["r"] == 14
    assert "retry-after" not in first.headers
    message = error_of(refused, 429)
    assert "auth limit is 15 per 15 min" in message
    assert items(refused, "RateLimit")["auth"]["r"] == 0
    reset = items(refused, "RateLimit")["auth"]["t"]
    assert 0 < reset <= 900 and int(refused.headers["Retry-After"]) == reset
    # The right password does not open the door before the window ends.
    right = client.post("/api/auth/login", json={"email": victim.email, "password": PASSWORD})
    error_of(right, 429)


def test_every_limited_answer_carries_the_headers_and_only_those(client: TestClient) -> None:
    ok = client.get("/api/materials")
    assert ok.status_code == 200
    assert items(ok, "RateLimit-Policy") == {"general": {"q": 100, "w": 900}}
    assert items(ok, "RateLimit")["general"]["r"] == 99
    assert limited_by(client.get("/api/no-such-route")) == {"general"}  # counted before routing
    assert limited_by(client.get("/api/auth/me")) == {"general"}  # an auth GET, not 2FA
    assert limited_by(client.get("/api/auth/setup-2fa")) == {"auth"}
    assert limited_by(client.delete("/api/auth/disable-2fa")) == {"auth"}
    assert limited_by(client.post("/api/quote", json=QUOTE)) == {"general", "quote"}
    assert limited_by(client.get("/api/models/some-id/file")) == {"general", "model_file"}
    assert limited_by(client.post("/api/upload-for-cart")) == {"upload"}
    unlimited_paths = ("/api/v1/ping", "/api/health", "/api/ready", "/metrics", "/docs")
    for unlimited in (*unlimited_paths, "/openapi.json"):
        assert limited_by(client.get(unlimited)) == set(), unlimited


def test_the_auth_limiter_spares_nobody_not_even_an_admin(client: TestClient) -> None:
    admin = staff(client, "admin", "boss")  # its login is the first auth request
    tune(client, admin, auth_max=3)  # adjustable too (each login costs an argon2 hash)
    login = {"email": admin.email, "password": PASSWORD}
    answers = [client.post("/api/auth/login", headers=admin.auth, json=login) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert items(answers[-1], "RateLimit-Policy") == {"auth": {"q": 3, "w": 900}}
    error_of(answers[-1], 429)
    error_of(client.post("/api/auth/resend-verify", headers=admin.auth), 429)


def test_an_admin_skips_the_general_limiter_a_customer_does_not(client: TestClient) -> None:
    admin, customer = staff(client, "admin", "boss"), quiet_customer(client, "maker")
    assert tune(client, admin, general_max=5)["general_max"] == 5  # at once, no restart

    mine = [client.get("/api/user/orders", headers=customer.auth) for _ in range(6)]
    assert [a.status_code for a in mine] == [200] * 5 + [429]
    assert items(mine[-1], "RateLimit-Policy") == {"general": {"q": 5, "w": 900}}
    error_of(client.get("/api/materials"), 429)  # anonymous, same address: same count
    for _ in range(10):
        spared = client.get("/api/admin/orders", headers=admin.auth)
        assert spared.status_code == 200 and limited_by(spared) == set()
    # An invalid token gets no bypass (and no error from the limiter: the route answers).
    error_of(client.get("/api/admin/orders", headers={"Authorization": "Bearer junk"}), 429)

    tune(client, admin, bypass_roles=["user", "admin"])
    assert client.get("/api/user/orders", headers=customer.auth).status_code == 200
    tune(client, admin, bypass_roles=[])
    error_of(client.get("/api/admin/orders", headers=admin.auth), 429)


def test_a_demoted_admins_old_token_is_counted_at_once(client: TestClient) -> None:
    boss, deputy = staff(client, "admin", "boss"), staff(client, "admin", "deputy")
    tune(client, boss, general_max=1)
    assert limited_by(client.get("/api/admin/orders", headers=deputy.auth)) == set()
    demoted = client.patch(
        f"/api/admin/users/{deputy.id}", headers=boss.auth, json={"role": "user"}
    )
    assert demoted.status_code == 200, demoted.text
    time.sleep(ROLE_SECONDS)  # the role a token resolved to is kept this long
    # The token still claims "admin": resolved again, it is a customer's now.
    assert limited_by(client.get("/api/user/orders", headers=deputy.auth)) == {"general"}


def test_uploads_and_checkouts_share_the_upload_limit(client: TestClient) -> None:
    admin, customer = staff(client, "admin", "boss"), quiet_customer(client, "maker")
    tune(client, admin, upload_max=2)
    first = upload(client, customer, "cube.stl", CUBE_STL)
    assert first.status_code == 201, first.text
    assert items(first, "RateLimit-Policy") == {"upload": {"q": 2, "w": 3600}}
    assert checkout(client, customer).status_code == 201
    refused = upload(client, customer, "cube.stl", CUBE_STL)
    assert "upload limit is 2 per 60 min" in error_of(refused, 429)
    assert refused.headers["Connection"] == "close"  # the unread file is not drained
    error_of(checkout(client, customer), 429)
    assert client.get("/api/user/orders", headers=customer.auth).status_code == 200  # general
    spared = upload(client, admin, "cube.stl", CUBE_STL)
    assert spared.status_code == 201 and limited_by(spared) == set()


def test_quotes_and_model_files_have_their_own_limits_for_everyone(client: TestClient) -> None:
    admin = staff(client, "admin", "boss")
    tune(client, admin, quote_max=3, model_file_max=2)
    quotes = [client.post("/api/quote", json=QUOTE) for _ in range(4)]
    assert [q.status_code for q in quotes] == [200] * 3 + [429]
    assert items(quotes[0], "RateLimit-Policy") == {
        "general": {"q": 100, "w": 900},
        "quote": {"q": 3, "w": 900},
    }
    assert "quote limit is 3 per 15 min" in error_of(quotes[-1], 429)
    as_admin = client.post("/api/quote", headers=admin.auth, json=QUOTE)
    assert limited_by(as_admin) == {"quote"}  # general spared, quote not
    error_of(as_admin, 429)

    files = [client.get("/api/models/some-id/file") for _ in range(3)]
    assert [f.status_code for f in files] == [404, 404, 429]  # counted before routing


def test_the_configuration_reads_and_refuses_bad_values_naming_the_field(
    client: TestClient,
) -> None:
    admin, customer = staff(client, "admin", "boss"), quiet_customer(client, "maker")
    moderator = staff(client, "moderator", "floor")
    current = client.get("/api/admin/rate-limiter", headers=admin.auth)
    assert current.status_code == 200
    assert current.json() == {**DEFAULT_VALUE, "enabled": True}
    assert DEFAULT_VALUE["general_max"] == 100 and DEFAULT_VALUE["bypass_roles"] == ["admin"]

    for body, field in (
        ({"general_max": 0}, "general_max"),
        ({"upload_window_min": 24 * 60 + 1}, "upload_window_min"),
        ({"general_window_min": "15"}, "general_window_min"),
        ({"auth_max": 1.5}, "auth_max"),
        ({"bypass_roles": ["root"]}, "bypass_roles"),
        ({"general_maxx": 5}, "general_maxx"),
    ):
        refused = client.put("/api/admin/rate-limiter", headers=admin.auth, json=body)
        assert error_of(refused, 422).startswith(field), (body, refused.text)
    for outsider in (customer, moderator):
        put = client.put("/api/admin/rate-limiter", headers=outsider.auth, json={"upload_max": 1})
        error_of(put, 403)
        error_of(client.get("/api/admin/rate-limiter", headers=outsider.auth), 403)
    error_of(client.put("/api/admin/rate-limiter", json={"upload_max": 1}), 401)
    # The generic settings route checks the same rules (a whole configuration).
    generic = client.put(
        "/api/admin/settings/rate_limiter",
        headers=admin.auth,
        json={"value": {**DEFAULT_VALUE, "quote_max": -1}},
    )
    assert error_of(generic, 422).startswith("quote_max")


def test_a_change_is_a_settings_event_with_its_actor_and_previous_value(
    client: TestClient,
) -> None:
    admin = staff(client, "admin", "boss")
    changed = client.put(
        "/api/admin/rate-limiter",
        headers=admin.auth,
        json={"general_window_min": 5, "general_max": 50, "bypass_roles": ["moderator", "admin"]},
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["changed"] is True and int(changed.headers["X-Position"]) == body["position"]
    assert tune(client, admin, general_max=50)["changed"] is False  # the same value: no event

    history = client.get("/api/admin/settings/history", headers=admin.auth).json()["changes"]
    (change,) = [c for c in history if c["key"] == "rate_limiter"]
    assert change["actor"] == f"admin:{admin.id}"
    assert change["previous"] == DEFAULT_VALUE
    assert change["value"] == {
        **DEFAULT_VALUE,
        "general_window_min": 5,
        "general_max": 50,
        "bypass_roles": ["moderator", "admin"],
    }
    assert items(client.get("/api/materials"), "RateLimit-Policy") == {
        "general": {"q": 50, "w": 300}
    }


def test_forwarded_for_counts_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="trusted_proxies"):  # at start, not at a request
        create_app(app_settings(tmp_path, trusted_proxies="10.0.0.0/8, 300.1.1.1/8"))
    settings = app_settings(tmp_path, rate_limits_enabled=True, trusted_proxies="10.0.0.0/8")
    app = create_app(settings)
    with TestClient(app, client=("10.0.0.5", 4000)) as proxy:
        app.state.container.rate_counters.clock = steady_clock()
        tune(proxy, staff(proxy, "admin", "boss"), general_max=2)
        behind = TestClient(app, client=("10.0.0.5", 4001))  # the lifespan is the proxy's

        def via(forwarded: str) -> int:
            return behind.get("/api/materials", headers={"X-Forwarded-For": forwarded}).status_code

        assert [via("203.0.113.7") for _ in range(2)] == [200, 200]
        assert via("198.51.100.1") == 200  # another client behind the same proxy
        assert via("6.6.6.6, 203.0.113.7") == 429  # a forged left part changes nothing
        assert via("203.0.113.7, 10.0.0.9") == 429  # through two of our proxies

        direct = TestClient(app, client=("192.0.2.50", 5000))
        forged = {"X-Forwarded-For": "203.0.113.99"}
        statuses = [direct.get("/api/materials", headers=forged).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]  # counted as the peer it is, whatever it says


def test_a_window_ends_and_the_client_may_go_on(client: TestClient) -> None:
    counters = client.app.state.container.rate_counters  # type: ignore[attr-defined]
    now = [900.0 * 2_000_000 + 100]  # 100 s into a general window
    counters.clock = lambda: now[0]
    admin = staff(client, "admin", "boss")
    tune(client, admin, general_max=2)

    assert [client.get("/api/materials").status_code for _ in range(3)] == [200, 200, 429]
    now[0] += 500
    refused = client.get("/api/materials")
    assert int(refused.headers["Retry-After"]) == 300
    assert items(refused, "RateLimit")["general"] == {"r": 0, "t": 300}
    now[0] += 300  # the next window
    fresh = client.get("/api/materials")
    assert fresh.status_code == 200
    assert items(fresh, "RateLimit")["general"] == {"r": 1, "t": 900}


def test_counters_that_fail_let_requests_through(client: TestClient) -> None:
    class Broken:
        blocking = False

        def hit(self, buckets: Any) -> list[Hit]:
            raise OSError("counter store away")

        def close(self) -> None:
            pass

    client.app.state.container.rate_counters = Broken()  # type: ignore[attr-defined]
    answer = client.get("/api/materials")
    assert answer.status_code == 200 and limited_by(answer) == set()


def test_with_limits_off_nothing_is_counted(tmp_path: Path) -> None:
    with running_app(app_settings(tmp_path)) as off:
        victim = quiet_customer(off, "victim")
        wrong = {"email": victim.email, "password": "not the password"}
        answers = [off.post("/api/auth/login", json=wrong) for _ in range(16)]
        assert {a.status_code for a in answers} == {401}
        assert limited_by(answers[-1]) == set()
        admin = staff(off, "admin", "boss")
        assert off.get("/api/admin/rate-limiter", headers=admin.auth).json()["enabled"] is False


def test_the_document_names_429_where_a_limiter_can_refuse(tmp_path: Path) -> None:
    document = create_app(app_settings(tmp_path)).openapi()
    paths = document["paths"]
    for path, method in (
        ("/api/auth/login", "post"),
        ("/api/quote", "post"),
        ("/api/checkout", "post"),
        ("/api/materials", "get"),
        ("/api/auth/me", "get"),
        ("/api/admin/rate-limiter", "put"),
    ):
        too_many = paths[path][method]["responses"]["429"]
        assert too_many["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
        assert set(too_many["headers"]) == {"RateLimit-Policy", "RateLimit", "Retry-After"}
        successes = [r for s, r in paths[path][method]["responses"].items() if s.startswith("2")]
        assert all({"RateLimit-Policy", "RateLimit"} <= set(r["headers"]) for r in successes)
    for path, method in (("/api/v1/ping", "get"), ("/api/ready", "get"), ("/api/health", "get")):
        assert "429" not in paths[path][method]["responses"], path
