"""HTTP test helpers: the app on a temp data dir, signed-in users, and the error-body check.

Tests talk to the app only through HTTP (FastAPI's TestClient, used as a context manager
so the lifespan runs and the in-process projections follow the log). The one exception is
creating staff: like the `fabledger admin create` command, the helpers go through the
container's identity application, then sign in over HTTP like anyone else.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from api.app import create_app
from infra.settings import Settings
from tests.support.factories import CORPUS, cube_stl

JWT_SECRET = "http-tests-jwt-secret-long-enough-for-hs256-signing"
PASSWORD = "correct horse battery"
TRACKING_NUMBER = re.compile(r"^FL-[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")
CUBE_STL = cube_stl()  # a watertight 20 mm cube: 8 cm3, 12 triangles


class _Settings(Settings):
    """Settings from the arguments and the defaults only: a developer's FABLEDGER_* variables
    (a database URL, a shorter session) must not change what these tests check."""

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: Any, *_: Any, **__: Any
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def app_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Embedded-mode settings on a temp data dir (SQLite files, projections in process)."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "jwt_secret": JWT_SECRET,
        "read_wait_seconds": 5,
        # One client IP sends a whole module's requests: the rate-limit tests turn them on.
        "rate_limits_enabled": False,
    }
    values.update(overrides)
    return _Settings(**values)


@contextmanager
def running_app(settings: Settings) -> Iterator[TestClient]:
    """The app with its lifespan running (container built, projections following).

    A crash is answered as the server answers it (500 {"error": "internal error"}), so a
    test sees the status a client would; the traceback is in the captured log output.
    """
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


@dataclass(frozen=True)
class Account:
    """A signed-in user as a client sees it."""

    id: str
    email: str
    role: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        """The Authorization header of this user's session."""
        return {"Authorization": f"Bearer {self.token}"}


def register(client: TestClient, name: str, password: str = PASSWORD) -> Account:
    """Register `name@example.com` over HTTP and keep the token the answer carries."""
    email = f"{name}@example.com"
    response = client.post(
        "/api/auth/register", json={"username": name, "email": email, "password": password}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Account(id=body["user"]["id"], email=email, role="user", token=body["token"])


def login(client: TestClient, email: str, password: str = PASSWORD) -> Account:
    """Sign in over HTTP."""
    response = client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body = response.json()
    user = body["user"]
    return Account(id=user["id"], email=user["email"], role=user["role"], token=body["token"])


def staff(client: TestClient, role: str, name: str) -> Account:
    """An admin (as `fabledger admin create` makes one) or a moderator, signed in over HTTP."""
    identity = client.app.state.container.identity  # type: ignore[attr-defined]
    email = f"{name}@example.com"
    if role == "admin":
        identity.ensure_admin(email=email, username=name, password=PASSWORD)
    else:
        identity.register(email=email, username=name, password=PASSWORD, role=role, actor="test")
    account = login(client, email)
    assert account.role == role
    return account


def error_of(response: httpx.Response, status: int) -> str:
    """Assert the status and the one error shape, {"error": "<non-empty text>"}; the text."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    assert isinstance(body["error"], str) and body["error"].strip(), body
    return str(body["error"])


def after(position: int) -> dict[str, str]:
    """Read-your-writes: a read that waits until the views include `position`."""
    return {"X-Min-Position": str(position)}


def upload(
    client: TestClient, account: Account | None, filename: str, data: bytes
) -> httpx.Response:
    """POST /api/upload-for-cart with one model file."""
    return client.post(
        "/api/upload-for-cart",
        headers=account.auth if account else {},
        files={"model_file": (filename, data, "application/octet-stream")},
    )


def checkout(
    client: TestClient,
    account: Account,
    *,
    model: tuple[str, bytes] | None = ("cube.stl", CUBE_STL),
    key: str | None = None,
    **fields: Any,
) -> httpx.Response:
    """POST /api/checkout (multipart): PLA, 2 copies, 20 % infill, pickup unless overridden."""
    form: dict[str, str] = {
        "material": "PLA",
        "quantity": "2",
        "infill": "20",
        "fulfillment": "pickup",
    }
    form.update({k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in fields.items()})
    headers = dict(account.auth)
    if key is not None:
        headers["Idempotency-Key"] = key
    files = {"model_file": (model[0], model[1], "application/octet-stream")} if model else None
    return client.post("/api/checkout", headers=headers, data=form, files=files)


def place_order(client: TestClient, account: Account, **fields: Any) -> dict[str, Any]:
    """A successful checkout: the answer's order, with the position it wrote."""
    response = checkout(client, account, **fields)
    assert response.status_code == 201, response.text
    body = response.json()
    return {**body["order"], "position": body["position"]}


def corpus_file(relative: str) -> bytes:
    """A test mesh from the copied corpus (tests/data/meshes)."""
    return (CORPUS / relative).read_bytes()
