"""Stories about shipping partners: what staff may save, and every change naming its actor."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import Conflict, InvalidInput
from domain.fleet.shipping_partners import (
    DEFAULT_SLUG,
    SPEED_POST_SPEC,
    ShippingPartner,
    partner_id_for,
    partner_spec,
    slug_for,
    validate_tracking_template,
)
from domain.shipping import SPEED_POST_RATES

TEMPLATE = "https://track.example.in/parcel?awb={tracking_number}"


def fields(**changes: Any) -> dict[str, Any]:
    return {
        "name": "Blue Dart Apex",
        "tracking_url_template": TEMPLATE,
        "rate_table": SPEED_POST_RATES.to_dict(),
        **changes,
    }


def test_speed_post_is_the_default_partner_under_the_storefronts_name() -> None:
    assert SPEED_POST_SPEC["slug"] == DEFAULT_SLUG == "india_post"
    assert SPEED_POST_SPEC["name"] == "India Post Speed Post"
    assert SPEED_POST_SPEC["active"] is True


def test_a_slug_is_derived_from_the_name_unless_chosen() -> None:
    assert slug_for("Blue Dart  Apex (Air)") == "blue_dart_apex_air"
    assert partner_spec(**fields())["slug"] == "blue_dart_apex"
    assert partner_spec(**fields(slug="bluedart"))["slug"] == "bluedart"


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"name": "  "}, "name"),
        ({"name": "x" * 81}, "name"),
        ({"slug": "Blue Dart"}, "slug"),
        ({"slug": "_x"}, "slug"),
        ({"name": "!!!"}, "slug"),  # nothing to derive a slug from
        ({"rate_table": "cheap"}, "rate_table"),
        ({"rate_table": {"slabs_g": [50]}}, "rate_table"),
        ({"rate_table": {**SPEED_POST_RATES.to_dict(), "step_g": -5}}, "step_g"),
        ({"active": "yes"}, "active"),
    ],
)
def test_a_partner_with_bad_fields_is_refused(changes: dict[str, Any], complaint: str) -> None:
    with pytest.raises(InvalidInput, match=complaint):
        partner_spec(**fields(**changes))


@pytest.mark.parametrize(
    "template",
    [
        "https://track.example.in/parcel",  # no placeholder
        "https://track.example.in/{tracking_number}/{tracking_number}",  # two
        "https://track.example.in/{awb}?n={tracking_number}",  # a placeholder we never fill
        "ftp://track.example.in/{tracking_number}",
        "javascript:alert({tracking_number})",
        "https:///{tracking_number}",  # no host
        "https://track example.in/{tracking_number}",
        "https://[::1/{tracking_number}",  # unparseable
        "",
        "https://t.in/" + "x" * 500 + "{tracking_number}",
    ],
)
def test_a_tracking_url_template_must_be_a_url_with_one_placeholder(template: str) -> None:
    with pytest.raises(InvalidInput, match="tracking_url_template"):
        validate_tracking_template(template)


def test_a_partner_links_a_parcel_to_its_tracking_page() -> None:
    partner = ShippingPartner.register(partner_spec(**fields()), actor="admin:1")
    assert partner.tracking_url("EE1IN") == "https://track.example.in/parcel?awb=EE1IN"
    assert partner.id == partner_id_for("blue_dart_apex")  # one stream per slug


def test_every_change_is_an_event_naming_its_actor_and_the_slug_stays() -> None:
    partner = ShippingPartner.register(partner_spec(**fields()), actor="admin:1")
    before = dict(partner.spec)
    partner.update(partner_spec(**fields(name="Blue Dart", active=False)), actor="admin:2")
    partner.remove(actor="admin:3")

    events = partner.collect_events()
    assert [type(e).__name__ for e in events] == ["Registered", "Updated", "Removed"]
    assert [e.actor for e in events] == ["admin:1", "admin:2", "admin:3"]  # type: ignore[attr-defined]
    assert events[1].previous == before  # type: ignore[attr-defined]
    assert partner.spec["slug"] == "blue_dart_apex" and partner.spec["name"] == "Blue Dart"
    assert not partner.active


def test_a_deleted_partner_cannot_change_but_its_slug_can_come_back() -> None:
    partner = ShippingPartner.register(partner_spec(**fields()), actor="admin:1")
    with pytest.raises(Conflict, match="already exists"):
        partner.restore(partner_spec(**fields()), actor="admin:1")
    partner.remove(actor="admin:1")
    with pytest.raises(Conflict, match="deleted"):
        partner.update(partner_spec(**fields()), actor="admin:1")
    with pytest.raises(Conflict, match="already deleted"):
        partner.remove(actor="admin:1")

    partner.restore(partner_spec(**fields(name="Blue Dart Apex 2")), actor="admin:4")
    assert partner.active and partner.spec["name"] == "Blue Dart Apex 2"
