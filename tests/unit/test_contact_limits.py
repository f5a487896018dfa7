"""Story: the contact form's rules on their own: a rolling 24-hour window per topic class,
0 closes a class, a user's own limits replace the shop's, the time until the next message
is allowed, and what a message, a subject and a topic may be. Pure: an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.contact_limits import (
    BLOCKED,
    GENERAL_SETTING,
    LIMIT_REACHED,
    ORDERS_SETTING,
    ContactLimits,
    ContactLog,
)
from domain.errors import Conflict, DailyLimitReached, Forbidden, InvalidInput
from domain.inquiries import (
    CLOSED,
    GENERAL,
    IN_PROGRESS,
    OPEN,
    ORDERS,
    RESOLVED,
    Draft,
    Inquiry,
)
from domain.shop.settings import SPECS, ShopSettings

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
SHOP = ContactLimits(general=3, orders=10)
ACTOR = "user:maker"


def send(log: ContactLog, topic_class: str, at: datetime, shop: ContactLimits = SHOP) -> None:
    log.count(inquiry_id=uuid4(), topic_class=topic_class, shop=shop, now=at, actor=ACTOR)


def refused(log: ContactLog, topic_class: str, at: datetime) -> DailyLimitReached:
    with pytest.raises(DailyLimitReached) as caught:
        send(log, topic_class, at)
    return caught.value


def test_the_limit_holds_in_a_rolling_window_and_says_when_the_next_is_allowed() -> None:
    log = ContactLog.open("maker", actor=ACTOR)
    for minutes in (0, 30, 90):
        send(log, GENERAL, T0 + timedelta(minutes=minutes))

    error = refused(log, GENERAL, T0 + timedelta(hours=5))
    assert error.message == LIMIT_REACHED
    # The oldest message of the window turns 24 hours old at T0 + 24 h: 19 hours from now.
    assert error.retry_after == 19 * 3600
    assert error.next_allowed_at == (T0 + timedelta(hours=24)).isoformat()

    send(log, GENERAL, T0 + timedelta(hours=24, seconds=1))  # the first one left the window
    error = refused(log, GENERAL, T0 + timedelta(hours=24, seconds=2))
    assert error.next_allowed_at == (T0 + timedelta(hours=24, minutes=30)).isoformat()


def test_a_wait_under_a_second_is_still_one_second_of_retry_after() -> None:
    log = ContactLog.open("maker", actor=ACTOR)
    for _ in range(3):
        send(log, GENERAL, T0)
    error = refused(log, GENERAL, T0 + timedelta(hours=24) - timedelta(milliseconds=10))
    assert error.retry_after == 1


def test_each_topic_class_has_its_own_limit() -> None:
    log = ContactLog.open("maker", actor=ACTOR)
    for _ in range(3):
        send(log, GENERAL, T0)
    refused(log, GENERAL, T0)
    for _ in range(10):
        send(log, ORDERS, T0)  # order questions are not held back by the general limit
    refused(log, ORDERS, T0)
    assert len(log.sent(GENERAL, T0)) == 3 and len(log.sent(ORDERS, T0)) == 10


def test_zero_closes_a_class_entirely() -> None:
    log = ContactLog.open("maker", actor=ACTOR)
    with pytest.raises(Forbidden) as caught:
        send(log, GENERAL, T0, ContactLimits(general=0, orders=10))
    assert caught.value.message == BLOCKED
    send(log, ORDERS, T0, ContactLimits(general=0, orders=10))
    assert log.next_allowed_at(GENERAL, 0, T0) is None  # never, not "later"


def test_a_users_own_limits_replace_the_shops_class_by_class() -> None:
    log = ContactLog.open("trusted", actor="admin:boss")
    assert log.override_limits(general=5, orders=None, actor="admin:boss")
    assert log.limits(SHOP) == ContactLimits(general=5, orders=10)
    for _ in range(5):
        send(log, GENERAL, T0)
    refused(log, GENERAL, T0)

    assert not log.override_limits(general=5, orders=None, actor="admin:boss")  # no event
    assert log.override_limits(general=None, orders=None, actor="admin:boss")  # removed
    assert log.limits(SHOP) == SHOP
    overrides = [e for e in log.collect_events() if type(e).__name__ == "LimitsOverridden"]
    assert [e.__dict__["previous"] for e in overrides] == [{}, {"general": 5}]
    assert {e.__dict__["actor"] for e in overrides} == {"admin:boss"}


def test_an_abusive_user_lowered_to_zero_is_blocked() -> None:
    log = ContactLog.open("abuser", actor="admin:boss")
    log.override_limits(general=0, orders=0, actor="admin:boss")
    for topic_class in (GENERAL, ORDERS):
        with pytest.raises(Forbidden):
            send(log, topic_class, T0)


def test_a_limit_lowered_below_what_was_sent_waits_for_enough_to_age_out() -> None:
    log = ContactLog.open("maker", actor=ACTOR)
    for hour in range(4):
        send(log, ORDERS, T0 + timedelta(hours=hour))
    log.override_limits(general=None, orders=2, actor="admin:boss")
    error = refused(log, ORDERS, T0 + timedelta(hours=5))
    # Four in the window, two allowed: the third-newest (sent at T0 + 2 h) must age out first.
    assert error.next_allowed_at == (T0 + timedelta(hours=26)).isoformat()


def test_override_values_are_checked() -> None:
    log = ContactLog.open("maker", actor=ACTOR)
    for bad in (-1, 1001, True):
        with pytest.raises(InvalidInput, match="general"):
            log.override_limits(general=bad, orders=None, actor="admin:boss")


def test_the_shops_limits_are_settings_checked_by_key() -> None:
    settings = ShopSettings.create()
    assert settings.value(GENERAL_SETTING) == 3 and settings.value(ORDERS_SETTING) == 10
    assert settings.change(GENERAL_SETTING, 0, actor="admin:boss")
    for bad in (-1, 1001, "3", 2.5, None, False):
        with pytest.raises(InvalidInput, match=ORDERS_SETTING):
            settings.change(ORDERS_SETTING, bad, actor="admin:boss")
    assert "0 blocks" in SPECS[GENERAL_SETTING].description


# --- the message ---------------------------------------------------------------------------


def draft(**overrides: object) -> Draft:
    fields: dict[str, object] = {
        "subject": "Where is my part?",
        "message": "Hello",
        "topic": None,
        "order_tracking": None,
    }
    fields.update(overrides)
    return Draft.parse(**fields)  # type: ignore[arg-type]


def test_a_topic_counts_against_its_class_and_defaults_by_the_order_it_names() -> None:
    assert (draft().topic, draft().topic_class) == ("general", GENERAL)
    assert draft(topic="feedback").topic_class == GENERAL
    assert draft(topic="account_help").topic_class == GENERAL
    for topic in ("order_issue", "payment_query", "shipping_update"):
        assert draft(topic=topic).topic_class == ORDERS
    named = draft(order_tracking="  fl-abcd-efgh-jkmn-pqrs ")
    assert (named.topic, named.order_tracking) == ("order_issue", "FL-ABCD-EFGH-JKMN-PQRS")
    assert draft(order_tracking="  ").order_tracking is None
    with pytest.raises(InvalidInput, match="topic"):
        draft(topic="spam")


def test_text_is_bounded_stripped_and_free_of_control_characters() -> None:
    kept = draft(subject="  Hi  ", message="  line one\r\nline two\tend  ")
    assert (kept.subject, kept.message) == ("Hi", "line one\nline two\tend")
    assert len(draft(subject="s" * 200, message="m" * 5000).message) == 5000
    for field, value in (
        ("subject", ""),
        ("subject", "   "),
        ("subject", "s" * 201),
        ("subject", "two\nlines"),
        ("message", ""),
        ("message", "m" * 5001),
        ("message", "bell\x07"),
        ("message", "nul\x00"),
    ):
        with pytest.raises(InvalidInput, match=field):
            draft(**{field: value})


def test_html_is_kept_as_the_characters_typed() -> None:
    html = "<script>alert('x')</script> & <b>bold</b>"
    assert draft(subject=html, message=html).message == html


def inquiry() -> Inquiry:
    return Inquiry.submit(
        uuid4(), draft(), customer_id="maker", customer_email="maker@example.com", actor=ACTOR
    )


def test_staff_move_an_inquiry_through_its_statuses_and_reopen_a_closed_one() -> None:
    item = inquiry()
    assert item.status == OPEN
    for status in (IN_PROGRESS, RESOLVED, CLOSED, OPEN):
        assert item.change_status(status, actor="moderator:floor")
        assert item.status == status
    assert not item.change_status(OPEN, actor="moderator:floor")
    with pytest.raises(InvalidInput, match="status"):
        item.change_status("deleted", actor="moderator:floor")
    changes = [e.__dict__ for e in item.collect_events() if type(e).__name__ == "StatusChanged"]
    assert [(c["from_status"], c["to_status"]) for c in changes][-1] == (CLOSED, OPEN)


def test_a_closed_inquiry_takes_no_reply() -> None:
    item = inquiry()
    assert item.reply("  On its way!  ", actor="admin:boss") == "On its way!"
    item.change_status(CLOSED, actor="admin:boss")
    with pytest.raises(Conflict, match="closed"):
        item.reply("Anything else?", actor="admin:boss")
    assert item.reply_count == 1
    with pytest.raises(InvalidInput, match="message"):
        inquiry().reply("   ", actor="admin:boss")
