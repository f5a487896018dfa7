"""The User aggregate: identity, role and credentials of a customer or staff member."""

from __future__ import annotations

import hmac
import re
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, Forbidden, InvalidInput
from domain.two_factor import (
    CODE_USED,
    RECOVERY_CODE_COUNT,
    RECOVERY_CODE_USED,
    WRONG_CODE,
    match_recovery_code,
    retry_after,
    two_factor_required,
)

USER = "user"
MODERATOR = "moderator"
ADMIN = "admin"
ROLES = (USER, MODERATOR, ADMIN)
STAFF_ROLES = (MODERATOR, ADMIN)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,40}$")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024


def normalise_email(email: str) -> str:
    """Lower-case and trim an e-mail address, refusing one that is not an address."""
    email = email.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise InvalidInput("email must be a valid e-mail address")
    return email


def user_id_for(email: str) -> UUID:
    """The stream id of an e-mail's user: one stream per address makes e-mails unique."""
    return uuid5(NAMESPACE_URL, f"fabledger:user:{normalise_email(email)}")


def check_password_rules(password: str) -> None:
    """Refuse passwords too short to resist guessing, or too long to hash cheaply."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"password must be at most {MAX_PASSWORD_LENGTH} characters")


class User(Aggregate):
    """A person who can sign in; the role decides what they may do."""

    # Streams written before these existed replay with the defaults.
    session_epoch: int = 0  # sessions carry it; SessionsEnded bumps it, ending every one
    display_name: str | None = None
    reset_token_hash: str | None = None  # SHA-256 hex of the one live reset token
    reset_expires_at: datetime | None = None
    verify_token_hash: str | None = None  # SHA-256 hex of the live e-mail verification token
    verify_expires_at: datetime | None = None
    pending_email: str | None = None  # asked for, not yet confirmed from its own inbox
    email_change_hash: str | None = None  # SHA-256 hex of the live e-mail change token
    email_change_expires_at: datetime | None = None

    @event("Registered")
    def __init__(
        self,
        *,
        id: UUID,  # derived from the e-mail: see user_id_for
        email: str,
        username: str,
        password_hash: str,
        role: str,
        actor: str,
    ) -> None:
        self.email = email
        self.username = username
        self.password_hash = password_hash
        self.role = role
        self.is_active = True
        self.email_verified = False

    @classmethod
    def register(
        cls, *, email: str, username: str, password_hash: str, role: str, actor: str
    ) -> User:
        """Register a user, checking the address, name and role first."""
        email = normalise_email(email)
        if not _USERNAME.match(username):
            raise InvalidInput("username must be 3-40 letters, digits, '.', '_' or '-'")
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
        return cls(
            id=user_id_for(email),
            email=email,
            username=username,
            password_hash=password_hash,
            role=role,
            actor=actor,
        )

    @property
    def is_staff(self) -> bool:
        """Moderators and admins run fulfilment."""
        return self.role in STAFF_ROLES

    def change_role(self, role: str, *, actor: str) -> bool:
        """Promote or demote the user; False (and no event) when they already have the role."""
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
        if role == self.role:
            return False
        self._role_changed(role=role, actor=actor)
        return True

    def change_password(self, password_hash: str, *, actor: str) -> None:
        """Set a new password, given as its hash: the password itself never enters an event."""
        if not password_hash:
            raise InvalidInput("a password hash is required")
        self._password_changed(password_hash=password_hash, actor=actor)

    def change_password_ending_sessions(
        self, password_hash: str, *, actor: str, reason: str = "password changed"
    ) -> None:
        """Set a new password and end every session issued before (the epoch moves)."""
        self.change_password(password_hash, actor=actor)
        self.end_sessions(reason=reason, actor=actor)

    def end_sessions(self, *, reason: str, actor: str) -> None:
        """End every session of this user: tokens carry the epoch, and it moves on."""
        self._sessions_ended(reason=reason, actor=actor)

    def request_password_reset(self, token_hash: str, expires_at: datetime, *, actor: str) -> None:
        """Remember the hash of a new reset token (replacing any earlier one) and its expiry."""
        if len(token_hash) != 64:
            raise InvalidInput("a SHA-256 hex digest is required")
        self._password_reset_requested(token_hash=token_hash, expires_at=expires_at, actor=actor)

    def reset_password(
        self, token_hash: str, password_hash: str, *, now: datetime, actor: str
    ) -> None:
        """Use the reset token (once, before it expires) to set a new password."""
        live = self.reset_token_hash
        if live is None or not hmac.compare_digest(live, token_hash):
            raise InvalidInput("token: this reset link is invalid or was already used")
        if self.reset_expires_at is None or now >= self.reset_expires_at:
            raise InvalidInput("token: this reset link has expired; request a new one")
        self._password_reset(password_hash=password_hash, actor=actor)
        self.end_sessions(reason="password reset", actor=actor)

    def request_email_verification(
        self, token_hash: str, expires_at: datetime, *, actor: str
    ) -> None:
        """Remember the hash of a new verification token (replacing any earlier one)."""
        if self.email_verified:
            raise Conflict("email is already verified")
        if len(token_hash) != 64:
            raise InvalidInput("a SHA-256 hex digest is required")
        self._email_verification_requested(
            token_hash=token_hash, expires_at=expires_at, actor=actor
        )

    def verify_email_with(self, token_hash: str, *, now: datetime, actor: str) -> None:
        """Verify the address with the mailed token (once, before it expires)."""
        live = self.verify_token_hash
        if self.email_verified or live is None or not hmac.compare_digest(live, token_hash):
            raise InvalidInput("token: this verification link is invalid or was already used")
        if self.verify_expires_at is None or now >= self.verify_expires_at:
            raise InvalidInput("token: this verification link has expired; request a new one")
        self.verify_email(actor=actor)

    def request_email_change(
        self, new_email: str, token_hash: str, expires_at: datetime, *, actor: str
    ) -> str:
        """Remember the new address and its link's token hash; the address itself changes
        only when the link mailed to it is opened. The normalised new address."""
        new_email = normalise_email(new_email)
        if new_email == self.email:
            raise InvalidInput("new_email: this is already the account's address")
        if len(token_hash) != 64:
            raise InvalidInput("a SHA-256 hex digest is required")
        self._email_change_requested(
            new_email=new_email, token_hash=token_hash, expires_at=expires_at, actor=actor
        )
        return new_email

    def confirm_email_change(self, token_hash: str, *, now: datetime, actor: str) -> bool:
        """Move to the pending address if this is its link (once, before it expires); False
        when the token is not an e-mail change link at all."""
        live = self.email_change_hash
        if self.pending_email is None or live is None or not hmac.compare_digest(live, token_hash):
            return False
        if self.email_change_expires_at is None or now >= self.email_change_expires_at:
            raise InvalidInput("token: this e-mail change link has expired; ask again")
        self._email_changed(email=self.pending_email, previous=self.email, actor=actor)
        return True

    def update_profile(self, *, username: str | None, display_name: str | None, actor: str) -> bool:
        """Change the username and/or display name; False (and no event) when nothing changes."""
        username = self.username if username is None else username
        if not _USERNAME.match(username):
            raise InvalidInput("username must be 3-40 letters, digits, '.', '_' or '-'")
        if display_name is not None:
            display_name = display_name.strip()
            if not display_name or len(display_name) > 80:
                raise InvalidInput("display_name must be 1-80 characters")
        else:
            display_name = self.display_name
        if (username, display_name) == (self.username, self.display_name):
            return False
        self._profile_updated(username=username, display_name=display_name, actor=actor)
        return True

    def rehash_password(self, password_hash: str, *, actor: str) -> None:
        """Replace the stored hash of the same password (stronger KDF parameters)."""
        self._password_changed(password_hash=password_hash, actor=actor)

    def deactivate(self, *, actor: str) -> bool:
        """Stop the user signing in (and end their sessions); False when already inactive."""
        if not self.is_active:
            return False
        self._deactivated(actor=actor)
        return True

    def reactivate(self, *, actor: str) -> bool:
        """Let a deactivated user sign in again; False when already active."""
        if self.is_active:
            return False
        self._reactivated(actor=actor)
        return True

    def verify_email(self, *, actor: str) -> bool:
        """Mark the e-mail address verified; False (and no event) when it already is."""
        if self.email_verified:
            return False
        self._email_verified(actor=actor)
        return True

    # --- TOTP two-factor authentication (issue 9, item 4): state, commands, events ---
    # Streams written before 2FA existed replay with these defaults: 2FA off.
    totp_secret_box: str | None = None  # the TOTP secret sealed by the SecretBox port: never clear
    totp_last_step: int = 0  # the newest TOTP time step used: a code of it or older is refused
    recovery_code_hashes: tuple[str, ...] = ()  # SHA-256 hex of each recovery code, in order
    recovery_codes_used: tuple[int, ...] = ()  # indexes into recovery_code_hashes
    two_factor_failures: int = 0  # wrong codes since the last success: the backoff counts them
    two_factor_failed_at: datetime | None = None

    @property
    def two_factor_enabled(self) -> bool:
        """Whether signing in takes a TOTP (or recovery) code after the password."""
        return self.totp_secret_box is not None

    @property
    def recovery_codes_left(self) -> int:
        """Recovery codes not used yet."""
        return len(self.recovery_code_hashes) - len(self.recovery_codes_used)

    def check_can_enrol(self, *, forced: bool) -> None:
        """Refuse enrolment when 2FA is on already, or (when the user chose it rather than
        the shop's policy forcing it at login) while the e-mail address is unverified."""
        if self.two_factor_enabled:
            raise Conflict("2FA is already enabled; disable it before enrolling a new device")
        if not forced and not self.email_verified:
            raise Forbidden("email: verify your e-mail address before enabling 2FA")

    def enable_two_factor(
        self, secret_box: str, recovery_hashes: list[str], step: int, *, forced: bool, actor: str
    ) -> None:
        """Turn 2FA on with the sealed secret and the recovery codes' hashes; the code that
        confirmed it is used up (step), and every session issued without 2FA ends."""
        self.check_can_enrol(forced=forced)
        if not secret_box or step < 0:
            raise InvalidInput("a sealed secret and a time step are required")
        if len(recovery_hashes) != RECOVERY_CODE_COUNT or any(
            len(h) != 64 for h in recovery_hashes
        ):
            raise InvalidInput(f"{RECOVERY_CODE_COUNT} SHA-256 hex digests are required")
        # "secret" in the names: the Kafka relay redacts such keys, so neither leaves the store
        self._two_factor_enabled(
            secret_box=secret_box, recovery_secret_hashes=recovery_hashes, step=step, actor=actor
        )
        self.end_sessions(reason="2FA enabled", actor=actor)

    def two_factor_retry_after(self, now: datetime) -> int:
        """Seconds until the next code may be tried (0: now); see domain.two_factor."""
        return retry_after(self.two_factor_failures, self.two_factor_failed_at, now)

    def use_totp_step(self, step: int, *, actor: str) -> None:
        """Sign in with the code of this time step: each step is good for one use."""
        if not self.two_factor_enabled:
            raise Conflict("2FA is not enabled")
        if step <= self.totp_last_step:
            raise InvalidInput(CODE_USED)
        self._totp_step_used(step=step, actor=actor)

    def use_recovery_code(self, code_hash: str, *, actor: str) -> None:
        """Sign in with a recovery code (by its hash): each is good for one use."""
        if not self.two_factor_enabled:
            raise Conflict("2FA is not enabled")
        index = match_recovery_code(self.recovery_code_hashes, code_hash)
        if index is None:
            raise InvalidInput(WRONG_CODE)
        if index in self.recovery_codes_used:
            raise InvalidInput(RECOVERY_CODE_USED)
        self._recovery_code_used(index=index, actor=actor)

    def record_two_factor_failure(self, *, at: datetime, actor: str) -> None:
        """Count a wrong code (or password) at the second step: the backoff grows with it."""
        self._two_factor_failed(at=at, actor=actor)

    def check_can_disable(self, policy: str) -> None:
        """Refuse turning 2FA off when it is off, or when the shop's policy requires it."""
        if not self.two_factor_enabled:
            raise Conflict("2FA is not enabled")
        if two_factor_required(policy, is_staff=self.is_staff):
            raise Conflict(
                f"two_factor_policy: the shop requires 2FA for {self.role} accounts"
                f" ({policy}); it cannot be turned off"
            )

    def disable_two_factor(self, policy: str, *, actor: str) -> None:
        """Turn 2FA off (the secret and the recovery codes are forgotten)."""
        self.check_can_disable(policy)
        self._two_factor_disabled(actor=actor)

    @event("TwoFactorEnabled")
    def _two_factor_enabled(
        self, secret_box: str, recovery_secret_hashes: list[str], step: int, actor: str
    ) -> None:
        self.totp_secret_box = secret_box
        self.recovery_code_hashes = tuple(recovery_secret_hashes)
        self.recovery_codes_used = ()
        self.totp_last_step = max(self.totp_last_step, step)
        self.two_factor_failures = 0
        self.two_factor_failed_at = None

    @event("TotpStepUsed")
    def _totp_step_used(self, step: int, actor: str) -> None:
        self.totp_last_step = step
        self.two_factor_failures = 0
        self.two_factor_failed_at = None

    @event("RecoveryCodeUsed")
    def _recovery_code_used(self, index: int, actor: str) -> None:
        self.recovery_codes_used = (*self.recovery_codes_used, index)
        self.two_factor_failures = 0
        self.two_factor_failed_at = None

    @event("TwoFactorFailed")
    def _two_factor_failed(self, at: datetime, actor: str) -> None:
        self.two_factor_failures += 1
        self.two_factor_failed_at = at

    @event("TwoFactorDisabled")
    def _two_factor_disabled(self, actor: str) -> None:
        self.totp_secret_box = None
        self.recovery_code_hashes = ()
        self.recovery_codes_used = ()
        self.two_factor_failures = 0
        self.two_factor_failed_at = None

    # --- end of TOTP two-factor authentication ---

    @event("Deactivated")
    def _deactivated(self, actor: str) -> None:
        self.is_active = False
        self.session_epoch += 1  # a reactivated user signs in afresh

    @event("Reactivated")
    def _reactivated(self, actor: str) -> None:
        self.is_active = True

    @event("EmailVerified")
    def _email_verified(self, actor: str) -> None:
        self.email_verified = True

    @event("RoleChanged")
    def _role_changed(self, role: str, actor: str) -> None:
        self.role = role

    @event("PasswordChanged")
    def _password_changed(self, password_hash: str, actor: str) -> None:
        self.password_hash = password_hash
        self.reset_token_hash = None  # a reset link mailed before the change dies with it
        self.reset_expires_at = None

    @event("SessionsEnded")
    def _sessions_ended(self, reason: str, actor: str) -> None:
        self.session_epoch += 1

    @event("PasswordResetRequested")
    def _password_reset_requested(self, token_hash: str, expires_at: datetime, actor: str) -> None:
        self.reset_token_hash = token_hash
        self.reset_expires_at = expires_at

    @event("PasswordReset")
    def _password_reset(self, password_hash: str, actor: str) -> None:
        self.password_hash = password_hash
        self.reset_token_hash = None
        self.reset_expires_at = None

    @event("ProfileUpdated")
    def _profile_updated(self, username: str, display_name: str | None, actor: str) -> None:
        self.username = username
        self.display_name = display_name

    @event("EmailVerificationRequested")
    def _email_verification_requested(
        self, token_hash: str, expires_at: datetime, actor: str
    ) -> None:
        self.verify_token_hash = token_hash
        self.verify_expires_at = expires_at

    @event("EmailChangeRequested")
    def _email_change_requested(
        self, new_email: str, token_hash: str, expires_at: datetime, actor: str
    ) -> None:
        self.pending_email = new_email
        self.email_change_hash = token_hash
        self.email_change_expires_at = expires_at

    @event("EmailChanged")
    def _email_changed(self, email: str, previous: str, actor: str) -> None:
        self.email = email
        self.email_verified = True  # the link was opened from this inbox
        self.pending_email = None
        self.email_change_hash = None
        self.email_change_expires_at = None
