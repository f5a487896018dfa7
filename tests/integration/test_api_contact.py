"""Story: a signed-in customer writes to the shop within their daily limits; staff answer
from the inbox (/api/admin and /api/mod), each reply mailed; admins set one user's limits.

Roles: anonymous is 401 "Sign in to contact us" (the inbox: 401), customers 403 on every
staff route, moderators read and answer on /api/mod but get 403 on /api/admin, admins
both. Whatever anyone typed comes back as the same characters in JSON and in plain-text
mails: nothing is markup.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from infra.mailer import SmtpMailer
from tests.support.http import Account, after, error_of, place_order, register
from tests.support.mail import RecordingMailer
from tests.support.smtp import plain_smtp

HTML = "<script>alert('x')</script>\n<b>bold</b> & more"
UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def replies(client: TestClient) -> RecordingMailer:
    """Reply mails, kept instead of sent."""
    recording = RecordingMailer()
    client.app.state.container.inquiries.mailer = recording  # type: ignore[attr-defined]
    return recording


def send(client: TestClient, who: Account, **fields: Any) -> httpx.Response:
    body = {"subject": "A question", "message": "Hello", **fields}
    return client.post("/api/contact", headers=who.auth, json=body)


def sent(client: TestClient, who: Account, **fields: Any) -> dict[str, Any]:
    response = send(client, who, **fields)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def staff_routes(prefix: str, inquiry_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    base = f"{prefix}/contact"
    return [
        ("GET", base, None),
        ("GET", f"{base}/{inquiry_id}", None),
        ("POST", f"{base}/{inquiry_id}/reply", {"message": "Thanks"}),
        ("PATCH", f"{base}/{inquiry_id}/status", {"status": "in_progress"}),
    ]


def call(client: TestClient, who: Account | None, method: str, path: str, body: Any) -> Any:
    return client.request(method, path, json=body, headers=who.auth if who else {})


def test_anonymous_callers_are_asked_to_sign_in(client: TestClient) -> None:
    for method, path, body in (
        ("POST", "/api/contact", {"subject": "Hi", "message": "Hello"}),
        ("GET", "/api/contact/verify-order/FL-0000-0000-0000-0000", None),
        ("GET", "/api/contact/limits", None),
    ):
        response = call(client, None, method, path, body)
        assert error_of(response, 401) == "Sign in to contact us"
        assert response.headers["WWW-Authenticate"] == "Bearer"
    for prefix in ("/api/admin", "/api/mod"):
        for method, path, body in staff_routes(prefix, UNKNOWN):
            error_of(call(client, None, method, path, body), 401)
    error_of(client.get("/api/admin/contact/limits"), 401)


def test_each_role_reaches_exactly_its_inbox(
    client: TestClient, customer: Account, moderator: Account, admin: Account
) -> None:
    inquiry_id = sent(client, customer, subject="Roles")["inquiry"]["id"]
    for prefix, allowed in (
        ("/api/admin", (admin,)),
        ("/api/mod", (moderator, admin)),
    ):
        for method, path, body in staff_routes(prefix, inquiry_id):
            for who in (customer, moderator, admin):
                response = call(client, who, method, path, body)
                if who in allowed:
                    assert response.status_code in (200, 201), (who.role, path, response.text)
                else:
                    assert "requires role" in error_of(response, 403), (who.role, path)
    for who in (customer, moderator):
        error_of(client.get("/api/admin/contact/limits", headers=who.auth), 403)
        error_of(client.put(f"/api/admin/contact/limits/{who.id}", headers=who.auth, json={}), 403)


def test_a_customer_verifies_their_own_tracking_number_and_learns_nothing_of_others(
    client: TestClient, customer: Account, rival: Account
) -> None:
    order = place_order(client, customer)
    tracking = order["tracking_number"]
    path = f"/api/contact/verify-order/{tracking.lower()}"
    mine = client.get(path, headers={**customer.auth, **after(order["position"])})
    assert mine.json() == {"tracking_number": tracking, "belongs": True, "status": "pending"}
    theirs = client.get(path, headers=rival.auth).json()
    unknown = client.get("/api/contact/verify-order/FL-0000-0000-0000-0000", headers=rival.auth)
    assert theirs == {"tracking_number": tracking, "belongs": False, "status": None}
    assert {**unknown.json(), "tracking_number": tracking} == theirs

    about = sent(client, customer, order_tracking=tracking, subject="My order")["inquiry"]
    assert (about["topic"], about["topic_class"]) == ("order_issue", "orders")
    refused = send(client, rival, order_tracking=tracking, topic="shipping_update")
    assert "order_tracking" in error_of(refused, 422)


def test_over_the_daily_limit_is_429_with_the_time_until_the_next_message(
    client: TestClient,
) -> None:
    writer = register(client, "writer")
    for topic in ("general", "feedback", "account_help"):
        sent(client, writer, topic=topic)
    response = send(client, writer, topic="other")
    assert response.status_code == 429, response.text
    body = response.json()
    assert set(body) == {"error", "retry_after_seconds", "next_allowed_at"}
    assert body["error"] == "Daily limit reached"
    assert 86_000 < body["retry_after_seconds"] <= 86_400
    assert response.headers["Retry-After"] == str(body["retry_after_seconds"])
    sent(client, writer, topic="payment_query")  # order topics have their own, higher limit

    limits = client.get("/api/contact/limits", headers=writer.auth).json()
    general, orders = limits["limits"]
    assert (general["limit"], general["sent"], general["remaining"]) == (3, 3, 0)
    assert general["next_allowed_at"] == body["next_allowed_at"]
    assert (orders["limit"], orders["sent"], orders["next_allowed_at"]) == (10, 1, None)
    assert limits["topics"]["shipping_update"] == "orders"


def test_a_class_closed_by_the_shop_is_403(client: TestClient, admin: Account) -> None:
    writer = register(client, "closed-out")
    key = "/api/admin/settings/contact_daily_limit_orders"
    assert client.put(key, headers=admin.auth, json={"value": 0}).status_code == 200
    try:
        assert "closed" in error_of(send(client, writer, topic="order_issue"), 403)
        sent(client, writer, topic="feedback")
    finally:
        client.put(key, headers=admin.auth, json={"value": 10})
    assert "must be a whole number" in error_of(
        client.put(key, headers=admin.auth, json={"value": -1}), 422
    )


def test_an_admin_sets_one_users_limits(client: TestClient, admin: Account) -> None:
    trusted = register(client, "trusted")
    path = f"/api/admin/contact/limits/{trusted.id}"
    changed = client.put(path, headers=admin.auth, json={"general": 5, "orders": None})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["override"], body["changed"]) == ({"general": 5}, True)
    assert [c["limit"] for c in body["limits"]] == [5, 10]
    for _ in range(5):
        sent(client, trusted)
    assert send(client, trusted).status_code == 429

    listed = client.get(
        "/api/admin/contact/limits", headers={**admin.auth, **after(body["position"])}
    ).json()
    assert (listed["general"], listed["orders"]) == (3, 10)
    row = next(o for o in listed["overrides"] if o["user_id"] == trusted.id)
    assert (row["general"], row["orders"], row["actor"]) == (5, None, f"admin:{admin.id}")
    usage = client.get(path, headers=admin.auth).json()
    assert [(c["sent"], c["remaining"]) for c in usage["limits"]] == [(5, 0), (0, 10)]

    blocked = client.put(path, headers=admin.auth, json={"general": 0, "orders": 0}).json()
    assert blocked["override"] == {"general": 0, "orders": 0}
    assert "closed" in error_of(send(client, trusted, topic="order_issue"), 403)
    for bad in ({"general": -1}, {"general": "5"}, {"general": True}, {"everything": 1}):
        error_of(client.put(path, headers=admin.auth, json=bad), 422)
    unknown = f"/api/admin/contact/limits/{UNKNOWN}"
    assert error_of(client.put(unknown, headers=admin.auth, json={}), 404) == "user not found"
    error_of(client.get(unknown, headers=admin.auth), 404)


def test_staff_read_the_inbox_reply_by_mail_and_close(
    client: TestClient,
    customer: Account,
    moderator: Account,
    admin: Account,
    replies: RecordingMailer,
) -> None:
    answer = sent(client, customer, subject="<i>Broken</i> part", message=HTML, topic="feedback")
    inquiry = answer["inquiry"]
    assert (inquiry["subject"], inquiry["message"], inquiry["status"]) == (
        "<i>Broken</i> part",
        HTML,
        "open",
    )
    inbox = client.get(
        "/api/mod/contact?status=open&limit=100",
        headers={**moderator.auth, **after(answer["position"])},
    ).json()
    row = next(r for r in inbox["inquiries"] if r["id"] == inquiry["id"])
    assert (row["subject"], row["preview"], row["customer_email"]) == (
        "<i>Broken</i> part",
        HTML,
        customer.email,
    )
    assert inbox["inquiries"][0]["id"] == inquiry["id"]  # newest first
    assert inbox["counts"]["open"] >= 1 and set(inbox["counts"]) == {
        "open",
        "in_progress",
        "resolved",
        "closed",
    }

    path = f"/api/mod/contact/{inquiry['id']}"
    replied = client.post(f"{path}/reply", headers=moderator.auth, json={"message": "On it <3"})
    assert replied.status_code == 201, replied.text
    assert (replied.json()["mailed"], replied.json()["mail_error"]) == (True, None)
    mail = replies.sent[-1]
    assert (mail.to, mail.subject) == (customer.email, "Re: <i>Broken</i> part")
    assert mail.body.startswith("On it <3\n") and "> <script>alert('x')</script>" in mail.body

    detail = client.get(f"/api/admin/contact/{inquiry['id']}", headers=admin.auth).json()
    assert [(m["author"], m["message"]) for m in detail["messages"]] == [
        ("customer", HTML),
        ("staff", "On it <3"),
    ]
    assert detail["messages"][1]["actor"] == f"moderator:{moderator.id}"

    closed = client.patch(f"{path}/status", headers=admin.auth, json={"status": "closed"}).json()
    assert (closed["changed"], closed["inquiry"]["status"]) == (True, "closed")
    change = closed["inquiry"]["status_changes"][-1]
    assert (change["from_status"], change["to_status"], change["actor"]) == (
        "open",
        "closed",
        f"admin:{admin.id}",
    )
    late = client.post(f"{path}/reply", headers=moderator.auth, json={"message": "More"})
    assert "closed" in error_of(late, 409)
    assert len(replies.sent) == 1


def test_a_reply_reaches_a_real_smtp_server_as_plain_text(
    client: TestClient, customer: Account, admin: Account, replies: RecordingMailer
) -> None:
    inquiry_id = sent(client, customer, subject="Over SMTP", message=HTML)["inquiry"]["id"]
    inquiries = client.app.state.container.inquiries  # type: ignore[attr-defined]
    with plain_smtp() as server:
        inquiries.mailer = SmtpMailer(
            host="127.0.0.1", port=server.port, sender="shop@example.com", starttls=False
        )
        try:
            answer = client.post(
                f"/api/admin/contact/{inquiry_id}/reply",
                headers=admin.auth,
                json={"message": "<a href='x'>click</a>"},
            ).json()
        finally:
            inquiries.mailer = replies
        [message] = server.inbox.wait_for(1)
    assert answer["mailed"] is True
    assert (message["To"], message["Subject"]) == (customer.email, "Re: Over SMTP")
    assert not message.is_multipart() and message.get_content_type() == "text/plain"
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    text = payload.decode()
    assert text.startswith("<a href='x'>click</a>") and "> <script>alert('x')</script>" in text


def test_a_tracking_number_no_order_could_have_is_simply_not_yours(
    client: TestClient, customer: Account
) -> None:
    for odd in ("x" * 60, "%20", "<b>"):
        answer = client.get(f"/api/contact/verify-order/{odd}", headers=customer.auth)
        assert answer.status_code == 200, answer.text
        assert (answer.json()["belongs"], answer.json()["status"]) == (False, None)


def test_bad_input_is_422_and_unknown_inquiries_are_404(client: TestClient, admin: Account) -> None:
    writer = register(client, "careless")
    for body in (
        {"subject": "", "message": "Hello"},
        {"subject": "Two\nlines", "message": "Hello"},
        {"subject": "s" * 201, "message": "Hello"},
        {"subject": "Hi", "message": "m" * 5001},
        {"subject": "Hi", "message": "bell \x07"},
        {"subject": "Hi", "message": "Hello", "topic": "spam"},
        {"subject": "Hi"},
    ):
        error_of(client.post("/api/contact", headers=writer.auth, json=body), 422)
    sent(client, writer, message="Line one\r\nLine two\tTabbed")  # prose may span lines

    for method, path, json in staff_routes("/api/admin", UNKNOWN):
        if method != "GET" or path.endswith(UNKNOWN):
            assert error_of(call(client, admin, method, path, json), 404) == "inquiry not found"
    error_of(client.get("/api/admin/contact/not-an-id", headers=admin.auth), 404)
    error_of(client.get("/api/admin/contact?status=lost", headers=admin.auth), 422)
    inquiry_id = sent(client, writer, subject="Status")["inquiry"]["id"]
    status = f"/api/admin/contact/{inquiry_id}/status"
    error_of(client.patch(status, headers=admin.auth, json={"status": "deleted"}), 422)
    reply = f"/api/admin/contact/{inquiry_id}/reply"
    error_of(client.post(reply, headers=admin.auth, json={"message": "  "}), 422)
