"""The pure rules of 2FA: recovery codes, the backoff schedule, the shop's policy, and the
User aggregate's 2FA state (each step and recovery code used once, failures counted)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import Conflict, Forbidden, InvalidInput
from domain.two_factor import (
    CODE_USED,
    RECOVERY_CODE_USED,
    WRONG_CODE,
    lockout,
    match_recovery_code,
    normalise_recovery_code,
    normalise_totp_secret,
    recovery_code_from,
    recovery_code_hash,
    retry_after,
    two_factor_required,
)
from domain.users import User

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
CODES = [recovery_code_from(bytes([n]) * 10) for n in range(10)]
HASHES = [recovery_code_hash(c) for c in CODES]


def _user(role: str = "user", *, verified: bool = True) -> User:
    user = User.register(
        email=f"{role}@example.com", username=role, password_hash="h", role=role, actor="test"
    )
    if verified:
        user.verify_email(actor="test")
    return user


def _enrolled(role: str = "user") -> User:
    user = _user(role)
    user.enable_two_factor("sealed", HASHES, 100, forced=False, actor="test")
    return user


def test_a_recovery_code_is_80_bits_in_four_groups_of_unambiguous_characters() -> None:
    assert recovery_code_from(bytes(10)) == "0000-0000-0000-0000"
    assert recovery_code_from(b"\xff" * 10) == "zzzz-zzzz-zzzz-zzzz"
    code = recovery_code_from(bytes(range(10)))
    assert len(code) == 19 and not set(code) & set("ilou")
    with pytest.raises(ValueError):
        recovery_code_from(bytes(9))


def test_recovery_codes_are_read_however_they_are_typed_and_stored_as_sha256() -> None:
    code = CODES[1]
    for typed in (code, code.upper(), code.replace("-", " "), f"  {code.replace('-', '')} "):
        assert normalise_recovery_code(typed) == code.replace("-", "")
        assert recovery_code_hash(typed) == HASHES[1]
    assert HASHES[1] == hashlib.sha256(code.replace("-", "").encode()).hexdigest()
    for junk in ("", "123456", "iiii-iiii-iiii-iiii", code + "0"):
        assert normalise_recovery_code(junk) is None


def test_a_recovery_code_is_found_by_its_hash() -> None:
    assert match_recovery_code(HASHES, HASHES[7]) == 7
    assert match_recovery_code(HASHES, "0" * 64) is None


def test_only_the_secrets_setup_makes_are_taken() -> None:
    assert (
        normalise_totp_secret("jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp") == "JBSWY3DPEHPK3PXP" * 2
    )
    for bad in ("", "JBSWY3DPEHPK3PXP", "1" * 32, "A" * 33):
        assert normalise_totp_secret(bad) is None


@pytest.mark.parametrize(
    ("failures", "seconds"),
    [(0, 0), (4, 0), (5, 30), (6, 60), (7, 120), (8, 240), (11, 1920), (12, 3600), (99, 3600)],
)
def test_the_backoff_schedule(failures: int, seconds: int) -> None:
    assert lockout(failures) == timedelta(seconds=seconds)


def test_retry_after_counts_down_from_the_last_failure() -> None:
    assert retry_after(0, None, NOW) == 0
    assert retry_after(4, NOW, NOW) == 0
    assert retry_after(5, NOW, NOW) == 30
    assert retry_after(5, NOW, NOW + timedelta(seconds=29.5)) == 1  # whole seconds, rounded up
    assert retry_after(5, NOW, NOW + timedelta(seconds=30)) == 0
    assert retry_after(6, NOW, NOW + timedelta(seconds=30)) == 30


@pytest.mark.parametrize(
    ("policy", "staff", "required"),
    [
        ("optional", False, False),
        ("optional", True, False),
        ("required", False, True),
        ("required", True, True),
        ("required_staff", False, False),
        ("required_staff", True, True),
    ],
)
def test_the_shop_policy(policy: str, staff: bool, required: bool) -> None:
    assert two_factor_required(policy, is_staff=staff) is required


def test_enabling_needs_a_verified_email_unless_the_policy_forces_it() -> None:
    user = _user(verified=False)
    with pytest.raises(Forbidden, match="verify your e-mail"):
        user.enable_two_factor("sealed", HASHES, 1, forced=False, actor="test")
    user.enable_two_factor("sealed", HASHES, 1, forced=True, actor="test")
    assert user.two_factor_enabled


def test_enabling_ends_every_session_and_happens_once() -> None:
    user = _user()
    epoch = user.session_epoch
    user.enable_two_factor("sealed", HASHES, 100, forced=False, actor="test")
    assert user.session_epoch == epoch + 1 and user.totp_last_step == 100
    with pytest.raises(Conflict, match="already enabled"):
        user.enable_two_factor("sealed", HASHES, 101, forced=False, actor="test")
    with pytest.raises(InvalidInput):
        _user().enable_two_factor("sealed", HASHES[:9], 1, forced=False, actor="test")


def test_each_time_step_is_used_once_and_only_forward() -> None:
    user = _enrolled()
    with pytest.raises(InvalidInput, match=CODE_USED):
        user.use_totp_step(100, actor="test")  # the step that enabled 2FA
    user.use_totp_step(101, actor="test")
    for old in (101, 99):
        with pytest.raises(InvalidInput, match=CODE_USED):
            user.use_totp_step(old, actor="test")


def test_each_recovery_code_is_used_once() -> None:
    user = _enrolled()
    user.use_recovery_code(HASHES[2], actor="test")
    assert user.recovery_codes_used == (2,) and user.recovery_codes_left == 9
    with pytest.raises(InvalidInput, match=RECOVERY_CODE_USED):
        user.use_recovery_code(HASHES[2], actor="test")
    with pytest.raises(InvalidInput, match=WRONG_CODE):
        user.use_recovery_code("0" * 64, actor="test")


def test_failures_lock_the_step_and_a_success_resets_them() -> None:
    user = _enrolled()
    for n in range(5):
        user.record_two_factor_failure(at=NOW + timedelta(seconds=n), actor="test")
    assert user.two_factor_failures == 5
    assert user.two_factor_retry_after(NOW + timedelta(seconds=4)) == 30
    assert user.two_factor_retry_after(NOW + timedelta(seconds=34)) == 0
    user.use_totp_step(101, actor="test")
    assert user.two_factor_failures == 0 and user.two_factor_retry_after(NOW) == 0


def test_disabling_forgets_the_secret_unless_the_policy_requires_2fa() -> None:
    staff = _enrolled("moderator")
    with pytest.raises(Conflict, match="two_factor_policy"):
        staff.disable_two_factor("required_staff", actor="test")
    customer = _enrolled()
    with pytest.raises(Conflict, match="two_factor_policy"):
        customer.disable_two_factor("required", actor="test")
    customer.disable_two_factor("required_staff", actor="test")
    assert not customer.two_factor_enabled and customer.recovery_code_hashes == ()
    with pytest.raises(Conflict, match="not enabled"):
        customer.disable_two_factor("optional", actor="test")
    with pytest.raises(Conflict, match="not enabled"):
        customer.use_totp_step(200, actor="test")


def test_the_events_replay_to_the_same_state() -> None:
    user = _enrolled()
    user.use_totp_step(101, actor="test")
    user.use_recovery_code(HASHES[5], actor="test")
    user.record_two_factor_failure(at=NOW, actor="test")
    events = user.collect_events()

    replayed = None
    for stored in events:
        replayed = stored.mutate(replayed)

    assert isinstance(replayed, User)
    names = [type(e).__name__ for e in events]
    assert names[-5:] == [
        "TwoFactorEnabled",
        "SessionsEnded",
        "TotpStepUsed",
        "RecoveryCodeUsed",
        "TwoFactorFailed",
    ]
    assert all(e.actor == "test" for e in events[-5:])
    assert replayed.two_factor_enabled and replayed.totp_last_step == 101
    assert replayed.recovery_codes_used == (5,) and replayed.two_factor_failures == 1
