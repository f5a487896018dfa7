"""Story: a customer pays an order by UPI over HTTP — the intent with its QR codes, the UTR,
staff reconciling it against the statement — and downloads the GST invoice; every refusal
on the way, and who may do what."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from tests.support.http import CUBE_STL, Account, after, checkout, error_of, place_order, upload

VPA = "printshop@okaxis"
UTR = "512345678901"


@pytest.fixture(scope="module", autouse=True)
def upi_on(client: TestClient, admin: Account) -> None:
    """The shop takes UPI: its VPA and payee name are set."""
    for key, value in (("upi_vpa", VPA), ("upi_payee_name", "Print Shop")):
        response = client.put(
            f"/api/admin/settings/{key}", headers=admin.auth, json={"value": value}
        )
        assert response.status_code == 200, response.text


def _payment_of(client: TestClient, account: Account, order_id: str) -> dict[str, Any]:
    response = client.get(f"/api/user/orders/{order_id}/payment", headers=account.auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_checkout_answers_with_the_upi_intent_and_its_qr_codes(
    client: TestClient, customer: Account
) -> None:
    response = checkout(client, customer)
    assert response.status_code == 201, response.text
    body = response.json()
    payment, total = body["payment"], body["order"]["price"]["total"]
    upi = payment["upi"]
    assert payment["status"] == "awaiting" and payment["amount_due"] == total
    assert upi["link"] == (
        f"upi://pay?pa={VPA}&pn=Print%20Shop&am={upi['amount_paise'] / 100:.2f}&cu=INR"
        f"&tr={payment['reference']}&tn={upi['link'].rsplit('&tn=', 1)[1]}"
    )
    png = client.get(upi["qr_png_url"], headers=customer.auth)
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert png.headers["cache-control"] == "no-store"
    svg = client.get(upi["qr_svg_url"], headers=customer.auth)
    assert svg.headers["content-type"].startswith("image/svg+xml") and "<svg" in svg.text
    assert _payment_of(client, customer, body["order"]["id"])["id"] == payment["id"]


def test_a_utr_reconciled_by_staff_confirms_the_order_and_issues_the_invoice(
    client: TestClient, customer: Account, admin: Account
) -> None:
    order = place_order(client, customer)
    payment = _payment_of(client, customer, order["id"])
    invoice_url = f"/api/user/orders/{order['id']}/invoice"
    assert "not paid" in error_of(client.get(invoice_url, headers=customer.auth), 409)

    sent = client.post(
        f"/api/user/payments/{payment['id']}/utr", headers=customer.auth, json={"utr": UTR}
    )
    assert sent.status_code == 200 and sent.json()["payment"]["status"] == "submitted"
    waiting = client.get(
        "/api/admin/payments?status=submitted",
        headers={**admin.auth, **after(sent.json()["position"])},
    ).json()["payments"]
    assert [p["utr"] for p in waiting if p["id"] == payment["id"]] == [UTR]

    done = client.post(
        f"/api/admin/payments/{payment['id']}/reconcile",
        headers=admin.auth,
        json={"amount": f"{payment['amount_due_paise'] / 100:.2f}"},
    )
    assert done.status_code == 200, done.text
    assert done.json()["payment"]["status"] == "confirmed"
    number = done.json()["payment"]["invoice_number"]
    assert number and len(number) <= 16
    mine = client.get(f"/api/user/orders/{order['id']}", headers=customer.auth).json()
    assert (mine["status"], mine["is_paid"]) == ("confirmed", True)

    pdf = client.get(invoice_url, headers=customer.auth)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert number in text and order["tracking_number"] in text
    assert client.get(invoice_url, headers=customer.auth).content == pdf.content  # from events
    staff_copy = client.get(f"/api/admin/orders/{order['id']}/invoice", headers=admin.auth)
    assert staff_copy.content == pdf.content


def test_a_wrong_amount_is_flagged_not_accepted(
    client: TestClient, customer: Account, admin: Account
) -> None:
    order = place_order(client, customer)
    payment = _payment_of(client, customer, order["id"])
    client.post(
        f"/api/user/payments/{payment['id']}/utr",
        headers=customer.auth,
        json={"utr": "512345678902"},
    )
    short = client.post(
        f"/api/admin/payments/{payment['id']}/reconcile",
        headers=admin.auth,
        json={"amount": "1.00"},
    )
    assert short.json()["payment"]["status"] == "short"
    assert (
        client.get(f"/api/user/orders/{order['id']}", headers=customer.auth).json()["status"]
        == "pending"
    )
    left = _payment_of(client, customer, order["id"])["upi"]
    assert left["amount_paise"] == payment["amount_due_paise"] - 100
    for amount in ("abc", "-5", "1.001", "0"):
        response = client.post(
            f"/api/admin/payments/{payment['id']}/reconcile",
            headers=admin.auth,
            json={"amount": amount},
        )
        error_of(response, 422)


def test_utr_refusals(client: TestClient, customer: Account, rival: Account) -> None:
    order = place_order(client, customer)
    payment = _payment_of(client, customer, order["id"])
    url = f"/api/user/payments/{payment['id']}/utr"
    for bad in ("12345", "5123456789012", "abcdefghijkl"):
        assert "12 digits" in error_of(
            client.post(url, headers=customer.auth, json={"utr": bad}), 422
        )
    error_of(client.post(url, headers=rival.auth, json={"utr": "512345678903"}), 404)
    error_of(client.get(f"/api/user/orders/{order['id']}/payment", headers=rival.auth), 404)
    error_of(client.get(f"/api/user/orders/{order['id']}/invoice", headers=rival.auth), 404)
    other = _payment_of(client, customer, place_order(client, customer)["id"])
    client.post(url, headers=customer.auth, json={"utr": "512345678904"})
    taken = client.post(
        f"/api/user/payments/{other['id']}/utr", headers=customer.auth, json={"utr": "512345678904"}
    )
    assert "another payment" in error_of(taken, 409)


def test_marking_paid_by_hand_is_a_payment_event_with_its_actor(
    client: TestClient, customer: Account, admin: Account
) -> None:
    order = place_order(client, customer)
    paid = client.patch(
        f"/api/admin/orders/{order['id']}/paid",
        headers=admin.auth,
        json={"method": "cash", "reference": "counter 3"},
    )
    assert paid.status_code == 200, paid.text
    assert paid.json()["order"]["status"] == "confirmed"
    payment = _payment_of(client, customer, order["id"])
    assert (payment["status"], payment["method"], payment["upi"]) == ("confirmed", "cash", None)
    history = client.get(f"/api/admin/payments/{payment['id']}", headers=admin.auth).json()
    assert history["received_paise"] == history["amount_due_paise"]
    error_of(client.patch(f"/api/admin/orders/{order['id']}/paid", headers=admin.auth), 409)
    qr = client.get(f"/api/user/payments/{payment['id']}/upi-qr.png", headers=customer.auth)
    error_of(qr, 409)


def test_cancelling_a_paid_order_records_the_refund_staff_then_send(
    client: TestClient, customer: Account, admin: Account
) -> None:
    order = place_order(client, customer)
    client.patch(f"/api/admin/orders/{order['id']}/paid", headers=admin.auth)
    cancelled = client.patch(
        f"/api/admin/orders/{order['id']}/status", headers=admin.auth, json={"status": "cancelled"}
    )
    assert cancelled.status_code == 200, cancelled.text
    client.app.state.container.flows["refund_flow"].catch_up()  # type: ignore[attr-defined]
    payment = _payment_of(client, customer, order["id"])
    assert [(r["key"], r["reference"]) for r in payment["refunds"]] == [(order["id"], None)]
    sent = client.post(
        f"/api/admin/payments/{payment['id']}/refunds/{order['id']}/sent",
        headers=admin.auth,
        json={"reference": "NEFT-REF-1"},
    )
    assert sent.json()["payment"]["refunds"][0]["reference"] == "NEFT-REF-1"
    again = client.post(
        f"/api/admin/payments/{payment['id']}/refunds/{order['id']}/sent",
        headers=admin.auth,
        json={"reference": "NEFT-REF-2"},
    )
    error_of(again, 409)


def test_who_may_reconcile(
    client: TestClient, customer: Account, moderator: Account, admin: Account
) -> None:
    order = place_order(client, customer)
    payment = _payment_of(client, customer, order["id"])
    routes = [
        ("GET", "/api/admin/payments", None),
        ("GET", f"/api/admin/payments/{payment['id']}", None),
        ("POST", f"/api/admin/payments/{payment['id']}/reconcile", {"amount": "1.00"}),
        ("POST", f"/api/admin/payments/{payment['id']}/reject", {"reason": "no"}),
        ("POST", f"/api/admin/payments/{payment['id']}/accept", None),
    ]
    for method, path, body in routes:
        assert client.request(method, path, json=body).status_code == 401
        for who in (customer, moderator):
            error_of(client.request(method, path, headers=who.auth, json=body), 403)
    error_of(client.get(f"/api/user/orders/{order['id']}/payment"), 401)
    error_of(client.post("/api/payments/stripe/webhook", content=b"{}"), 404)  # no Stripe here


def test_a_group_has_one_payment_and_one_invoice_listing_every_part(
    client: TestClient, customer: Account, admin: Account
) -> None:
    sessions = [
        upload(client, customer, f"p{i}.stl", CUBE_STL).json()["session_id"] for i in range(3)
    ]
    items = [
        {"session_id": s, "material": "PLA", "qty": 1 + i, "infill": 20}
        for i, s in enumerate(sessions)
    ]
    placed = client.post("/api/cart-checkout", headers=customer.auth, json={"items": items})
    assert placed.status_code == 201, placed.text
    group, payment = placed.json(), placed.json()["payment"]
    assert payment["amount_due"] == group["total"] and len(payment["order_ids"]) == 3
    for order in group["orders"]:
        assert _payment_of(client, customer, order["id"])["id"] == payment["id"]
    invoice_url = f"/api/user/orders/group/{group['group_id']}/invoice"
    assert "not paid" in error_of(client.get(invoice_url, headers=customer.auth), 409)

    paid = client.patch(f"/api/admin/orders/{group['orders'][1]['id']}/paid", headers=admin.auth)
    assert paid.status_code == 200, paid.text
    for order in group["orders"]:  # one payment confirms every part
        mine = client.get(f"/api/user/orders/{order['id']}", headers=customer.auth).json()
        assert mine["status"] == "confirmed"
    pdf = client.get(invoice_url, headers=customer.auth)
    assert pdf.status_code == 200, pdf.text
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    for order in group["orders"]:
        assert order["tracking_number"] in text
    one_part = client.get(
        f"/api/user/orders/{group['orders'][0]['id']}/invoice", headers=customer.auth
    )
    assert one_part.content == pdf.content  # a part's invoice is the group's
    staff_copy = client.get(
        f"/api/admin/orders/group/{group['group_id']}/invoice", headers=admin.auth
    )
    assert staff_copy.content == pdf.content
