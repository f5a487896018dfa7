"""Story: no caller makes the server hold a body it never needed.

Every request body but the uploads' is capped (1 MB by default, FABLEDGER_MAX_JSON_BYTES):
past it the answer is 413 {"error": ...}, refused from Content-Length before anything is
read, or while a chunked body streams in. Bodies under the cap are served as before, and
the upload endpoints keep their own cap (MAX_FILE_SIZE_MB).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import trimesh
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from tests.support.http import CUBE_STL, Account, app_settings, error_of, running_app
from tests.support.served import free_port

QUOTE = {"dim_x_mm": 40, "dim_y_mm": 30, "dim_z_mm": 20, "volume_cm3": 12.5, "material": "PLA"}
KB = 1024
MB = 1024 * KB


def _padded_quote(size: int) -> bytes:
    """A valid quote request, padded with JSON whitespace to `size` bytes."""
    body = json.dumps(QUOTE).encode()
    return body + b" " * (size - len(body))


def _chunks(data: bytes, size: int = 64 * KB) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


JSON = {"Content-Type": "application/json"}


def test_a_json_body_past_the_cap_is_413_from_its_content_length(client: TestClient) -> None:
    response = client.post("/api/quote", content=_padded_quote(2 * MB), headers=JSON)

    assert "1 MB" in error_of(response, 413)


def test_a_chunked_json_body_past_the_cap_is_413_while_it_streams(client: TestClient) -> None:
    response = client.post("/api/quote", content=_chunks(_padded_quote(2 * MB)), headers=JSON)

    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in response.request.headers
    assert "1 MB" in error_of(response, 413)


def test_a_json_body_under_the_cap_is_served_as_before(client: TestClient) -> None:
    for content in (_padded_quote(900 * KB), _chunks(_padded_quote(900 * KB))):
        response = client.post("/api/quote", content=content, headers=JSON)

        assert response.status_code == 200, response.text
        assert float(response.json()["quote"]["total"]) > 0


def test_the_json_cap_is_a_setting(tmp_path: Path) -> None:
    with running_app(app_settings(tmp_path, max_json_bytes=2 * KB)) as small:
        refused = small.post("/api/quote", content=_padded_quote(3 * KB), headers=JSON)
        served = small.post("/api/quote", content=_padded_quote(2 * KB), headers=JSON)
        login = small.post(
            "/api/auth/login", json={"email": "a@example.com", "password": "x" * 4000}
        )

    assert "2 KB" in error_of(refused, 413)
    assert served.status_code == 200, served.text
    error_of(login, 413)  # every non-upload path, not only the quote


def test_uploads_keep_their_own_larger_cap(client: TestClient, customer: Account) -> None:
    sphere = trimesh.creation.icosphere(subdivisions=6, radius=20).export(file_type="stl")
    assert len(sphere) > 3 * MB  # three times the JSON cap

    response = client.post(
        "/api/upload-for-cart",
        headers=customer.auth,
        files={"model_file": ("sphere.stl", sphere, "model/stl")},
    )

    assert response.status_code == 201, response.text


def test_an_upload_past_the_file_cap_is_still_413(tmp_path: Path) -> None:
    with running_app(app_settings(tmp_path, max_file_size_mb=1)) as capped:
        response = capped.post(
            "/api/upload-for-cart",
            files={"model_file": ("big.stl", CUBE_STL + b" " * (2 * MB))},
        )

    assert "file is larger than the 1 MB limit" in error_of(response, 413)


@contextmanager
def _served(app: FastAPI) -> Iterator[str]:
    """The app under uvicorn on a free port."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_served_instance_refuses_a_big_json_body_over_real_http(
    tmp_path: Path, framing: str
) -> None:
    body = _padded_quote(2 * MB)
    content: Any = body if framing == "content-length" else _chunks(body)
    with _served(create_app(app_settings(tmp_path))) as url, httpx.Client(base_url=url) as http:
        response = http.post("/api/quote", content=content, headers=JSON)
        assert "1 MB" in error_of(response, 413)
        assert http.get("/api/health").json() == {"status": "ok"}
