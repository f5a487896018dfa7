"""Contact inquiries: the customer's form, the staff inbox, and users' daily limits.

Every text field is answered as the JSON string that was typed: nothing here is markup.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.errors import ErrorBody
from api.text import TextBody
from domain.contact_limits import MAX_DAILY
from domain.inquiries import MAX_MESSAGE, MAX_SUBJECT, MAX_TRACKING, STATUSES, TOPICS

TOPIC_HELP = (
    f"One of {', '.join(TOPICS)}; left out: order_issue when order_tracking is given, else"
    " general. Order topics (order_issue, payment_query, shipping_update) count against the"
    " orders limit, the rest against the general one."
)
Limit = Annotated[
    int | None,
    Field(
        default=None,
        strict=True,
        ge=0,
        le=MAX_DAILY,
        description="Messages per 24 hours (0 blocks); null: the shop's limit.",
    ),
]


class ContactBody(TextBody):
    """The contact form (signed in)."""

    multiline = frozenset({"message"})

    subject: str = Field(max_length=MAX_SUBJECT)
    message: str = Field(max_length=MAX_MESSAGE, description="Plain text; lines allowed.")
    order_tracking: str | None = Field(
        default=None,
        max_length=MAX_TRACKING,
        description="One of your orders' tracking numbers (see verify-order).",
    )
    topic: str | None = Field(default=None, max_length=40, description=TOPIC_HELP)


class ReplyBody(TextBody):
    """A staff reply, mailed to the customer as plain text."""

    multiline = frozenset({"message"})

    message: str = Field(max_length=MAX_MESSAGE)


class StatusBody(TextBody):
    """An inquiry's new status."""

    status: str = Field(max_length=40, description=f"One of {', '.join(STATUSES)}.")


class LimitsBody(TextBody):
    """A user's own daily limits, replacing the shop's (both null: the shop's again)."""

    model_config = ConfigDict(extra="forbid")  # a misspelt field is a 422, not a no-op

    general: Limit = None
    orders: Limit = None


class DailyLimitBody(ErrorBody):
    """429: the daily limit of this topic class is used up."""

    retry_after_seconds: int = Field(description="Seconds until the next message is allowed.")
    next_allowed_at: str = Field(description="ISO-8601 time the next message is allowed.")


class OrderCheck(BaseModel):
    """Whether the tracking number is one of the caller's orders (never whose it is)."""

    tracking_number: str
    belongs: bool
    status: str | None = Field(description="The order's status when it is yours, else null.")


class SentInquiry(BaseModel):
    """The inquiry as its sender sees it."""

    id: str
    subject: str
    message: str
    topic: str
    topic_class: str
    order_tracking: str | None
    status: str
    created_at: str


class SentAnswer(BaseModel):
    """A submitted inquiry, with the log position it was written at."""

    inquiry: SentInquiry
    position: int


class ClassUsage(BaseModel):
    """One topic class: the limit, what was sent in the last 24 hours, when the next may be."""

    topic_class: str
    limit: int = Field(description="Messages per 24 hours; 0: this class is closed.")
    sent: int
    remaining: int
    next_allowed_at: str | None = Field(description="Set when the limit is used up.")


class MyLimits(BaseModel):
    """The caller's daily limits and use, and the topics of each class."""

    limits: list[ClassUsage]
    topics: dict[str, str] = Field(description="Each topic and the class it counts against.")


class InquiryRow(BaseModel):
    """One inquiry in the inbox."""

    id: str
    customer_id: str
    customer_email: str
    subject: str
    preview: str = Field(description="The message's first 200 characters.")
    topic: str
    topic_class: str
    order_tracking: str | None
    status: str
    reply_count: int
    created_at: str
    updated_at: str
    last_reply_at: str | None


class InquiryPage(BaseModel):
    """A page of the inbox, newest first, and how many inquiries are in each status."""

    inquiries: list[InquiryRow]
    page: int
    limit: int
    total: int
    counts: dict[str, int]


class ThreadMessage(BaseModel):
    """The customer's message or a staff reply."""

    author: str = Field(description="customer or staff.")
    actor: str
    message: str
    at: str


class StatusChange(BaseModel):
    """A move from one status to another, by whom."""

    from_status: str
    to_status: str
    actor: str
    at: str


class InquiryDetail(BaseModel):
    """One inquiry with its message history and status changes, oldest first."""

    id: str
    customer_id: str
    customer_email: str
    subject: str
    topic: str
    topic_class: str
    order_tracking: str | None
    status: str
    reply_count: int
    created_at: str
    updated_at: str
    version: int
    messages: list[ThreadMessage]
    status_changes: list[StatusChange]


class ReplyAnswer(BaseModel):
    """The inquiry after a reply, and whether its mail went out."""

    inquiry: InquiryDetail
    mailed: bool
    mail_error: str | None = Field(description="Why the mail was not sent (the reply is kept).")
    position: int


class StatusAnswer(BaseModel):
    """The inquiry after a status change; `changed` is false when it already had it."""

    inquiry: InquiryDetail
    changed: bool
    position: int


class OverrideRow(BaseModel):
    """A user's own limits (null: the shop's for that class), who set them and when."""

    user_id: str
    general: int | None
    orders: int | None
    actor: str
    updated_at: str


class ContactLimitsAnswer(BaseModel):
    """The shop's daily limits (settings) and every user-specific override."""

    general: int
    orders: int
    overrides: list[OverrideRow]


class UserLimits(BaseModel):
    """One user's override (null: the shop's limits apply) and their use per class."""

    user_id: str
    override: dict[str, int] | None
    limits: list[ClassUsage]


class ChangedUserLimits(UserLimits):
    """A user's limits after a change; `changed` is false when they already were these."""

    changed: bool
    position: int


def daily_limit_response() -> dict[int | str, dict[str, Any]]:
    """`responses=` for the 429 of the contact form, with its body and Retry-After."""
    return {
        429: {
            "model": DailyLimitBody,
            "description": "Daily limit reached: Retry-After and the body say when to retry.",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        }
    }
