"""Stories about promos: what staff may schedule, and which one the storefront shows when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from domain.errors import Conflict, InvalidInput
from domain.promos import Promo, PromoSpec, showing

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def promo(**fields: Any) -> Promo:
    return Promo.schedule(uuid4(), PromoSpec.parse({"text": "Diwali sale", **fields}), actor="a")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"text": "  "}, "text: 1-1000"),
        ({"title": "x" * 121}, "title: 0-120"),
        ({"placement": "sidebar"}, "placement must be one of banner, popup"),
        ({"link": "javascript:alert(1)"}, "link must be an http"),
        ({"link": "//evil.example"}, "link must be an http"),
        ({"link": "https://"}, "link must be an http"),
        ({"starts_at": "2026-11-01T10:00"}, "starts_at must include a timezone"),
        ({"starts_at": NOW, "ends_at": NOW}, "ends_at must be later than starts_at"),
        ({"coupon_code": "no good"}, "coupon_code: unknown coupon 'NO GOOD'"),
        ({"active": 1}, "active must be true or false"),
        ({"colour": "red"}, "unknown promo field 'colour'"),
    ],
)
def test_a_promo_refuses_what_the_storefront_cannot_show(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        PromoSpec.parse({"text": "Diwali sale", **fields})


def test_links_go_to_the_web_or_to_a_page_of_the_shop() -> None:
    assert PromoSpec.parse({"text": "t", "link": "/catalog?sale=1"}).link == "/catalog?sale=1"
    assert PromoSpec.parse({"text": "t", "link": "https://x.example/a"}).link.startswith("https")


def test_the_window_starts_inclusive_and_ends_exclusive() -> None:
    spec = PromoSpec.parse({"text": "t", "starts_at": NOW, "ends_at": NOW + HOUR})
    assert not spec.shows_at(NOW - timedelta(microseconds=1))
    assert spec.shows_at(NOW) and spec.shows_at(NOW + HOUR - timedelta(microseconds=1))
    assert not spec.shows_at(NOW + HOUR)
    assert PromoSpec.parse({"text": "open"}).shows_at(NOW)
    assert not PromoSpec.parse({"text": "off", "active": False}).shows_at(NOW)


def test_one_popup_shows_the_one_that_started_last_and_banners_by_start() -> None:
    old_popup = promo(placement="popup", starts_at=NOW - 5 * HOUR)
    new_popup = promo(placement="popup", starts_at=NOW - HOUR, ends_at=NOW + HOUR)
    future_popup = promo(placement="popup", starts_at=NOW + HOUR)
    late = promo(starts_at=NOW - HOUR)
    early = promo(starts_at=NOW - 2 * HOUR)
    ended = promo(ends_at=NOW)
    popup, banners = showing([old_popup, new_popup, future_popup, late, early, ended], NOW)
    assert popup is new_popup
    assert banners == [early, late]
    popup, _ = showing([old_popup, new_popup], NOW + HOUR)  # the newer one's window closed
    assert popup is old_popup
    new_popup.delete(actor="a")
    assert showing([new_popup], NOW) == (None, [])


def test_changes_are_events_with_the_previous_spec_and_deleted_promos_stay_deleted() -> None:
    made = promo(placement="popup")
    made.collect_events()
    assert made.change({"text": "Diwali sale ends Sunday"}, actor="admin:1") is True
    assert made.change({"text": "Diwali sale ends Sunday"}, actor="admin:1") is False
    [changed] = made.collect_events()
    assert vars(changed)["previous"]["text"] == "Diwali sale"
    assert vars(changed)["spec"]["placement"] == "popup" and vars(changed)["actor"] == "admin:1"
    made.delete(actor="admin:1")
    with pytest.raises(Conflict, match="deleted"):
        made.change({"text": "again"}, actor="admin:1")
