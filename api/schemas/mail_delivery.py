"""E-mail delivery: the answer of the admin's test e-mail."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class MailTestAnswer(BaseModel):
    """Whether the test e-mail went out, and what the mail server said to it."""

    sent: bool = Field(description="True when the server took the mail (or it was logged).")
    server_answer: str = Field(
        description="The server's answer (e.g. '250 2.0.0 Ok: queued'), its refusal (a failed"
        " login included) or why it could not be reached."
    )
    driver: Literal["smtp", "ses", "disabled"] = Field(
        description="The driver used; disabled: logged to the server console, not sent."
    )
    configured_by: Literal["settings", "environment"] = Field(
        description="settings: the mail_delivery shop setting; environment: it is null, so"
        " FABLEDGER_MAIL_DRIVER and FABLEDGER_SMTP_* apply."
    )
