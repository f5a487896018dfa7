"""Network security: the CSP preview and the CORS state every API process applies."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CspPreview(BaseModel):
    """The Content-Security-Policy headers HTML answers get now, and the CORS state."""

    content_security_policy: str = Field(
        description="The header of an HTML answer without a policy of its own (the"
        " storefront's pages): default-src 'self' with the admin's extra sources."
    )
    pages: dict[str, str] = Field(
        description="The header each HTML page the API serves gets, by path: its own"
        " profile with the admin's extra sources where the page loads that kind of resource."
    )
    cors_enforced: bool = Field(
        description="false: every origin may call /api/* from a browser; true: only"
        " allowed_origins (/api/v1/* is open to every origin either way)."
    )
    allowed_origins: list[str] = Field(description="cors_allowed_origins, one origin each.")
