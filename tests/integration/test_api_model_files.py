"""Story: the 3D viewer streams a model's file, in byte ranges when it asks, and only a
listed model's file is anyone's to fetch; an owner sees their own model before approval.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.catalog_models import new_category, share_model, upload_model
from tests.support.factories import cube_stl
from tests.support.http import CUBE_STL, Account, error_of

SIZE = len(CUBE_STL)


@pytest.fixture(scope="module")
def listed(client: TestClient, admin: Account) -> dict[str, Any]:
    """A model in the storefront: the 20 mm cube."""
    return upload_model(client, admin, new_category(client, admin, "Viewer"), name="Viewed")


def file_of(model: dict[str, Any]) -> str:
    return f"/api/models/{model['id']}/file"


def test_anyone_streams_a_listed_models_whole_file(
    client: TestClient, listed: dict[str, Any]
) -> None:
    answer = client.get(file_of(listed))

    assert answer.status_code == 200
    assert answer.content == CUBE_STL
    assert answer.headers["content-type"] == "model/stl"
    assert answer.headers["accept-ranges"] == "bytes"
    assert answer.headers["content-length"] == str(SIZE)
    assert answer.headers["content-disposition"] == 'inline; filename="cube.stl"'


@pytest.mark.parametrize(
    ("asked", "start", "end"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, SIZE - 1),
        ("bytes=-84", SIZE - 84, SIZE - 1),
        ("bytes=600-99999", 600, SIZE - 1),  # a range past the end stops at the end
    ],
)
def test_a_byte_range_is_answered_206_with_its_content_range(
    client: TestClient, listed: dict[str, Any], asked: str, start: int, end: int
) -> None:
    answer = client.get(file_of(listed), headers={"Range": asked})

    assert answer.status_code == 206, answer.text
    assert answer.headers["content-range"] == f"bytes {start}-{end}/{SIZE}"
    assert answer.content == CUBE_STL[start : end + 1]


def test_several_ranges_come_as_multipart_byteranges(
    client: TestClient, listed: dict[str, Any]
) -> None:
    answer = client.get(file_of(listed), headers={"Range": "bytes=0-9, 20-29"})

    assert answer.status_code == 206
    assert answer.headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert CUBE_STL[0:10] in answer.content and CUBE_STL[20:30] in answer.content


def test_an_unsatisfiable_range_is_416_and_a_malformed_one_400_both_as_json(
    client: TestClient, listed: dict[str, Any]
) -> None:
    for asked in (f"bytes={SIZE}-", "bytes=-0", "bytes=99999-100000"):
        answer = client.get(file_of(listed), headers={"Range": asked})
        assert "the file has" in error_of(answer, 416), asked
        assert answer.headers["content-range"] == f"bytes */{SIZE}"
    for asked in ("bytes=5-1", "items=0-1", "bytes=", "bytes=a-b", "bytes=1-2," * 17):
        assert error_of(client.get(file_of(listed), headers={"Range": asked}), 400), asked


def test_an_unapproved_models_file_is_its_owners_and_staffs_only(
    client: TestClient, admin: Account, moderator: Account, customer: Account, rival: Account
) -> None:
    pending = share_model(client, customer, new_category(client, admin, "Private"), size_mm=30)
    path = file_of(pending)

    mine = client.get(path, headers=customer.auth)
    assert mine.status_code == 200 and mine.content == cube_stl(30)
    assert client.get(path, headers=moderator.auth).status_code == 200
    assert client.get(path, headers=admin.auth).status_code == 200
    assert error_of(client.get(path, headers=rival.auth), 404) == "catalog model not found"
    assert error_of(client.get(path), 404) == "catalog model not found"
    assert error_of(client.get(path, headers={"Range": "bytes=0-9"}), 404)
    error_of(client.get(path, headers={"Authorization": "Bearer not-a-token"}), 401)
    error_of(client.get("/api/models/not-an-id/file"), 404)


def test_staff_download_any_model_as_an_attachment(
    client: TestClient, admin: Account, moderator: Account, customer: Account
) -> None:
    pending = share_model(client, customer, new_category(client, admin, "Downloads"), size_mm=25)
    for who, prefix in ((admin, "/api/admin"), (moderator, "/api/mod")):
        answer = client.get(f"{prefix}/models/{pending['id']}/download", headers=who.auth)
        assert answer.status_code == 200, answer.text
        assert answer.content == cube_stl(25)
        assert answer.headers["content-disposition"] == 'attachment; filename="part.stl"'
    ranged = client.get(
        f"/api/admin/models/{pending['id']}/download",
        headers={**admin.auth, "Range": "bytes=0-4"},
    )
    assert ranged.status_code == 206 and ranged.content == cube_stl(25)[:5]
    error_of(client.get(f"/api/admin/models/{pending['id']}/download", headers=customer.auth), 403)
