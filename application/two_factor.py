"""TOTP two-factor authentication: enrol, take the second step of a login, turn it off.

Login with 2FA on: the password answers a 10-minute interim token (purpose COMPLETE_LOGIN),
which login-2fa exchanges, with a TOTP code or a recovery code, for a session. When the
shop's two_factor_policy requires 2FA of a user who has none, the password answers an
interim token of purpose ENROL instead: setup-2fa and enable-2fa take it (and nothing
else does), and enable-2fa answers the recovery codes with a session.

Every code is used up on the user's stream (`TotpStepUsed` names the time step,
`RecoveryCodeUsed` the code's index): two requests with the same code both load the same
version, one save wins and the other's version check fails, so it reloads, finds the step
used and is refused. Wrong codes are `TwoFactorFailed` events on the same stream, so the
backoff (domain.two_factor) holds for every API process.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application.identity import ATTEMPTS, BUSY, IdentityApp
from application.ports import QrCodes, SecretBox, TotpCodes
from application.shop import ShopApp
from domain.errors import Conflict, InvalidInput, TooManyAttempts, Unauthorized
from domain.two_factor import (
    COMPLETE_LOGIN,
    ENROL,
    RECOVERY_CODE_BYTES,
    RECOVERY_CODE_COUNT,
    TOTP_CODE,
    WRONG_CODE,
    normalise_recovery_code,
    normalise_totp_secret,
    recovery_code_from,
    recovery_code_hash,
    two_factor_required,
)
from domain.users import User

NO_MATCH = "password: wrong password"
NOT_FROM_SETUP = "secret: must be the 32-character base32 secret that setup-2fa answered"


@dataclass(frozen=True)
class Enrolment:
    """A fresh secret to enrol an authenticator app with (nothing is stored yet)."""

    secret: str
    otpauth_uri: str
    qr_png: str  # data:image/png;base64,...


@dataclass
class TwoFactor:
    """The second factor of the identity context: TOTP codes and recovery codes."""

    identity: IdentityApp
    shop: ShopApp  # the two_factor_policy setting
    codes: TotpCodes
    qr: QrCodes
    box: SecretBox  # TOTP secrets are sealed before they enter an event

    def policy(self) -> str:
        """The shop's two_factor_policy: optional, required or required_staff."""
        return str(self.shop.value("two_factor_policy"))

    def next_step(self, user: User) -> str | None:
        """What the password alone leads to: None (a session), COMPLETE_LOGIN or ENROL."""
        if user.two_factor_enabled:
            return COMPLETE_LOGIN
        if two_factor_required(self.policy(), is_staff=user.is_staff):
            return ENROL
        return None

    def interim_user(self, user_id: UUID, session_epoch: int) -> User:
        """The user an interim token speaks for, while it is still good for them."""
        user = self.identity.get_user(user_id)
        if user is None or not user.is_active:
            raise Unauthorized("interim_token: invalid; sign in again")
        if session_epoch != user.session_epoch:  # a password change or reset since
            raise Unauthorized("interim_token: sessions of this account ended; sign in again")
        return user

    def setup(self, user: User, *, forced: bool) -> Enrolment:
        """A new secret with its otpauth:// URI and QR code; enable() stores it."""
        user.check_can_enrol(forced=forced)
        secret = self.codes.new_secret()
        uri = self.codes.provisioning_uri(secret, user.email)
        return Enrolment(secret=secret, otpauth_uri=uri, qr_png=self.qr.png_data_uri(uri))

    def enable(
        self, user_id: UUID, secret: str, code: str, *, now: datetime, forced: bool
    ) -> tuple[User, list[str]]:
        """Turn 2FA on once a code proves the app has the secret: (the user, the recovery
        codes in clear, to be shown this once). Every earlier session ends."""
        plain = normalise_totp_secret(secret)
        if plain is None:
            raise InvalidInput(NOT_FROM_SETUP)
        text = code.strip()
        step = self.codes.matching_step(plain, text, now) if TOTP_CODE.fullmatch(text) else None
        if step is None:
            raise InvalidInput(WRONG_CODE)
        recovery = [
            recovery_code_from(secrets.token_bytes(RECOVERY_CODE_BYTES))
            for _ in range(RECOVERY_CODE_COUNT)
        ]
        hashes = [recovery_code_hash(c) for c in recovery]
        sealed = self.box.seal(plain)
        user = self.identity.change_user(
            user_id,
            lambda u: u.enable_two_factor(
                sealed, hashes, step, forced=forced, actor=f"self:{u.id}"
            ),
        )
        return user, recovery

    def complete_login(
        self, user_id: UUID, session_epoch: int, code: str, *, now: datetime
    ) -> User:
        """Take the second step with a TOTP code or a recovery code (each used up)."""
        self.interim_user(user_id, session_epoch)  # 401 before the backoff's 429

        def check(user: User) -> None:
            if session_epoch != user.session_epoch:
                raise Unauthorized("interim_token: sessions of this account ended; sign in again")
            if not user.two_factor_enabled:
                raise Unauthorized("interim_token: 2FA was turned off since; sign in again")
            self._use_code(user, code, now)

        return self._second_step(user_id, check, now)

    def disable(self, user: User, code: str, password: str, *, now: datetime) -> User:
        """Turn 2FA off with the password and a current code (or a recovery code)."""
        policy = self.policy()
        user.check_can_disable(policy)  # 409 before anything counts as a wrong try

        def check(fresh: User) -> None:
            if not self.identity.hasher.verify(fresh.password_hash, password):
                raise InvalidInput(NO_MATCH)
            self._use_code(fresh, code, now)
            fresh.disable_two_factor(policy, actor=f"self:{fresh.id}")

        return self._second_step(user.id, check, now)

    def _use_code(self, user: User, code: str, now: datetime) -> None:
        """Use up the TOTP step or the recovery code this code proves, else InvalidInput."""
        text = code.strip()
        recovery = normalise_recovery_code(text)
        actor = f"self:{user.id}"
        if TOTP_CODE.fullmatch(text):
            step = self.codes.matching_step(self._secret_of(user), text, now)
            if step is None:
                raise InvalidInput(WRONG_CODE)
            user.use_totp_step(step, actor=actor)
        elif recovery is not None:
            user.use_recovery_code(recovery_code_hash(recovery), actor=actor)
        else:
            raise InvalidInput(WRONG_CODE)

    def _secret_of(self, user: User) -> str:
        sealed = user.totp_secret_box
        if sealed is None:
            raise Conflict("2FA is not enabled")
        try:
            return self.box.open(sealed)
        except ValueError as error:  # a lost or replaced secrets_key: an operator must act
            raise RuntimeError(f"the 2FA secret of user {user.id} cannot be opened") from error

    def _second_step(self, user_id: UUID, check: Callable[[User], None], now: datetime) -> User:
        """Run a code check on the user as stored now and save what it used up.

        Locked (429) while the backoff runs, before the code is even looked at; a wrong code
        or password is counted (`TwoFactorFailed`) and refused; a lost race for the stream
        reloads and checks again, so a code used meanwhile is refused as used.
        """
        for _ in range(ATTEMPTS):
            user = self.identity.get_user(user_id)
            if user is None or not user.is_active:
                raise Unauthorized("this account is gone or deactivated; sign in again")
            wait = user.two_factor_retry_after(now)
            if wait:
                raise TooManyAttempts(
                    f"code: too many wrong codes; try again in {wait} seconds", retry_after=wait
                )
            try:
                check(user)
            except InvalidInput:
                self._count_failure(user_id, now)
                raise
            try:
                self.identity.save(user)
            except IntegrityError:
                continue
            return user
        raise Conflict(BUSY)

    def _count_failure(self, user_id: UUID, now: datetime) -> None:
        """Record a wrong try; a write that keeps losing races is given up (the refusal
        still stands, and the racing writes are tries of their own)."""
        for _ in range(ATTEMPTS):
            user = self.identity.get_user(user_id)
            if user is None:
                return
            user.record_two_factor_failure(at=now, actor=f"self:{user.id}")
            try:
                self.identity.save(user)
            except IntegrityError:
                continue
            return
