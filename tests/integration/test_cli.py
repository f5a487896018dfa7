"""The `fabledger` command says where it works, refuses to answer from an empty store,
never takes a password it would throw away, and is the way to make a moderator."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.errors import Unauthorized
from domain.users import user_id_for
from infra.bootstrap import Container, bootstrap
from infra.settings import Settings
from tests.support.http import app_settings, error_of, login, register, running_app
from tests.support.postgres import PostgresDatabase
from workers import cli

JWT = "cli-tests-jwt-secret-long-enough-for-hs256-signing"
OLD = "correct horse battery"
NEW = "another horse battery"
ROOT = Path(__file__).resolve().parents[2]
MAINTENANCE = [
    ["projections", "status"],
    ["projections", "rebuild"],
    ["user", "role", "ana@example.com", "moderator"],
    ["billing", "replay", "--org", "00000000-0000-0000-0000-000000000000", "--period", "2026-11"],
]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A relative FABLEDGER_DATA_DIR ("data", from tmp_path): the CLI must resolve it."""
    for name in [n for n in os.environ if n.startswith("FABLEDGER_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FABLEDGER_DATA_DIR", "data")
    monkeypatch.setenv("FABLEDGER_JWT_SECRET", JWT)
    return (tmp_path / "data").resolve()


@pytest.fixture
def no_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the CLI asks for a password."""

    def refuse(prompt: str = "") -> str:
        raise AssertionError(f"prompted for a password: {prompt!r}")

    monkeypatch.setattr(getpass, "getpass", refuse)


def fabledger(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in this process: (exit status, stdout, stderr)."""
    capsys.readouterr()
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def container(data_dir: Path) -> Iterator[Container]:
    """The same store the CLI works on, opened by the test."""
    built = bootstrap(Settings(data_dir=data_dir, jwt_secret=JWT))
    try:
        yield built
    finally:
        built.close()


@pytest.mark.parametrize("command", MAINTENANCE, ids=lambda c: " ".join(c[:2]))
def test_maintenance_commands_refuse_a_missing_store_and_create_nothing(
    data_dir: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    code, out, err = fabledger(capsys, *command)

    assert code == 2, (out, err)
    assert f"fabledger: data dir {data_dir} (SQLite)" in err
    assert f"no event store at {data_dir}: this command would create a new, empty one" in err
    assert not data_dir.exists()


def test_admin_create_makes_the_store_and_says_so_then_commands_find_it(
    data_dir: Path, capsys: pytest.CaptureFixture[str], no_prompt: None
) -> None:
    code, out, err = fabledger(capsys, "admin", "create", "--email", "root@example.com",
                               "--password", OLD)  # fmt: skip

    assert code == 0, err
    assert f"creating a new store at {data_dir}" in err
    assert out.startswith("admin ready: root@example.com")
    code, out, err = fabledger(capsys, "projections", "status")
    assert code == 0, err
    assert err.strip() == f"fabledger: data dir {data_dir} (SQLite)"
    assert "orders: " in out


def test_workers_only_warn_about_a_missing_store(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = cli.parser().parse_args(["worker", "notify"])
    settings = Settings(data_dir=data_dir)

    assert cli.announce_store(args, settings) is None
    assert f"no event store at {data_dir} yet: starting on a new, empty one" in (
        capsys.readouterr().err
    )


def test_admin_create_on_an_existing_account_refuses_before_asking_for_a_password(
    data_dir: Path, container: Container, capsys: pytest.CaptureFixture[str], no_prompt: None
) -> None:
    container.identity.register(email="ana@example.com", username="ana", password=OLD)

    for password in (["--password", NEW], []):
        code, out, err = fabledger(capsys, "admin", "create", "--email", "ana@example.com",
                                   *password)  # fmt: skip
        assert code == 1, (out, err)
        assert "an account with e-mail ana@example.com already exists" in err
        assert "--reset-password" in err and "fabledger user role ana@example.com admin" in err

    assert container.identity.authenticate("ana@example.com", OLD).role == "user"


def test_reset_password_sets_the_prompted_password_and_makes_an_admin(
    data_dir: Path,
    container: Container,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    container.identity.register(email="ana@example.com", username="ana", password=OLD)
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": NEW)

    code, out, err = fabledger(
        capsys, "admin", "create", "--email", "ana@example.com", "--reset-password"
    )

    assert code == 0, err
    assert out.startswith("password set, admin ready: ana@example.com")
    ana = container.identity.authenticate("ana@example.com", NEW)
    assert ana.role == "admin"
    assert ana.session_epoch == 1  # like any password change: earlier sessions end
    with pytest.raises(Unauthorized):
        container.identity.authenticate("ana@example.com", OLD)
    stored = (data_dir / "identity.db").read_bytes()
    assert NEW.encode() not in stored and OLD.encode() not in stored


def test_reset_password_of_an_unknown_account_creates_nothing(
    data_dir: Path, container: Container, capsys: pytest.CaptureFixture[str], no_prompt: None
) -> None:
    code, _, err = fabledger(
        capsys, "admin", "create", "--email", "bob@example.com", "--reset-password"
    )

    assert code == 1
    assert "no account with e-mail bob@example.com to reset" in err
    assert container.identity.user_by_email("bob@example.com") is None


def test_user_role_makes_a_moderator_who_can_work_the_line(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_app(app_settings(data_dir)) as client:
        customer = register(client, "helper")
        error_of(client.get("/api/mod/orders", headers=customer.auth), 403)

        code, out, err = fabledger(capsys, "user", "role", "helper@example.com", "moderator")

        assert code == 0, err
        assert out.strip() == "helper@example.com: user -> moderator"
        moderator = login(client, "helper@example.com")
        assert moderator.role == "moderator"
        assert client.get("/api/mod/orders", headers=moderator.auth).status_code == 200
        error_of(client.get("/api/admin/stats", headers=moderator.auth), 403)
        identity = client.app.state.container.identity  # type: ignore[attr-defined]
        events = list(identity.repository.event_store.get(user_id_for("helper@example.com")))
        changed = events[-1]
        assert type(changed).__name__ == "RoleChanged"
        assert (changed.role, changed.actor) == ("moderator", "cli")

        code, out, _ = fabledger(capsys, "user", "role", "helper@example.com", "moderator")
        assert code == 0
        assert out.strip() == "helper@example.com is already moderator; nothing changed"
        assert len(list(identity.repository.event_store.get(changed.originator_id))) == len(events)


def test_user_role_keeps_the_last_admin(
    data_dir: Path, container: Container, capsys: pytest.CaptureFixture[str]
) -> None:
    container.identity.ensure_admin(email="boss@example.com", username="boss", password=OLD)

    code, _, err = fabledger(capsys, "user", "role", "boss@example.com", "user")

    assert code == 1
    assert "would leave no active admin" in err
    assert container.identity.authenticate("boss@example.com", OLD).role == "admin"


def test_user_role_of_an_unknown_account_or_role_is_refused(
    data_dir: Path, container: Container, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = fabledger(capsys, "user", "role", "nobody@example.com", "admin")
    assert code == 1
    assert "error: no account with e-mail nobody@example.com" in err

    with pytest.raises(SystemExit) as exited:
        cli.main(["user", "role", "nobody@example.com", "owner"])
    assert exited.value.code == 2
    assert "invalid choice: 'owner'" in capsys.readouterr().err


def test_database_urls_are_printed_without_their_passwords() -> None:
    url = "postgresql://me:s3cret@db.internal:5433/fab?password=s3cret&options=-csearch_path%3Dv"

    shown = cli.masked_url(url)

    assert "s3cret" not in shown
    assert (
        shown == "postgresql://me:***@db.internal:5433/fab?password=***&options=-csearch_path%3Dv"
    )
    assert cli.masked_url("postgresql://me@[::1]/fab") == "postgresql://me@[::1]/fab"
    assert "s3cret" not in cli.masked_url("postgresql://me:s3cret@host:port/fab")
    settings = Settings(data_dir=Path("/srv/fab"), database_url=url)
    assert cli.location(settings) == f"data dir /srv/fab, database {shown}"


def test_on_postgres_maintenance_needs_the_event_tables(
    data_dir: Path,
    postgres_db: PostgresDatabase,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FABLEDGER_DATABASE_URL", postgres_db.dsn)

    code, _, err = fabledger(capsys, "user", "role", "ana@example.com", "moderator")
    assert code == 2
    assert f"no event store at database {postgres_db.dsn}" in err

    code, _, err = fabledger(capsys, "admin", "create", "--email", "ana@example.com",
                             "--password", OLD)  # fmt: skip
    assert code == 0, err
    assert f"creating a new store at database {postgres_db.dsn}" in err
    # A second admin, so that ana may step down.
    code, _, err = fabledger(capsys, "admin", "create", "--email", "bob@example.com",
                             "--password", OLD)  # fmt: skip
    assert code == 0, err
    code, out, err = fabledger(capsys, "user", "role", "ana@example.com", "moderator")
    assert code == 0, err
    assert out.strip() == "ana@example.com: admin -> moderator"


def test_the_command_as_a_process_resolves_a_relative_data_dir_and_never_prompts_in_vain(
    data_dir: Path,
) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "workers.cli", *args],
            cwd=data_dir.parent,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )

    made = run("admin", "create", "--email", "root@example.com", "--password", OLD)
    assert made.returncode == 0, made.stderr
    assert f"fabledger: creating a new store at {data_dir}\n" in made.stderr

    again = run("admin", "create", "--email", "root@example.com")
    assert again.returncode == 1, again.stderr
    assert "Password" not in again.stderr and "already exists" in again.stderr
