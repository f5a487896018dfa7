"""Stories: a user turns on TOTP 2FA and signs in with a code; each code works once (even
when two requests race), recovery codes work once each, wrong codes back off on every API
process, interim tokens are no sessions, and the shop's policy leads users through enrolment.

Codes come from pyotp with the secret setup-2fa answered, like an authenticator app. A test
uses the codes of the time steps around now (the server accepts one step either side), so
it starts on a fresh step when the current one is about to end.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pyotp
import pytest
from fastapi.testclient import TestClient

from tests.support.http import (
    PASSWORD,
    Account,
    app_settings,
    error_of,
    register,
    running_app,
    staff,
)

RECOVERY_CODE = re.compile(r"^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$")


def _container(client: TestClient) -> Any:
    return client.app.state.container  # type: ignore[attr-defined]


def _fresh_step() -> None:
    """Wait for the next 30-s step if this one ends within 8 s (see the module docstring)."""
    left = 30 - time.time() % 30
    if left < 8:
        time.sleep(left + 0.2)


def _code(totp: pyotp.TOTP, steps: int = 0) -> str:
    """The app's code `steps` time steps from now (-1, 0 and 1 are accepted)."""
    return totp.at(time.time() + 30 * steps)


def _wrong(totp: pyotp.TOTP) -> str:
    """A six-digit code that is none of the codes near now."""
    near = {_code(totp, k) for k in range(-2, 3)}
    return next(c for c in (f"{n:06d}" for n in range(1000)) if c not in near)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Enrolled:
    """A user with 2FA on: the app's TOTP, the recovery codes and the fresh session."""

    account: Account
    totp: pyotp.TOTP
    recovery_codes: list[str]
    token: str


def _verify(client: TestClient, admin: Account, account: Account) -> None:
    response = client.patch(f"/api/admin/users/{account.id}/verify", headers=admin.auth)
    assert response.status_code == 200, response.text


def _enrol(client: TestClient, auth: dict[str, str]) -> tuple[pyotp.TOTP, dict[str, Any]]:
    """setup-2fa then enable-2fa with the previous step's code (keeping now's for a login)."""
    setup = client.get("/api/auth/setup-2fa", headers=auth)
    assert setup.status_code == 200, setup.text
    totp = pyotp.TOTP(setup.json()["secret"])
    enabled = client.post(
        "/api/auth/enable-2fa",
        headers=auth,
        json={"secret": setup.json()["secret"], "code": _code(totp, -1)},
    )
    assert enabled.status_code == 200, enabled.text
    return totp, enabled.json()


def _enrolled(client: TestClient, admin: Account, name: str) -> Enrolled:
    _fresh_step()
    account = register(client, name)
    _verify(client, admin, account)
    totp, body = _enrol(client, account.auth)
    return Enrolled(account, totp, body["recovery_codes"], body["token"])


def _login(client: TestClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _second_step(client: TestClient, interim_token: str, code: str) -> httpx.Response:
    return client.post("/api/auth/login-2fa", json={"interim_token": interim_token, "code": code})


def _me(client: TestClient, token: str) -> httpx.Response:
    return client.get("/api/auth/me", headers=_bearer(token))


def _events(client: TestClient, user_id: str) -> list[Any]:
    return list(_container(client).identity.repository.event_store.get(UUID(user_id)))


def test_setup_answers_a_secret_its_uri_and_a_png_qr_code(
    client: TestClient, admin: Account
) -> None:
    account = register(client, "scanner")
    _verify(client, admin, account)

    response = client.get("/api/auth/setup-2fa", headers=account.auth)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"secret", "otpauth_uri", "qr_png"}
    assert re.fullmatch(r"[A-Z2-7]{32}", body["secret"])
    parsed = pyotp.parse_uri(body["otpauth_uri"])
    assert parsed.secret == body["secret"] and parsed.issuer == "fabledger"
    assert parsed.name == account.email
    prefix = "data:image/png;base64,"
    assert body["qr_png"].startswith(prefix)
    png = base64.b64decode(body["qr_png"][len(prefix) :], validate=True)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and b"IEND" in png[-12:]
    # nothing is stored until enable-2fa: each setup is a new secret, and 2FA is still off
    assert (
        client.get("/api/auth/setup-2fa", headers=account.auth).json()["secret"] != (body["secret"])
    )
    assert client.get("/api/user/2fa-status", headers=account.auth).json() == {"enabled": False}


def test_opting_in_needs_a_verified_email(client: TestClient) -> None:
    account = register(client, "unverified")
    totp = pyotp.TOTP(pyotp.random_base32())

    setup = client.get("/api/auth/setup-2fa", headers=account.auth)
    enable = client.post(
        "/api/auth/enable-2fa",
        headers=account.auth,
        json={"secret": totp.secret, "code": totp.now()},
    )

    assert "verify your e-mail address" in error_of(setup, 403)
    assert "verify your e-mail address" in error_of(enable, 403)


def test_enable_refuses_a_wrong_code_and_answers_ten_recovery_codes_for_a_right_one(
    client: TestClient, admin: Account
) -> None:
    _fresh_step()
    account = register(client, "enabler")
    _verify(client, admin, account)
    secret = client.get("/api/auth/setup-2fa", headers=account.auth).json()["secret"]
    totp = pyotp.TOTP(secret)

    wrong = client.post(
        "/api/auth/enable-2fa", headers=account.auth, json={"secret": secret, "code": _wrong(totp)}
    )
    assert error_of(wrong, 422) == "code: wrong or expired code"
    forged = client.post(
        "/api/auth/enable-2fa", headers=account.auth, json={"secret": "short", "code": "123456"}
    )
    assert error_of(forged, 422).startswith("secret:")
    assert client.get("/api/user/2fa-status", headers=account.auth).json() == {"enabled": False}

    right = client.post(
        "/api/auth/enable-2fa", headers=account.auth, json={"secret": secret, "code": totp.now()}
    )

    assert right.status_code == 200, right.text
    body = right.json()
    assert body["enabled"] is True and body["user"]["id"] == account.id
    codes = body["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(RECOVERY_CODE.match(code) for code in codes), codes
    # enabling ended every session issued with the password alone; the answer carries one
    assert error_of(_me(client, account.token), 401) == "session ended; sign in again"
    fresh = _bearer(body["token"])
    assert client.get("/api/user/2fa-status", headers=fresh).json() == {"enabled": True}
    assert client.get("/api/user/profile", headers=fresh).json()["two_factor_enabled"] is True
    assert "already enabled" in error_of(client.get("/api/auth/setup-2fa", headers=fresh), 409)


def test_login_answers_an_interim_token_and_each_code_works_once(
    client: TestClient, admin: Account
) -> None:
    user = _enrolled(client, admin, "twostep")

    first = _login(client, user.account.email)

    assert "token" not in first
    assert first["enrolment_required"] is False and first["expires_in"] == 600
    code = _code(user.totp)
    signed_in = _second_step(client, first["interim_token"], code)
    assert signed_in.status_code == 200, signed_in.text
    session = signed_in.json()
    assert (
        set(session) == {"token", "expires_in", "user"} and session["user"]["id"] == user.account.id
    )
    assert _me(client, session["token"]).status_code == 200
    # the same code again, with the same or a new interim token: refused (replay)
    again = _second_step(client, first["interim_token"], code)
    assert error_of(again, 422) == "code: this code was already used; wait for the next one"
    replay = _second_step(client, _login(client, user.account.email)["interim_token"], code)
    assert "already used" in error_of(replay, 422)
    # the code that enabled 2FA was used up too
    enabling = _second_step(client, first["interim_token"], _code(user.totp, -1))
    assert "already used" in error_of(enabling, 422)
    # the next step's code is a new code
    assert _second_step(client, first["interim_token"], _code(user.totp, 1)).status_code == 200


class _Meeting:
    """Holds the first two code checks until both requests have loaded the user: a real race
    for the stream, not two requests that happen to run one after the other."""

    def __init__(self, codes: Any) -> None:
        self.codes = codes
        self.barrier = threading.Barrier(2, timeout=10)
        self.checks = 0
        self.lock = threading.Lock()

    def matching_step(self, secret: str, code: str, now: datetime) -> int | None:
        step = self.codes.matching_step(secret, code, now)
        with self.lock:
            self.checks += 1
            meet = self.checks <= 2
        if meet:
            self.barrier.wait()
        return step

    def __getattr__(self, name: str) -> Any:
        return getattr(self.codes, name)


def test_two_logins_racing_with_one_code_let_exactly_one_in(
    client: TestClient, admin: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = _enrolled(client, admin, "racer")
    tokens = [_login(client, user.account.email)["interim_token"] for _ in range(2)]
    code = _code(user.totp)
    two_factor = _container(client).two_factor
    meeting = _Meeting(two_factor.codes)
    monkeypatch.setattr(two_factor, "codes", meeting)
    answers: list[httpx.Response] = []

    def attempt(token: str) -> None:
        answers.append(_second_step(client, token, code))

    threads = [threading.Thread(target=attempt, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(a.status_code for a in answers) == [200, 422], [a.text for a in answers]
    (loser,) = (a for a in answers if a.status_code == 422)
    assert "already used" in error_of(loser, 422)
    assert meeting.checks == 3  # both checked the code, then the loser checked it again
    used = [e for e in _events(client, user.account.id) if type(e).__name__ == "TotpStepUsed"]
    assert len(used) == 1


def test_a_recovery_code_works_once(client: TestClient, admin: Account) -> None:
    user = _enrolled(client, admin, "lostphone")
    code = user.recovery_codes[3]
    typed = code.upper().replace("-", " ")  # as someone copies it off paper

    first = _second_step(client, _login(client, user.account.email)["interim_token"], typed)

    assert first.status_code == 200, first.text
    assert _me(client, first.json()["token"]).status_code == 200
    again = _second_step(client, _login(client, user.account.email)["interim_token"], code)
    assert error_of(again, 422) == "code: this recovery code was already used"
    other = _second_step(
        client, _login(client, user.account.email)["interim_token"], user.recovery_codes[4]
    )
    assert other.status_code == 200, other.text
    used = [e for e in _events(client, user.account.id) if type(e).__name__ == "RecoveryCodeUsed"]
    assert [e.index for e in used] == [3, 4] and all(e.actor for e in used)


def test_wrong_codes_back_off_on_every_api_process(client: TestClient, admin: Account) -> None:
    user = _enrolled(client, admin, "guesser")
    interim = _login(client, user.account.email)["interim_token"]
    wrong = _wrong(user.totp)

    for _ in range(5):
        assert error_of(_second_step(client, interim, wrong), 422) == "code: wrong or expired code"
    locked = _second_step(client, interim, _code(user.totp))  # even the right code waits

    assert "too many wrong codes" in error_of(locked, 429)
    assert 1 <= int(locked.headers["Retry-After"]) <= 30
    failures = [
        e for e in _events(client, user.account.id) if type(e).__name__ == "TwoFactorFailed"
    ]
    assert len(failures) == 5
    # a second API process on the same database sees the same count
    data_dir: Path = _container(client).settings.data_dir
    other_settings = app_settings(data_dir, projections_in_process=False)
    with running_app(other_settings) as other:
        elsewhere = _second_step(other, interim, _code(user.totp))
        assert "too many wrong codes" in error_of(elsewhere, 429)
        assert 1 <= int(elsewhere.headers["Retry-After"]) <= 30
    # once the lock has run out a right code gets in and starts the count afresh
    later = datetime.now(UTC) + timedelta(seconds=31)
    two_factor = _container(client).two_factor
    claims = _container(client).tokens.read_interim(interim, "login")
    signed_in = two_factor.complete_login(
        UUID(user.account.id),
        claims.session_epoch,
        user.totp.at(later),
        now=later,
    )
    assert signed_in.two_factor_failures == 0
    assert error_of(_second_step(client, interim, wrong), 422) == "code: wrong or expired code"


def test_an_expired_interim_token_is_refused(client: TestClient, admin: Account) -> None:
    user = _enrolled(client, admin, "slowpoke")
    tokens = _container(client).tokens
    epoch = _container(client).identity.get_user(UUID(user.account.id)).session_epoch
    stale = tokens.issue_interim(user.account.id, epoch, "login", now=time.time() - 601)

    response = _second_step(client, stale, _code(user.totp))

    assert "expired" in error_of(response, 401)


def test_interim_tokens_and_session_tokens_do_not_pass_for_each_other(
    client: TestClient, admin: Account
) -> None:
    user = _enrolled(client, admin, "mixup")
    interim = _login(client, user.account.email)["interim_token"]

    assert error_of(_me(client, interim), 401) == "invalid session token"
    assert error_of(client.get("/api/user/profile", headers=_bearer(interim)), 401)
    assert "interim_token" in error_of(_second_step(client, user.token, _code(user.totp)), 401)
    # a login's interim token does not enrol, and an enrolment token does not log in
    setup = client.get("/api/auth/setup-2fa", headers=_bearer(interim))
    assert "only completes a login" in error_of(setup, 401)
    epoch = _container(client).identity.get_user(UUID(user.account.id)).session_epoch
    enrol = _container(client).tokens.issue_interim(user.account.id, epoch, "enrol")
    assert "only enrols" in error_of(_second_step(client, enrol, _code(user.totp)), 401)
    assert _second_step(client, interim, _code(user.totp)).status_code == 200  # still good


def test_disabling_needs_a_current_code_and_the_password(
    client: TestClient, admin: Account
) -> None:
    user = _enrolled(client, admin, "switcher")
    auth = _bearer(user.token)

    def disable(code: str, password: str) -> httpx.Response:
        return client.request(
            "DELETE",
            "/api/auth/disable-2fa",
            headers=auth,
            json={"code": code, "password": password},
        )

    wrong_password = disable(_code(user.totp), "not my password")
    assert error_of(wrong_password, 422) == "password: wrong password"
    wrong_code = disable(_wrong(user.totp), PASSWORD)
    assert error_of(wrong_code, 422) == "code: wrong or expired code"
    assert client.get("/api/user/2fa-status", headers=auth).json() == {"enabled": True}

    off = disable(_code(user.totp), PASSWORD)

    assert off.status_code == 200, off.text
    assert off.json() == {"enabled": False}
    assert client.get("/api/user/2fa-status", headers=auth).json() == {"enabled": False}
    assert client.get("/api/user/profile", headers=auth).json()["two_factor_enabled"] is False
    again = _login(client, user.account.email)
    assert "token" in again and "interim_token" not in again
    assert "not enabled" in error_of(disable(_code(user.totp, 1), PASSWORD), 409)


def test_a_password_change_ends_pending_interim_tokens(client: TestClient, admin: Account) -> None:
    user = _enrolled(client, admin, "rotator")
    interim = _login(client, user.account.email)["interim_token"]

    changed = client.post(
        "/api/user/change-password",
        headers=_bearer(user.token),
        json={"current_password": PASSWORD, "new_password": "another long passphrase"},
    )
    assert changed.status_code == 200, changed.text

    refused = _second_step(client, interim, _code(user.totp))
    assert "sessions of this account ended" in error_of(refused, 401)
    fresh = _login(client, user.account.email, "another long passphrase")["interim_token"]
    assert _second_step(client, fresh, _code(user.totp)).status_code == 200  # not used up


def test_the_totp_secret_and_recovery_codes_are_not_stored_in_clear(
    client: TestClient, admin: Account
) -> None:
    _fresh_step()
    account = register(client, "sealed")
    _verify(client, admin, account)
    secret = client.get("/api/auth/setup-2fa", headers=account.auth).json()["secret"]
    enabled = client.post(
        "/api/auth/enable-2fa",
        headers=account.auth,
        json={"secret": secret, "code": pyotp.TOTP(secret).now()},
    ).json()

    identity = _container(client).identity
    stored = identity.recorder.select_events(UUID(account.id))
    raw = b"".join(bytes(s.state) for s in stored)
    decoded = repr([vars(e) for e in _events(client, account.id)])
    for clear in (secret, *enabled["recovery_codes"]):
        for form in (clear, clear.lower(), clear.replace("-", "")):
            assert form.encode() not in raw and form not in decoded
    names = [type(e).__name__ for e in _events(client, account.id)]
    assert "TwoFactorEnabled" in names


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[TestClient]:
    """A pristine app: these stories change the shop-wide 2FA policy."""
    with running_app(app_settings(tmp_path)) as running:
        yield running


def _policy(client: TestClient, admin: Account, value: str) -> None:
    response = client.put(
        "/api/admin/settings/two_factor_policy", headers=admin.auth, json={"value": value}
    )
    assert response.status_code == 200, response.text


def test_required_policy_leads_a_user_without_2fa_through_enrolment(shop: TestClient) -> None:
    admin = staff(shop, "admin", "owner")
    customer = register(shop, "forced")  # e-mail never verified: the policy leaves no choice
    _policy(shop, admin, "required")
    _fresh_step()

    challenge = _login(shop, customer.email)

    assert "token" not in challenge and challenge["enrolment_required"] is True
    interim = challenge["interim_token"]
    assert error_of(_me(shop, interim), 401) == "invalid session token"
    assert "only enrols" in error_of(_second_step(shop, interim, "123456"), 401)
    totp, enabled = _enrol(shop, _bearer(interim))
    assert len(enabled["recovery_codes"]) == 10
    session = _bearer(enabled["token"])
    assert shop.get("/api/user/2fa-status", headers=session).json() == {"enabled": True}
    # from now on the password leads to the code step
    next_time = _login(shop, customer.email)
    assert next_time["enrolment_required"] is False
    assert _second_step(shop, next_time["interim_token"], _code(totp)).status_code == 200
    # and 2FA cannot be turned off while the shop requires it
    refused = shop.request(
        "DELETE",
        "/api/auth/disable-2fa",
        headers=session,
        json={"code": _code(totp, 1), "password": PASSWORD},
    )
    assert "two_factor_policy" in error_of(refused, 409)


def test_under_required_policy_a_new_account_enrols_before_its_first_session(
    shop: TestClient,
) -> None:
    admin = staff(shop, "admin", "gatekeeper")
    _policy(shop, admin, "required")
    try:
        answer = shop.post(
            "/api/auth/register",
            json={"username": "newbie", "email": "newbie@example.com", "password": PASSWORD},
        )
        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert body["token"] is None and body["enrolment_required"] is True
        _fresh_step()
        _, enabled = _enrol(shop, _bearer(body["interim_token"]))
        me = shop.get("/api/user/2fa-status", headers=_bearer(enabled["token"]))
        assert me.json() == {"enabled": True}
    finally:
        _policy(shop, admin, "optional")


def test_required_staff_policy_enrols_moderators_and_admins_only(shop: TestClient) -> None:
    admin = staff(shop, "admin", "chief")
    staff(shop, "moderator", "floorlead")
    customer = register(shop, "shopper")
    _policy(shop, admin, "required_staff")

    assert "token" in _login(shop, customer.email)
    for email in ("floorlead@example.com", "chief@example.com"):
        answer = _login(shop, email)
        assert "token" not in answer and answer["enrolment_required"] is True

    _policy(shop, admin, "optional")  # the admin's session from before still works
    assert "token" in _login(shop, "floorlead@example.com")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/auth/setup-2fa"),
        ("POST", "/api/auth/enable-2fa"),
        ("DELETE", "/api/auth/disable-2fa"),
    ],
)
def test_anonymous_callers_are_401(client: TestClient, method: str, path: str) -> None:
    body = {"secret": "A" * 32, "code": "123456", "password": PASSWORD}
    error_of(client.request(method, path, json=body), 401)


class _Recorder:
    """Stands in for a module's structlog logger and keeps every call."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []

    def __getattr__(self, level: str) -> Any:
        return lambda event, **values: self.lines.append({"event": event, **values})


def test_no_secret_or_code_reaches_a_log_line(
    client: TestClient, admin: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fresh_step()
    account = register(client, "quiet")
    _verify(client, admin, account)
    recorder = _Recorder()
    monkeypatch.setattr("api.middleware.log", recorder)  # the request log
    monkeypatch.setattr("api.errors.log", recorder)  # errors and outages

    secret = client.get("/api/auth/setup-2fa", headers=account.auth).json()["secret"]
    totp = pyotp.TOTP(secret)
    enabled = client.post(
        "/api/auth/enable-2fa",
        headers=account.auth,
        json={"secret": secret, "code": _code(totp, -1)},
    ).json()
    interim = _login(client, account.email)["interim_token"]
    _second_step(client, interim, _wrong(totp))
    _second_step(client, interim, _code(totp))
    _second_step(client, interim, enabled["recovery_codes"][0])

    lines = repr(recorder.lines)
    assert [line["path"] for line in recorder.lines].count("/api/auth/login-2fa") == 3
    for clear in (secret, interim, enabled["token"], _code(totp), *enabled["recovery_codes"]):
        assert clear not in lines
