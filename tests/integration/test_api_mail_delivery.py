"""Story: an admin sets how the shop's mail leaves it (PUT /api/admin/settings/mail_delivery)
and checks it with POST /api/admin/test-email against a real SMTP server (aiosmtpd on
127.0.0.1): the test mail arrives from the configured address; a refused login, a closed
port or an unknown host answer sent: false with the reason; switching to disabled sends the
next mail to the console without a restart, in the API and in the notify worker. The
password is never in an answer, the history or a log line.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from infra.bootstrap import bootstrap
from tests.support.factories import pickup_request
from tests.support.http import Account, app_settings, error_of
from tests.support.served import free_port
from tests.support.smtp import SMTP_PASSWORD, SMTP_USER, SmtpServer, plain_smtp, starttls_smtp
from workers.notify import notifier

SENDER = "Maker Shop <orders@shop.example>"
NEVER = threading.Event()  # a stop event nobody sets


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[SmtpServer]:
    """Plain SMTP with AUTH allowed without TLS (a local relay), for the whole module."""
    with plain_smtp() as server:
        yield server


def relay(server: SmtpServer, **fields: Any) -> dict[str, Any]:
    """The setting that sends through the test server, logging in."""
    value: dict[str, Any] = {
        "driver": "smtp",
        "host": "127.0.0.1",
        "port": server.port,
        "user": SMTP_USER,
        "password": SMTP_PASSWORD,
        "from_address": SENDER,
        "starttls": False,
    }
    return {**value, **fields}


def put(client: TestClient, who: Account, value: Any) -> httpx.Response:
    return client.put("/api/admin/settings/mail_delivery", headers=who.auth, json={"value": value})


def send_test(client: TestClient, who: Account) -> dict[str, Any]:
    answer = client.post("/api/admin/test-email", headers=who.auth)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_the_test_email_arrives_from_the_configured_address(
    client: TestClient, admin: Account, smtp_server: SmtpServer
) -> None:
    assert put(client, admin, relay(smtp_server)).status_code == 200
    before = len(smtp_server.inbox.messages)
    answer = send_test(client, admin)
    assert answer["sent"] is True, answer
    assert answer["server_answer"].startswith("250 "), answer
    assert (answer["driver"], answer["configured_by"]) == ("smtp", "settings")
    message = smtp_server.inbox.wait_for(before + 1)[-1]
    assert message["From"] == SENDER and message["To"] == admin.email
    assert "test e-mail" in message["Subject"]
    assert smtp_server.inbox.logins[-1] == SMTP_USER


def test_a_refused_login_answers_sent_false_with_the_server_s_words(
    client: TestClient, admin: Account, smtp_server: SmtpServer
) -> None:
    put(client, admin, relay(smtp_server, password="not-the-password"))
    answer = send_test(client, admin)
    assert answer["sent"] is False
    assert answer["server_answer"].startswith("login refused: 535"), answer
    assert "not-the-password" not in answer["server_answer"]


def test_a_closed_port_or_an_unknown_host_answers_sent_false_with_the_reason(
    client: TestClient, admin: Account, smtp_server: SmtpServer
) -> None:
    closed = free_port()
    put(client, admin, relay(smtp_server, port=closed))
    answer = send_test(client, admin)
    assert answer["sent"] is False
    assert answer["server_answer"].startswith(f"cannot connect to 127.0.0.1:{closed}"), answer

    put(client, admin, relay(smtp_server, host="no-such-host.invalid"))
    answer = send_test(client, admin)
    assert answer["sent"] is False
    assert answer["server_answer"].startswith("cannot resolve no-such-host.invalid"), answer


def test_starttls_is_spoken_when_set(client: TestClient, admin: Account, tmp_path: Path) -> None:
    drivers = client.app.state.container.mail_delivery.drivers  # type: ignore[attr-defined]
    with starttls_smtp(tmp_path) as server:
        drivers.tls_context = server.tls  # trust the test server's self-signed certificate
        try:
            put(client, admin, relay(server, starttls=True))
            assert send_test(client, admin)["sent"] is True
        finally:
            drivers.tls_context = None
        assert server.inbox.wait_for(1)[0]["From"] == SENDER
        assert server.inbox.logins == [SMTP_USER]


def test_disabled_sends_the_next_mail_to_the_console_without_a_restart(
    client: TestClient, admin: Account, smtp_server: SmtpServer
) -> None:
    put(client, admin, relay(smtp_server))
    assert send_test(client, admin)["sent"] is True
    before = len(smtp_server.inbox.messages)

    assert put(client, admin, relay(smtp_server, driver="disabled")).status_code == 200
    with capture_logs() as logs:
        answer = send_test(client, admin)
        forgot = client.post("/api/auth/forgot-password", json={"email": admin.email})
        assert forgot.status_code == 200, forgot.text  # an account mail, sent after the answer
    assert (answer["sent"], answer["driver"]) == (True, "disabled")
    assert "console" in answer["server_answer"]
    logged = [entry for entry in logs if entry["event"] == "mail"]
    assert [entry["to"] for entry in logged] == [admin.email, admin.email]
    assert len(smtp_server.inbox.messages) == before  # nothing went to the server

    assert put(client, admin, None).status_code == 200  # null: the environment's (console)
    assert send_test(client, admin)["configured_by"] == "environment"


def test_the_password_is_never_answered_listed_or_logged(
    client: TestClient, admin: Account, smtp_server: SmtpServer, capfd: pytest.CaptureFixture[str]
) -> None:
    with capture_logs() as logs:
        changed = put(client, admin, relay(smtp_server, password=SMTP_PASSWORD))
        kept = put(client, admin, relay(smtp_server, password=None, from_address="o@shop.example"))
        answer = send_test(client, admin)  # the kept password still logs in
        listed = client.get("/api/admin/settings", headers=admin.auth)
        history = client.get("/api/admin/settings/history", headers=admin.auth)
    assert answer["sent"] is True, answer
    assert changed.json()["value"]["password_set"] is True
    assert kept.json()["previous"]["password_set"] is True
    setting = listed.json()["settings"]["mail_delivery"]
    assert setting["value"]["password_set"] is True and "password" not in setting["value"]
    assert setting["default"] is None
    sealed = client.app.state.container.shop.value("mail_delivery")["password"]  # type: ignore[attr-defined]
    printed = capfd.readouterr()
    seen = [
        changed.text,
        kept.text,
        listed.text,
        history.text,
        repr(logs),
        printed.out,
        printed.err,
    ]
    for text in seen:
        assert SMTP_PASSWORD not in text and sealed not in text


def test_bad_values_are_422_naming_the_key(client: TestClient, admin: Account) -> None:
    for value in ({"driver": "smtp", "host": "mx.example.com"}, {"driver": "smtp", "port": 0}):
        assert error_of(put(client, admin, value), 422).startswith("mail_delivery:")
    message = error_of(put(client, admin, {"driver": "ses", "user": "AKIA"}), 422)
    assert "region" in message


def test_only_an_admin_may_send_a_test_email(
    client: TestClient, customer: Account, moderator: Account
) -> None:
    error_of(client.post("/api/admin/test-email"), 401)
    for who in (customer, moderator):
        assert "admin" in error_of(client.post("/api/admin/test-email", headers=who.auth), 403)


def test_the_notify_worker_follows_the_setting_within_a_second(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    settings = app_settings(tmp_path / "data")
    admin_side = bootstrap(settings)  # an API process, say; the worker is a process of its own
    worker = notifier(settings)
    try:
        admin_side.shop.change("mail_delivery", relay(smtp_server), actor="admin:a-1")
        before = len(smtp_server.inbox.messages)
        order = worker.container.checkout.place(pickup_request("c-1", customer_email="m@x.io"))
        assert worker.step(NEVER) >= 1
        (placed,) = smtp_server.inbox.wait_for(before + 1)[before:]
        assert placed["From"] == SENDER and placed["To"] == "m@x.io"

        admin_side.shop.change("mail_delivery", {"driver": "disabled"}, actor="admin:a-1")
        deadline = time.monotonic() + 2  # the settings cache's bound, with room
        while worker.mailer.route().driver != "disabled":  # type: ignore[attr-defined]
            assert time.monotonic() < deadline, "the worker did not see the change"
            time.sleep(0.05)
        with capture_logs() as logs:
            worker.container.ordering.confirm_payment(order.order.id, actor="admin:a-1")
            assert worker.step(NEVER) >= 1
        assert [e["to"] for e in logs if e["event"] == "mail"] == ["m@x.io"]
        assert len(smtp_server.inbox.messages) == before + 1
    finally:
        worker.close()
        admin_side.close()
