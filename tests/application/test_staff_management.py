"""Staff management on memory, SQLite and PostgreSQL: roles, deactivation, verification,
the last-admin guard, and the users view folding live and rebuilding to the same rows."""

from __future__ import annotations

from uuid import uuid4

import pytest

from application.identity import IdentityApp
from application.staff import LAST_ADMIN
from domain.errors import Conflict, InvalidInput, NotFound, Unauthorized
from domain.staff import ADMIN_GUARD_ID
from domain.users import User
from infra.bootstrap import Container
from projections.users import UserQuery, list_users

PASSWORD = "a long password 1"


def _events(identity: IdentityApp, user: User) -> list[tuple[str, str]]:
    return [
        (type(e).__name__, getattr(e, "actor", ""))
        for e in identity.repository.event_store.get(user.id)
    ]


def _user(identity: IdentityApp, name: str, role: str = "user") -> User:
    return identity.register(
        email=f"{name}@example.com", username=name, password=PASSWORD, role=role, actor="test"
    )


def test_roles_activation_and_verification_are_events_with_the_admins_actor(
    container: Container,
) -> None:
    identity, staff = container.identity, container.staff
    boss = identity.ensure_admin(email="boss@example.com", username="boss", password=PASSWORD)
    ana = _user(identity, "ana")
    actor = f"admin:{boss.id}"

    assert staff.update(ana.id, role="moderator", is_active=None, actor=actor).changed
    assert not staff.update(ana.id, role="moderator", is_active=None, actor=actor).changed
    off = staff.update(ana.id, role=None, is_active=False, actor=actor)
    assert off.changed and not off.user.is_active
    with pytest.raises(Unauthorized):
        identity.authenticate(ana.email, PASSWORD)
    assert staff.update(ana.id, role=None, is_active=True, actor=actor).user.is_active
    assert identity.authenticate(ana.email, PASSWORD).role == "moderator"
    assert staff.verify_email(ana.id, actor=actor).changed
    assert not staff.verify_email(ana.id, actor=actor).changed  # a repeat writes nothing

    assert _events(identity, ana) == [
        ("Registered", "test"),
        ("RoleChanged", actor),
        ("Deactivated", actor),
        ("SessionsEnded", actor),
        ("Reactivated", actor),
        ("EmailVerified", actor),
    ]


def test_refusals(container: Container) -> None:
    staff = container.staff
    ana = _user(container.identity, "ana")
    with pytest.raises(InvalidInput):
        staff.update(ana.id, role="owner", is_active=None, actor="t")
    with pytest.raises(InvalidInput):
        staff.update(ana.id, role=None, is_active=None, actor="t")
    with pytest.raises(NotFound):
        staff.update(uuid4(), role="user", is_active=None, actor="t")
    with pytest.raises(NotFound):
        staff.verify_email(uuid4(), actor="t")


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(container: Container) -> None:
    identity, staff = container.identity, container.staff
    runner = container.projections["users"]
    boss = identity.ensure_admin(email="boss@example.com", username="boss", password=PASSWORD)
    runner.catch_up()

    for role, active in (("user", None), ("moderator", None), (None, False)):
        with pytest.raises(Conflict, match="no active admin"):
            staff.update(boss.id, role=role, is_active=active, actor=f"admin:{boss.id}")
    assert identity.get_user(boss.id).role == "admin"  # type: ignore[union-attr]

    second = identity.ensure_admin(email="two@example.com", username="two", password=PASSWORD)
    runner.catch_up()
    assert staff.update(boss.id, role="user", is_active=None, actor=f"admin:{second.id}").changed
    runner.catch_up()
    with pytest.raises(Conflict, match="no active admin"):
        staff.update(second.id, role=None, is_active=False, actor=f"admin:{second.id}")
    assert LAST_ADMIN.startswith("this change would leave no active admin")
    # The removal was recorded on the guard stream, with its actor.
    guard = [type(e).__name__ for e in identity.repository.event_store.get(ADMIN_GUARD_ID)]
    assert guard == ["Created", "AdminRemoved"]


def test_a_stale_view_only_makes_the_count_smaller(container: Container) -> None:
    """An admin the view has not folded yet is not counted: a false 409, never a lost admin."""
    identity, staff = container.identity, container.staff
    runner = container.projections["users"]
    boss = identity.ensure_admin(email="boss@example.com", username="boss", password=PASSWORD)
    runner.catch_up()
    identity.ensure_admin(email="two@example.com", username="two", password=PASSWORD)
    with pytest.raises(Conflict):  # "two" is not in the view yet
        staff.update(boss.id, role="user", is_active=None, actor="t")
    runner.catch_up()
    assert staff.update(boss.id, role="user", is_active=None, actor="t").changed


def test_two_admins_demoting_each_other_at_once_cannot_both_commit(
    container: Container,
) -> None:
    """Both checks pass against the same state; the guard stream lets only one commit."""
    identity, staff = container.identity, container.staff
    runner = container.projections["users"]
    one = identity.ensure_admin(email="one@example.com", username="one", password=PASSWORD)
    two = identity.ensure_admin(email="two@example.com", username="two", password=PASSWORD)
    runner.catch_up()
    # Interleave: both read the guard before either saves.
    original = staff._save
    pending: list[tuple[object, ...]] = []

    def hold(*aggregates: object) -> int:
        pending.append(aggregates)
        return 0

    staff._save = hold  # type: ignore[method-assign,assignment]
    staff.update(one.id, role="user", is_active=None, actor=f"admin:{two.id}")
    staff.update(two.id, role="user", is_active=None, actor=f"admin:{one.id}")
    staff._save = original  # type: ignore[method-assign]
    original(*pending[0])  # type: ignore[arg-type]
    with pytest.raises(Conflict):
        original(*pending[1])  # type: ignore[arg-type]
    roles = {identity.get_user(u.id).role for u in (one, two)}  # type: ignore[union-attr]
    assert "admin" in roles


def test_users_view_folds_live_and_rebuilds_to_the_same_rows(container: Container) -> None:
    identity, staff = container.identity, container.staff
    runner = container.projections["users"]
    boss = identity.ensure_admin(email="boss@example.com", username="boss", password=PASSWORD)
    runner.catch_up()
    ana = _user(identity, "ana")
    _user(identity, "percent_50")  # '_' must match literally in a search
    runner.catch_up()
    staff.update(ana.id, role="moderator", is_active=False, actor=f"admin:{boss.id}")
    runner.catch_up()
    staff.verify_email(ana.id, actor=f"admin:{boss.id}")
    staff.update(ana.id, role=None, is_active=True, actor=f"admin:{boss.id}")
    runner.catch_up()

    with container.views.reading() as cur:
        incremental = list(runner.projection.dump(cur))
        rows, total = list_users(cur, UserQuery(q="ana@"))
        assert total == 1
        assert (rows[0]["role"], rows[0]["is_active"], rows[0]["email_verified"]) == (
            "moderator",
            True,
            True,
        )
        assert "password_hash" not in rows[0]
        assert list_users(cur, UserQuery(q="t_5"))[1] == 1
        assert list_users(cur, UserQuery(q="%"))[1] == 0
        assert list_users(cur, UserQuery(role="admin"))[1] == 1
        assert list_users(cur, UserQuery(limit=2, page=2))[0][0]["username"] == "boss"
    runner.rebuild()
    with container.views.reading() as cur:
        assert list(runner.projection.dump(cur)) == incremental
    assert len(incremental) == 3
