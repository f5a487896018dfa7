"""Personal access tokens as admins see them: never the token after its creation."""

from __future__ import annotations

from pydantic import BaseModel, Field


class TokenInfo(BaseModel):
    """One token: its scopes, lifetime and use; `hint` is its public part and last four."""

    id: str
    name: str
    description: str
    permissions: list[str]
    hint: str = Field(description="pf_<public id>...<last four of the secret>")
    owner_id: str = Field(description="The admin the token acts as.")
    status: str = Field(description="active, revoked or expired")
    created_at: str
    expires_at: str | None = Field(description="null: never expires")
    first_used_at: str | None
    last_used_at: str | None = Field(description="From the access log.")
    revoked_at: str | None


class TokenList(BaseModel):
    """Every token, newest first (revoked ones stay listed for the audit)."""

    tokens: list[TokenInfo]


class CreatedToken(TokenInfo):
    """A new token: `token` is its plaintext, shown in this answer only."""

    token: str = Field(description="Copy it now: it won't be shown again.")
    position: int


class ChangedToken(BaseModel):
    """The token after a command, whether it changed, and the log position written."""

    token: TokenInfo
    changed: bool
    position: int


class DeletedToken(BaseModel):
    """A token deleted for good, with its access log."""

    id: str
    deleted: bool
    position: int


class BulkRevoked(BaseModel):
    """Which ids were revoked now, were revoked already, or name no token."""

    revoked: list[str]
    already_revoked: list[str]
    not_found: list[str]
    position: int


class BulkDeleted(BaseModel):
    """Which ids were deleted (with their logs), or name no token."""

    deleted: list[str]
    not_found: list[str]
    position: int


class AccessLogRow(BaseModel):
    """One request made with a token."""

    token_id: str
    token_name: str
    method: str
    path: str
    status: int
    client_ip: str
    at: str


class AccessLogList(BaseModel):
    """Access log entries, newest first."""

    logs: list[AccessLogRow]
