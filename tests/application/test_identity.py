"""Staff accounts: an admin is created, or an existing account's password is reset on purpose;
roles change by event, with the actor who changed them."""

from __future__ import annotations

import pytest

from application.identity import IdentityApp
from domain.errors import Conflict, InvalidInput, NotFound, Unauthorized
from domain.users import User
from infra.bootstrap import Container

OLD = "old password 1"
NEW = "new password 2"


def _events(identity: IdentityApp, user: User) -> list[tuple[str, str]]:
    """(event name, actor) of every event on the user's stream, oldest first."""
    return [
        (type(e).__name__, getattr(e, "actor", ""))
        for e in identity.repository.event_store.get(user.id)
    ]


def _customer(identity: IdentityApp, name: str = "ana") -> User:
    return identity.register(email=f"{name}@example.com", username=name, password=OLD)


def test_ensure_admin_creates_a_new_admin(container: Container) -> None:
    identity = container.identity

    admin = identity.ensure_admin(email="Root@Example.com", username="root", password=OLD)

    assert (admin.email, admin.role) == ("root@example.com", "admin")
    assert identity.authenticate("root@example.com", OLD).id == admin.id
    assert _events(identity, admin) == [("Registered", "cli")]


def test_an_existing_account_is_refused_and_keeps_its_password_and_role(
    container: Container,
) -> None:
    identity = container.identity
    user = _customer(identity)

    with pytest.raises(Conflict, match="already exists"):
        identity.ensure_admin(email=user.email, username="ana", password=NEW)

    assert identity.authenticate(user.email, OLD).role == "user"
    with pytest.raises(Unauthorized):
        identity.authenticate(user.email, NEW)
    assert [name for name, _ in _events(identity, user)] == ["Registered"]


def test_reset_password_sets_it_and_promotes_in_one_write(container: Container) -> None:
    identity = container.identity
    user = _customer(identity)
    position = identity.position()

    admin = identity.ensure_admin(
        email=user.email, username="ignored", password=NEW, reset_password=True
    )

    assert admin.role == "admin" and admin.username == "ana"
    assert identity.authenticate(user.email, NEW).role == "admin"
    with pytest.raises(Unauthorized):
        identity.authenticate(user.email, OLD)
    assert _events(identity, admin)[1:] == [
        ("PasswordChanged", "cli"),
        ("SessionsEnded", "cli"),
        ("RoleChanged", "cli"),
    ]
    assert identity.position() == position + 3
    changed = list(identity.repository.event_store.get(admin.id))[1]
    assert NEW not in repr(vars(changed))  # only the hash is stored


def test_reset_password_checks_the_rules_and_needs_an_account(container: Container) -> None:
    identity = container.identity
    user = _customer(identity)

    with pytest.raises(InvalidInput, match="at least"):
        identity.ensure_admin(
            email=user.email, username="ana", password="short", reset_password=True
        )
    with pytest.raises(NotFound, match="no account"):
        identity.ensure_admin(
            email="nobody@example.com", username="nobody", password=NEW, reset_password=True
        )

    assert identity.user_by_email("nobody@example.com") is None
    assert identity.authenticate(user.email, OLD).role == "user"


def test_change_role_records_who_changed_it_and_skips_no_op_changes(
    container: Container,
) -> None:
    identity = container.identity
    user = _customer(identity)

    change, previous = container.staff.change_role_by_email(user.email, "moderator", actor="cli")
    moderator = change.user
    assert (previous, moderator.role, moderator.is_staff) == ("user", "moderator", True)
    version = moderator.version

    change, previous = container.staff.change_role_by_email(user.email, "moderator", actor="cli")
    again = change.user
    assert (previous, again.role, again.version) == ("moderator", "moderator", version)
    assert _events(identity, user) == [
        ("Registered", f"self:{user.id}"),
        ("RoleChanged", "cli"),
    ]


def test_change_role_refuses_an_unknown_account_or_role(container: Container) -> None:
    identity = container.identity
    user = _customer(identity)

    with pytest.raises(NotFound, match="no account with e-mail nobody@"):
        container.staff.change_role_by_email("nobody@example.com", "admin", actor="cli")
    with pytest.raises(InvalidInput, match="role must be one of"):
        container.staff.change_role_by_email(user.email, "owner", actor="cli")
    assert identity.authenticate(user.email, OLD).role == "user"


def test_a_password_change_or_reset_moves_the_session_epoch(container: Container) -> None:
    from datetime import UTC, datetime, timedelta

    from application.accounts import reset_token_for

    accounts = container.accounts
    user = _customer(container.identity, "epoch")
    assert user.session_epoch == 0

    accounts.change_password(user, OLD, NEW)
    assert container.identity.get_user(user.id).session_epoch == 1  # type: ignore[union-attr]
    with pytest.raises(InvalidInput, match="wrong password"):
        accounts.change_password(container.identity.get_user(user.id), OLD, NEW)  # type: ignore[arg-type]

    now = datetime.now(UTC)
    mail = accounts.forgot_password(user.email, now=now)
    assert mail is not None and mail.to == user.email
    assert accounts.forgot_password("nobody@example.com", now=now) is None
    token = mail.body.split("token=")[1].split()[0]
    assert token.split(".")[0] == reset_token_for(user.id).split(".")[0]
    with pytest.raises(InvalidInput, match="expired"):
        accounts.reset_password(token, OLD, now=now + timedelta(hours=1))
    reset = accounts.reset_password(token, OLD, now=now + timedelta(minutes=59))
    assert reset.session_epoch == 2
    with pytest.raises(InvalidInput, match="already used"):
        accounts.reset_password(token, OLD, now=now)
    stored = container.identity.get_user(user.id)
    assert stored is not None and stored.session_epoch == 2
    assert container.identity.authenticate(user.email, OLD).id == user.id
    names = [name for name, _ in _events(container.identity, user)]
    assert names[1:] == [
        "PasswordChanged",
        "SessionsEnded",
        "PasswordResetRequested",
        "PasswordReset",
        "SessionsEnded",
    ]
    assert all(actor for _, actor in _events(container.identity, user))


def test_a_concurrent_write_to_the_user_is_reloaded_and_decided_again(
    container: Container,
) -> None:
    identity = container.identity
    user = _customer(identity, "racer")
    calls: list[int] = []

    def rename_after_a_competing_write(u: User) -> None:
        if not calls:  # another request writes the stream between our load and our save
            other = identity.get_user(u.id)
            assert other is not None
            other.update_profile(username=None, display_name="Other", actor="test")
            identity.save(other)
        calls.append(u.version)
        u.update_profile(username="racer2", display_name=None, actor="test")

    saved = identity.change_user(user.id, rename_after_a_competing_write)

    assert len(calls) == 2 and calls[1] == calls[0] + 1
    stored = identity.get_user(user.id)
    assert stored is not None and saved.version == stored.version
    assert (stored.username, stored.display_name) == ("racer2", "Other")
