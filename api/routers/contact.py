"""Contact inquiries: customers write (signed in, daily limits); staff answer from the inbox.

Customer routes are JWT only (any signed-in user; anonymous is 401 "Sign in to contact
us"). The inbox is mounted for admins (/api/admin) and moderators (/api/mod) like the
fulfilment routes; the seed gives it no PAT scope, so both mounts are JWT only. Users' own
limits are admin only (JWT): they sit with the shop's limits, which are settings.
"""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from api.deps import (
    AdminDep,
    Caller,
    ContainerDep,
    MaybeCallerDep,
    parse_id,
    read_after,
    staff_auth,
)
from api.schemas.contact import (
    ChangedUserLimits,
    ContactBody,
    ContactLimitsAnswer,
    InquiryDetail,
    InquiryPage,
    LimitsBody,
    MyLimits,
    OrderCheck,
    ReplyAnswer,
    ReplyBody,
    SentAnswer,
    StatusAnswer,
    StatusBody,
    UserLimits,
    daily_limit_response,
)
from api.schemas.errors import READ_AFTER, SIGNED_IN, STAFF, WITH_BODY, errors
from application.inquiries import ClassUsage, HistoryEntry
from domain.errors import InvalidInput, Unauthorized
from domain.inquiries import STATUSES, TOPICS, Inquiry
from domain.users import ADMIN, MODERATOR
from infra.bootstrap import Container
from projections.inquiries import (
    MAX_PAGE,
    MAX_PAGE_SIZE,
    InquiryQuery,
    list_inquiries,
    list_overrides,
    status_counts,
)

SIGN_IN = "Sign in to contact us"


async def contact_caller(caller: MaybeCallerDep) -> Caller:
    """The signed-in caller (a session JWT); anonymous is 401 asking them to sign in."""
    if caller is None:
        raise Unauthorized(SIGN_IN)
    return caller


ContactCallerDep = Annotated[Caller, Depends(contact_caller)]

router = APIRouter(prefix="/api/contact", tags=["contact"], responses=errors(*SIGNED_IN))


@router.get(
    "/verify-order/{tracking_number}",
    response_model=OrderCheck,
    responses=errors(*READ_AFTER),
    dependencies=[read_after("orders", ContactCallerDep)],
)
def verify_order(
    tracking_number: str, caller: ContactCallerDep, container: ContainerDep
) -> dict[str, Any]:
    """Whether this tracking number is one of your orders; another customer's number and an
    unknown one both answer belongs: false."""
    check = container.inquiries.verify_order(tracking_number[:100], customer_id=caller.id)
    return vars(check)


@router.post(
    "",
    status_code=201,
    response_model=SentAnswer,
    responses={**errors(*WITH_BODY, *READ_AFTER, 409), **daily_limit_response()},
    dependencies=[read_after("orders", ContactCallerDep)],
)
def submit(
    body: ContactBody, caller: ContactCallerDep, container: ContainerDep, response: Response
) -> dict[str, Any]:
    """Send the shop a message. Per-user daily limits (rolling 24 hours) per topic class:
    over it is 429 "Daily limit reached" with Retry-After; a class closed by the shop (limit
    0) is 403. An order_tracking must be one of your orders (422 otherwise)."""
    inquiry, position = container.inquiries.submit(
        customer_id=caller.id,
        customer_email=caller.user.email,
        subject=body.subject,
        message=body.message,
        topic=body.topic,
        order_tracking=body.order_tracking,
        actor=caller.actor,
    )
    response.headers["X-Position"] = str(position)
    sent = {
        "id": str(inquiry.id),
        "subject": inquiry.subject,
        "message": inquiry.message,
        "topic": inquiry.topic,
        "topic_class": inquiry.topic_class,
        "order_tracking": inquiry.order_tracking,
        "status": inquiry.status,
        "created_at": inquiry.created_on.isoformat(),
    }
    return {"inquiry": sent, "position": position}


# Not in the seed: lets the form say "Daily limit reached" before anyone types a message.
@router.get("/limits", response_model=MyLimits)
def my_limits(caller: ContactCallerDep, container: ContainerDep) -> dict[str, Any]:
    """Your daily limits per topic class, what you sent in the last 24 hours, and when the
    next message is allowed once a limit is used up."""
    _, usages = container.inquiries.usage(caller.id)
    return {"limits": [_usage(u) for u in usages], "topics": TOPICS}


def _usage(usage: ClassUsage) -> dict[str, Any]:
    allowed_at = usage.next_allowed_at
    return {**vars(usage), "next_allowed_at": allowed_at.isoformat() if allowed_at else None}


def contact_router(prefix: str, *roles: str) -> APIRouter:
    """The inbox routes, guarded by the given roles (JWT only); admins also get the limits."""
    staff_router = APIRouter(prefix=prefix, tags=["contact"], responses=errors(*STAFF))
    Staff = Annotated[Caller, staff_auth(roles)]

    if roles == (ADMIN,):  # before /contact/{inquiry_id}, which would take "limits"
        _add_limit_routes(staff_router)

    @staff_router.get(
        "/contact",
        response_model=InquiryPage,
        responses=errors(*READ_AFTER),
        dependencies=[read_after("inquiries", Staff)],
    )
    def inquiries(
        _: Staff,
        container: ContainerDep,
        page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
        status: Annotated[str | None, Query(max_length=40)] = None,
    ) -> dict[str, Any]:
        """All inquiries, newest first (from the inbox view), and the count in each status."""
        if status is not None and status not in STATUSES:
            raise InvalidInput(f"status: must be one of {', '.join(STATUSES)}")
        query = InquiryQuery(page=page, limit=limit, status=status)
        with container.views.reading() as cur:
            items, total = list_inquiries(cur, query)
            counts = status_counts(cur)
        return {"inquiries": items, "page": page, "limit": limit, "total": total, "counts": counts}

    @staff_router.get("/contact/{inquiry_id}", response_model=InquiryDetail, responses=errors(404))
    def inquiry(inquiry_id: str, _: Staff, container: ContainerDep) -> dict[str, Any]:
        """One inquiry with its message history (the customer's message and every reply)."""
        return _detail(container, container.inquiries.app.get_inquiry(_inquiry_id(inquiry_id)))

    @staff_router.post(
        "/contact/{inquiry_id}/reply",
        status_code=201,
        response_model=ReplyAnswer,
        responses=errors(*WITH_BODY, 404, 409),
    )
    def reply(
        inquiry_id: str,
        body: ReplyBody,
        caller: Staff,
        container: ContainerDep,
        response: Response,
    ) -> dict[str, Any]:
        """Reply: kept in the history, then mailed to the customer as plain text (`mailed`
        says whether the mail server took it). A closed inquiry is 409."""
        done = container.inquiries.reply(_inquiry_id(inquiry_id), body.message, actor=caller.actor)
        response.headers["X-Position"] = str(done.position)
        return {
            "inquiry": _detail(container, done.inquiry),
            "mailed": done.mailed,
            "mail_error": done.mail_error,
            "position": done.position,
        }

    @staff_router.patch(
        "/contact/{inquiry_id}/status",
        response_model=StatusAnswer,
        responses=errors(*WITH_BODY, 404, 409),
    )
    def change_status(
        inquiry_id: str,
        body: StatusBody,
        caller: Staff,
        container: ContainerDep,
        response: Response,
    ) -> dict[str, Any]:
        """Set the status: open, in_progress, resolved or closed (a closed one may reopen)."""
        changed_inquiry, changed, position = container.inquiries.change_status(
            _inquiry_id(inquiry_id), body.status, actor=caller.actor
        )
        response.headers["X-Position"] = str(position)
        detail = _detail(container, changed_inquiry)
        return {"inquiry": detail, "changed": changed, "position": position}

    return staff_router


def _add_limit_routes(staff_router: APIRouter) -> None:
    """The shop's limits with every user-specific override; one user's, read and set."""

    @staff_router.get(
        "/contact/limits",
        response_model=ContactLimitsAnswer,
        responses=errors(*READ_AFTER),
        dependencies=[read_after("inquiries", AdminDep)],
    )
    def contact_limits(_: AdminDep, container: ContainerDep) -> dict[str, Any]:
        """The shop's daily limits (settings contact_daily_limit_*) and every override."""
        shop = container.inquiries.shop_limits()
        with container.views.reading() as cur:
            overrides = list_overrides(cur)
        return {**shop.to_dict(), "overrides": overrides}

    @staff_router.get("/contact/limits/{user_id}", response_model=UserLimits, responses=errors(404))
    def user_limits(user_id: str, _: AdminDep, container: ContainerDep) -> dict[str, Any]:
        """One user's override and their use of each limit in the last 24 hours."""
        uid = parse_id(user_id, "user")
        override, usages = container.inquiries.user_usage(uid)
        return {"user_id": str(uid), "override": override, "limits": [_usage(u) for u in usages]}

    @staff_router.put(
        "/contact/limits/{user_id}",
        response_model=ChangedUserLimits,
        responses=errors(*WITH_BODY, 404, 409),
    )
    def set_user_limits(
        user_id: str,
        body: LimitsBody,
        caller: AdminDep,
        container: ContainerDep,
        response: Response,
    ) -> dict[str, Any]:
        """Replace a user's own limits (raise them for a trusted user, lower them or 0 for
        an abusive one); null for a class, or a body of nulls, means the shop's limit."""
        uid = parse_id(user_id, "user")
        changed, position = container.inquiries.set_limits(
            uid, general=body.general, orders=body.orders, actor=caller.actor
        )
        override, usages = container.inquiries.usage(str(uid))
        response.headers["X-Position"] = str(position)
        return {
            "user_id": str(uid),
            "override": override,
            "limits": [_usage(u) for u in usages],
            "changed": changed,
            "position": position,
        }


def _inquiry_id(raw: str) -> UUID:
    return parse_id(raw, "inquiry")


def _detail(container: Container, inquiry: Inquiry) -> dict[str, Any]:
    """The inquiry with its messages and status changes, from its stored events."""
    history = container.inquiries.app.history(inquiry.id)
    return {
        "id": str(inquiry.id),
        "customer_id": inquiry.customer_id,
        "customer_email": inquiry.customer_email,
        "subject": inquiry.subject,
        "topic": inquiry.topic,
        "topic_class": inquiry.topic_class,
        "order_tracking": inquiry.order_tracking,
        "status": inquiry.status,
        "reply_count": inquiry.reply_count,
        "created_at": inquiry.created_on.isoformat(),
        "updated_at": inquiry.modified_on.isoformat(),
        "version": inquiry.version,
        "messages": [_message(e) for e in history if e.type in ("Submitted", "Replied")],
        "status_changes": [
            {**{k: e.data[k] for k in ("from_status", "to_status")}, **_by(e)}
            for e in history
            if e.type == "StatusChanged"
        ],
    }


def _by(entry: HistoryEntry) -> dict[str, str]:
    return {"actor": entry.actor, "at": entry.at.isoformat()}


def _message(entry: HistoryEntry) -> dict[str, Any]:
    author = "customer" if entry.type == "Submitted" else "staff"
    return {"author": author, "message": entry.data["message"], **_by(entry)}


admin_router = contact_router("/api/admin", ADMIN)
moderator_router = contact_router("/api/mod", MODERATOR, ADMIN)
