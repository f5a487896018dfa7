"""TOTP 2FA: the login's challenge, the enrolment secret, and what enabling answers."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.accounts import UserProfile


class TwoFactorChallenge(BaseModel):
    """The password was right; a second step comes before any session."""

    interim_token: str = Field(description="Valid 10 minutes; good for the next step only.")
    expires_in: int = Field(description="Seconds the interim token stays valid (600).")
    enrolment_required: bool = Field(
        description="false: send a code with the token to POST /api/auth/login-2fa."
        " true: the shop requires 2FA and the account has none: enrol with the token as"
        " Bearer (GET /api/auth/setup-2fa, then POST /api/auth/enable-2fa)."
    )


class TwoFactorSetup(BaseModel):
    """A fresh TOTP secret to enrol an authenticator app with; nothing is stored yet."""

    secret: str = Field(description="Base32; send it back to enable-2fa with a code.")
    otpauth_uri: str = Field(description="otpauth://totp/... (issuer fabledger).")
    qr_png: str = Field(description="The URI as a QR code: data:image/png;base64,...")


class TwoFactorEnabled(BaseModel):
    """2FA is on: the recovery codes (shown this once) and a fresh session, since enabling
    ended every earlier session of the account."""

    enabled: bool
    recovery_codes: list[str] = Field(
        description="10 single-use codes for login-2fa when the app is lost; store them now."
    )
    token: str
    expires_in: int
    user: UserProfile
