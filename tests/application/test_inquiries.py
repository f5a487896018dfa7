"""Story: customers write to the shop within their daily limits, staff answer from the inbox.
On the in-memory store, SQLite files and PostgreSQL: concurrent submissions never exceed
the limit (the decision and the new inquiry are one save), an admin's per-user limits apply
at once, replies are kept then mailed, and the inbox rebuilds to exactly the live rows.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from threading import Barrier
from uuid import UUID, uuid4

import pytest

from application.inquiries import Inquiries
from domain.contact_limits import GENERAL_SETTING, ORDERS_SETTING, ContactLog, contact_log_id_for
from domain.errors import DailyLimitReached, Forbidden, InvalidInput, NotFound
from domain.inquiries import CLOSED, GENERAL, IN_PROGRESS, OPEN, ORDERS
from infra.bootstrap import Container
from projections.inquiries import (
    InquiryQuery,
    OrdersByTrackingView,
    list_inquiries,
    list_overrides,
    status_counts,
)
from tests.support.factories import pickup_request
from tests.support.mail import RecordingMailer

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
STAFF = "moderator:floor"
RACERS = 12


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(container: Container) -> Clock:
    clock = Clock()
    container.inquiries.clock = clock
    return clock


@pytest.fixture
def mailer(container: Container) -> RecordingMailer:
    recording = RecordingMailer()
    container.inquiries.mailer = recording
    return recording


def customer(container: Container, name: str = "maker") -> str:
    user = container.identity.register(
        email=f"{name}@example.com", username=name, password="correct horse battery"
    )
    return str(user.id)


def write(inquiries: Inquiries, customer_id: str, topic: str | None = None, **fields: str) -> UUID:
    inquiry, _ = inquiries.submit(
        customer_id=customer_id,
        customer_email="maker@example.com",
        subject=fields.get("subject", "A question"),
        message=fields.get("message", "Hello there"),
        topic=topic,
        order_tracking=fields.get("order_tracking"),
        actor=f"user:{customer_id}",
    )
    return UUID(str(inquiry.id))


def test_a_customer_writes_until_the_limit_and_may_write_again_when_the_oldest_ages_out(
    container: Container, clock: Clock
) -> None:
    maker = customer(container)
    for minutes in (0, 10, 20):
        clock.now = T0 + timedelta(minutes=minutes)
        write(container.inquiries, maker, "feedback")
    clock.now = T0 + timedelta(hours=1)
    with pytest.raises(DailyLimitReached) as caught:
        write(container.inquiries, maker, "account_help")
    assert caught.value.retry_after == 23 * 3600
    assert caught.value.next_allowed_at == (T0 + timedelta(hours=24)).isoformat()
    write(container.inquiries, maker, "order_issue")  # the orders class has its own limit

    _, usage = container.inquiries.usage(maker)
    assert [(u.topic_class, u.limit, u.sent, u.remaining) for u in usage] == [
        (GENERAL, 3, 3, 0),
        (ORDERS, 10, 1, 9),
    ]
    assert usage[0].next_allowed_at == T0 + timedelta(hours=24)

    clock.now = T0 + timedelta(hours=24, seconds=1)
    write(container.inquiries, maker, "general")


def test_the_shops_limits_are_settings_and_zero_closes_a_class(
    container: Container, clock: Clock
) -> None:
    maker = customer(container)
    container.shop.change(ORDERS_SETTING, 0, actor="admin:boss")
    container.shop.change(GENERAL_SETTING, 1, actor="admin:boss")
    with pytest.raises(Forbidden):
        write(container.inquiries, maker, "shipping_update")
    write(container.inquiries, maker)
    with pytest.raises(DailyLimitReached):
        write(container.inquiries, maker)


def test_concurrent_submissions_never_exceed_the_limit(container: Container, clock: Clock) -> None:
    maker = customer(container)
    # Two "processes": no lock or cache shared, only the event store decides.
    other = Inquiries(
        container.inquiries.app,
        container.shop,
        OrdersByTrackingView(container.views),
        container.identity,
        RecordingMailer(),
        clock=clock,
    )
    start = Barrier(RACERS)

    def race(index: int) -> str:
        start.wait()
        try:
            write(other if index % 2 else container.inquiries, maker, "feedback")
        except DailyLimitReached:
            return "refused"
        return "sent"

    with ThreadPoolExecutor(RACERS) as pool:
        outcomes = list(pool.map(race, range(RACERS)))

    assert outcomes.count("sent") == 3
    assert outcomes.count("refused") == RACERS - 3
    log = container.inquiries.app.find(contact_log_id_for(maker), ContactLog)
    assert log is not None and len(log.sent(GENERAL, T0)) == 3
    container.projections["inquiries"].catch_up()
    with container.views.reading() as cur:
        assert list_inquiries(cur, InquiryQuery())[1] == 3


def test_an_admins_limits_for_one_user_apply_at_once_and_are_listed(
    container: Container, clock: Clock
) -> None:
    trusted, abuser = customer(container, "trusted"), customer(container, "abuser")
    container.inquiries.set_limits(UUID(trusted), general=5, orders=None, actor="admin:boss")
    container.inquiries.set_limits(UUID(abuser), general=0, orders=0, actor="admin:boss")
    for _ in range(5):
        write(container.inquiries, trusted)
    with pytest.raises(DailyLimitReached):
        write(container.inquiries, trusted)
    with pytest.raises(Forbidden):
        write(container.inquiries, abuser, "order_issue")
    changed, _ = container.inquiries.set_limits(
        UUID(abuser), general=0, orders=0, actor="admin:boss"
    )
    assert not changed
    with pytest.raises(NotFound):
        container.inquiries.set_limits(uuid4(), general=1, orders=1, actor="admin:boss")

    runner = container.projections["inquiries"]
    runner.catch_up()
    with container.views.reading() as cur:
        rows = {r["user_id"]: (r["general"], r["orders"], r["actor"]) for r in list_overrides(cur)}
    assert rows == {trusted: (5, None, "admin:boss"), abuser: (0, 0, "admin:boss")}

    container.inquiries.set_limits(UUID(abuser), general=None, orders=None, actor="admin:boss")
    runner.catch_up()
    with container.views.reading() as cur:
        assert [r["user_id"] for r in list_overrides(cur)] == [trusted]
    write(container.inquiries, abuser)  # the shop's limits again


def test_the_inbox_folds_live_and_a_rebuild_equals_it(
    container: Container, clock: Clock, mailer: RecordingMailer
) -> None:
    maker, rival = customer(container), customer(container, "rival")
    ids = []
    for minute, who in enumerate((maker, rival, maker, rival)):
        clock.now = T0 + timedelta(minutes=minute)
        ids.append(write(container.inquiries, who, subject=f"Question {minute}"))
    container.inquiries.reply(ids[0], "Answered", actor=STAFF)
    container.inquiries.change_status(ids[0], CLOSED, actor=STAFF)
    container.inquiries.change_status(ids[1], IN_PROGRESS, actor=STAFF)

    runner = container.projections["inquiries"]
    runner.catch_up()
    with container.views.reading() as cur:
        everything, total = list_inquiries(cur, InquiryQuery(limit=3))
        page_two, _ = list_inquiries(cur, InquiryQuery(page=2, limit=3))
        still_open, open_total = list_inquiries(cur, InquiryQuery(status=OPEN))
        counts = status_counts(cur)
        live = list(runner.projection.dump(cur))
    assert total == 4 and open_total == 2
    assert [r["subject"] for r in everything + page_two] == [f"Question {m}" for m in (3, 2, 1, 0)]
    assert [r["id"] for r in still_open] == [str(ids[3]), str(ids[2])]
    assert counts == {"open": 2, "in_progress": 1, "resolved": 0, "closed": 1}
    closed = next(r for r in page_two if r["id"] == str(ids[0]))
    assert (closed["status"], closed["reply_count"]) == (CLOSED, 1)

    runner.rebuild()
    with container.views.reading() as cur:
        assert list(runner.projection.dump(cur)) == live


def test_a_reply_is_kept_then_mailed_as_plain_text_and_kept_when_the_mail_fails(
    container: Container, clock: Clock, mailer: RecordingMailer
) -> None:
    maker = customer(container)
    html = "<script>alert('x')</script>\nSecond line"
    inquiry_id = write(container.inquiries, maker, subject="<b>Help</b>", message=html)

    reply = container.inquiries.reply(inquiry_id, "We <3 your question", actor=STAFF)
    assert reply.mailed and reply.mail_error is None
    [mail] = mailer.sent
    assert (mail.to, mail.subject) == ("maker@example.com", "Re: <b>Help</b>")
    assert mail.body.startswith("We <3 your question\n")
    assert "> <script>alert('x')</script>\n> Second line" in mail.body
    assert mail.key == f"inquiry:{inquiry_id}:2"

    mailer.refuse.add("maker@example.com")
    failed = container.inquiries.reply(inquiry_id, "Second answer", actor=STAFF)
    assert not failed.mailed and "not sent" in str(failed.mail_error)
    history = container.inquiries.app.history(inquiry_id)
    assert [(e.type, e.actor) for e in history] == [
        ("Submitted", f"user:{maker}"),
        ("Replied", STAFF),
        ("Replied", STAFF),
    ]
    assert history[0].data["message"] == html


def test_an_order_is_verified_as_the_callers_own_and_only_theirs_may_be_named(
    container: Container, clock: Clock
) -> None:
    maker, rival = customer(container), customer(container, "rival")
    order = container.checkout.place(pickup_request(maker)).order
    container.projections["orders"].catch_up()

    mine = container.inquiries.verify_order(order.tracking_number.lower(), customer_id=maker)
    assert (mine.belongs, mine.status, mine.tracking_number) == (
        True,
        "pending",
        order.tracking_number,
    )
    theirs = container.inquiries.verify_order(order.tracking_number, customer_id=rival)
    unknown = container.inquiries.verify_order("FL-0000-0000-0000-0000", customer_id=rival)
    assert (theirs.belongs, theirs.status) == (unknown.belongs, unknown.status) == (False, None)

    inquiry_id = write(container.inquiries, maker, order_tracking=order.tracking_number)
    inquiry = container.inquiries.app.get_inquiry(inquiry_id)
    assert (inquiry.topic, inquiry.order_tracking) == ("order_issue", order.tracking_number)
    with pytest.raises(InvalidInput, match="order_tracking"):
        write(container.inquiries, rival, order_tracking=order.tracking_number)
