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
    assert _events(identity, admin)[1:] == [("PasswordChanged", "cli"), ("RoleChanged", "cli")]
    assert identity.position() == position + 2
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

    moderator, previous = identity.change_role(email=user.email, role="moderator", actor="cli")
    assert (previous, moderator.role, moderator.is_staff) == ("user", "moderator", True)
    version = moderator.version

    again, previous = identity.change_role(email=user.email, role="moderator", actor="cli")
    assert (previous, again.role, again.version) == ("moderator", "moderator", version)
    assert _events(identity, user) == [
        ("Registered", f"self:{user.id}"),
        ("RoleChanged", "cli"),
    ]


def test_change_role_refuses_an_unknown_account_or_role(container: Container) -> None:
    identity = container.identity
    user = _customer(identity)

    with pytest.raises(NotFound, match="no account with e-mail nobody@"):
        identity.change_role(email="nobody@example.com", role="admin", actor="cli")
    with pytest.raises(InvalidInput, match="role must be one of"):
        identity.change_role(email=user.email, role="owner", actor="cli")
    assert identity.authenticate(user.email, OLD).role == "user"
