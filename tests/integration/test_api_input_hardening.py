"""Story: a probe's hostile inputs are refused with 422 naming the field; nothing is lost.

Control characters never pass as text (a NUL in the staff search once matched every
order), a form field sent empty is a mistake rather than a request for the default, and
the history of an order can be read as it stood at a version or a time.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support.http import Account, after, checkout, error_of, place_order


def test_a_nul_in_the_staff_search_is_refused_not_a_match_for_everything(
    client: TestClient, customer: Account, admin: Account
) -> None:
    order = place_order(client, customer)
    listed = client.get(
        "/api/admin/orders", params={"q": "zzz"}, headers={**admin.auth, **after(order["position"])}
    )
    assert listed.json()["total"] == 0

    refused = client.get("/api/admin/orders", params={"q": "\x00"}, headers=admin.auth)

    assert "q: control characters" in error_of(refused, 422)


def test_control_characters_in_a_path_are_refused(client: TestClient) -> None:
    assert "control characters" in error_of(client.get("/api/track/FL-%00"), 422)


def test_json_text_fields_refuse_control_characters_but_notes_keep_their_lines(
    client: TestClient, customer: Account, admin: Account
) -> None:
    order = place_order(client, customer)
    notes = f"/api/admin/orders/{order['id']}/notes"

    refused = client.post(notes, headers=admin.auth, json={"note": "bell\x07"})
    assert "note: control characters" in error_of(refused, 422)
    bad_status = client.patch(
        f"/api/admin/orders/{order['id']}/status", headers=admin.auth, json={"status": "print\x00"}
    )
    assert "status: control characters" in error_of(bad_status, 422)

    kept = client.post(notes, headers=admin.auth, json={"note": "line one\nline two\ttabbed"})
    assert kept.status_code == 201, kept.text
    assert kept.json()["note"]["note"] == "line one\nline two\ttabbed"
    history = client.get(f"/api/admin/orders/{order['id']}/history", headers=admin.auth).json()
    assert [e["type"] for e in history["events"]] == ["Placed", "NoteAdded"]  # nothing else


def test_a_username_with_a_line_break_is_refused(client: TestClient) -> None:
    response = client.post(
        "/api/auth/register",
        json={
            "username": "evil\r\nBcc: x",
            "email": "evil@example.com",
            "password": "long enough pw",
        },
    )
    assert "username: control characters" in error_of(response, 422)


def test_empty_multipart_fields_are_refused_naming_the_field(
    client: TestClient, customer: Account
) -> None:
    for field in ("quantity", "fulfillment", "infill", "material"):
        response = checkout(client, customer, **{field: ""})
        assert error_of(response, 422).startswith(field), field
    bad_notes = checkout(client, customer, notes="ok\x00")
    assert "notes: control characters" in error_of(bad_notes, 422)


def test_history_as_of_a_version_or_a_time_stops_there(
    client: TestClient, customer: Account, admin: Account
) -> None:
    order = place_order(client, customer)
    base = f"/api/admin/orders/{order['id']}"
    client.patch(f"{base}/paid", headers=admin.auth, json={})  # PaymentConfirmed, StatusChanged
    client.patch(f"{base}/status", headers=admin.auth, json={"status": "printing"})
    full = client.get(f"{base}/history", headers=admin.auth).json()["events"]
    assert [e["version"] for e in full] == [1, 2, 3, 4]

    at_two = client.get(f"{base}/history", params={"as_of": "2"}, headers=admin.auth).json()
    assert [e["type"] for e in at_two["events"]] == ["Placed", "PaymentConfirmed"]

    placed_at = full[0]["timestamp"]
    at_placing = client.get(f"{base}/history", params={"as_of": placed_at}, headers=admin.auth)
    assert [e["version"] for e in at_placing.json()["events"]] == [1]

    assert "as_of" in error_of(
        client.get(f"{base}/history", params={"as_of": "yesterday"}, headers=admin.auth), 422
    )
    before = client.get(
        f"{base}/history", params={"as_of": "2000-01-01T00:00Z"}, headers=admin.auth
    )
    assert "did not exist" in error_of(before, 404)
