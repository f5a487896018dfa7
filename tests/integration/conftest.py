"""Fixtures of the HTTP tests: one app per test module, and its users.

Signing up costs an argon2 hash (~50 ms), so each module shares its app and accounts;
stories that need a pristine log (exact counts) build their own app with `running_app`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.support.http import Account, app_settings, register, running_app, staff
from tests.support.localstripe import localstripe_server
from tests.support.mail import RecordingMailer


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app on its own SQLite data dir, lifespan running, for the whole module."""
    with running_app(app_settings(tmp_path_factory.mktemp("fabledger"))) as running:
        yield running


@pytest.fixture(scope="module")
def customer(client: TestClient) -> Account:
    """A customer who signed up over HTTP."""
    return register(client, "maker")


@pytest.fixture(scope="module")
def rival(client: TestClient) -> Account:
    """A second customer, to prove nobody sees anyone else's orders."""
    return register(client, "rival")


@pytest.fixture(scope="module")
def admin(client: TestClient) -> Account:
    """An admin made the way the CLI makes one, signed in over HTTP."""
    return staff(client, "admin", "boss")


@pytest.fixture(scope="module")
def moderator(client: TestClient) -> Account:
    """A moderator, signed in over HTTP."""
    return staff(client, "moderator", "floor")


@pytest.fixture(scope="module")
def mailer(client: TestClient) -> RecordingMailer:
    """Account mails (password reset, verification) kept instead of sent."""
    recording = RecordingMailer()
    client.app.state.container.accounts.mailer = recording  # type: ignore[attr-defined]
    return recording


@pytest.fixture(scope="module")
def localstripe_url() -> Iterator[str]:
    """A real localstripe server for the module, on a free 127.0.0.1 port."""
    with localstripe_server() as url:
        yield url
