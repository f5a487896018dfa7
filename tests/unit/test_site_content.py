"""The store profile and site settings' checks: text is stripped and bounded, links are
http(s), Indian contact data is normalised, and every refusal names the key and the field."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import InvalidInput
from domain.shop.settings import SPECS
from domain.shop.site_content import (
    ADDRESS,
    CARDS,
    CHECKS,
    COMPANY,
    CONTACT,
    DEFAULTS,
    HERO,
    LEGAL,
    MAX_STATS,
    SOCIAL,
    STATS,
    STORE,
    STORY,
    UPLOAD_FORMATS,
    VIEWER,
    format_of,
    require_enabled_format,
)


def check(key: str, value: Any) -> Any:
    return SPECS[key].check(key, value)


def refusal(key: str, value: Any) -> str:
    with pytest.raises(InvalidInput) as refused:
        check(key, value)
    return refused.value.message


def test_every_key_is_registered_and_its_default_passes_its_own_check() -> None:
    for key in CHECKS:
        assert SPECS[key].default == DEFAULTS[key]
        assert check(key, DEFAULTS[key]) == DEFAULTS[key], key
        assert SPECS[key].description
    assert DEFAULTS[COMPANY]["name"] == "fabledger"
    assert DEFAULTS[UPLOAD_FORMATS] == {"stl": True, "obj": True, "3mf": True}
    assert [c["title"] for c in DEFAULTS[CARDS].values()] == [
        "Students & Makers",
        "Personalised Gifting",
        "Repair & Replace",
    ]


def test_text_is_stripped_collapsed_and_kept_as_text_not_html() -> None:
    stored = check(COMPANY, {"name": "  Print \t  Hub ", "tagline": "<b>fast</b> & cheap"})
    assert stored == {"name": "Print Hub", "tagline": "<b>fast</b> & cheap", "logo_url": ""}
    story = check(STORY, {"story": "  First line.  \r\n\r\nSecond\tline.\n", "mission": None})
    assert story == {"story": "First line.\n\nSecond line.", "mission": ""}


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (COMPANY, {"name": "   "}, "company_info: name: must not be blank"),
        (COMPANY, {"name": "x" * 81}, "company_info: name: at most 80 characters"),
        (COMPANY, {"name": 7}, "company_info: name: must be text"),
        (COMPANY, {"name": "bell\x07"}, "company_info: name: holds a character"),
        (COMPANY, {"nmae": "x"}, "company_info: nmae: unknown field"),
        (COMPANY, "fabledger", "company_info: must be an object"),
        (STORY, {"story": "null\x00byte"}, "about_story: story: holds a character"),
        (STORY, {"mission": "m" * 4001}, "about_story: mission: at most 4000"),
    ],
)
def test_text_refusals_name_the_key_and_the_field(key: str, value: Any, message: str) -> None:
    assert refusal(key, value).startswith(message)


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "ftp://files.example.com/x",
        "https://",
        "example.com/shop",
        "https://user:pw@example.com/",
        "https://exa mple.com",
        "http://[::z]/",
    ],
)
def test_links_are_absolute_http_urls(link: str) -> None:
    message = refusal(SOCIAL, {"instagram": link})
    assert message.startswith("social_links: instagram: must"), message


def test_a_logo_or_call_to_action_may_be_a_path_on_the_shop_but_not_another_host() -> None:
    assert check(HERO, {"cta_link": "/catalog?sort=new"})["cta_link"] == "/catalog?sort=new"
    assert check(COMPANY, {"logo_url": "https://cdn.example.com/logo.png"})["logo_url"]
    assert refusal(HERO, {"cta_link": "//evil.example.com/"}).startswith("about_hero: cta_link")
    assert refusal(SOCIAL, {"x": "/fabledger"}).startswith("social_links: x: must")
    assert check(SOCIAL, {"x": " https://x.com/fabledger "})["x"] == "https://x.com/fabledger"


def test_contact_and_address_are_indian_and_normalised() -> None:
    contact = check(CONTACT, {"email": " Shop@Example.COM ", "phone": "+91 98765 43210"})
    assert contact == {"email": "shop@example.com", "phone": "+91 98765 43210", "whatsapp": ""}
    assert (
        refusal(CONTACT, {"email": "shop"}) == "contact_details: email: must be an e-mail address"
    )
    assert refusal(CONTACT, {"whatsapp": "12345"}).startswith("contact_details: whatsapp: a 10")
    address = check(
        ADDRESS, {"line1": " 12,  MG Road ", "city": "Pune", "state": "mh", "pin": "411 001"}
    )
    assert address == {
        "line1": "12, MG Road",
        "line2": "",
        "city": "Pune",
        "state": "MAHARASHTRA",
        "pin": "411001",
    }
    assert refusal(ADDRESS, {"state": "Narnia"}).startswith("address: state: unknown state")
    assert refusal(ADDRESS, {"pin": "01234"}) == "address: pin: must be a 6-digit Indian PIN code"


def test_registration_numbers_have_their_shapes() -> None:
    legal = check(LEGAL, {"cin": "u72900mh2020ptc123456", "pan": "abcde 1234 f"})
    assert legal == {"cin": "U72900MH2020PTC123456", "pan": "ABCDE1234F"}
    assert refusal(LEGAL, {"pan": "ABCDE12345"}).startswith("legal: pan: must be a PAN")
    assert refusal(LEGAL, {"cin": "L123"}).startswith("legal: cin: must be a 21-character CIN")


def test_stats_are_a_short_list_of_labelled_values() -> None:
    stats = [{"label": " Parts printed ", "value": "12,000+"}]
    assert check(STATS, stats) == [{"label": "Parts printed", "value": "12,000+"}]
    too_many = [{"label": "x", "value": "1"}] * (MAX_STATS + 1)
    assert refusal(STATS, too_many).startswith(
        f"about_stats: must be a list of at most {MAX_STATS}"
    )
    second_blank = [*stats, {"label": "Cities"}]
    assert refusal(STATS, second_blank) == "about_stats: 2: value: must not be blank"


def test_cards_are_the_seeds_three_each_switchable() -> None:
    cards = check(CARDS, {"repair_replace": {"enabled": False}})
    assert cards["repair_replace"] == {**DEFAULTS[CARDS]["repair_replace"], "enabled": False}
    assert cards["students_makers"] == DEFAULTS[CARDS]["students_makers"]
    blank = {"personalised_gifting": {"title": " "}}
    assert refusal(CARDS, blank) == "about_cards: personalised_gifting: title: must not be blank"
    assert refusal(CARDS, {"pets": {}}).startswith("about_cards: pets: unknown field")
    assert refusal(CARDS, {"repair_replace": {"enabled": "no"}}).endswith(
        "enabled: must be true or false"
    )


def test_store_viewer_and_upload_formats() -> None:
    assert check(STORE, {"currency": "INR"}) == {"currency": "INR"}
    assert refusal(STORE, {"currency": "USD"}).startswith("store: currency: must be INR")
    assert check(VIEWER, {"default_color": "#1e88e5"}) == {"default_color": "#1E88E5"}
    assert refusal(VIEWER, {"default_color": "blue"}).startswith("viewer: default_color")
    assert check(UPLOAD_FORMATS, {"obj": False}) == {"stl": True, "obj": False, "3mf": True}
    off = {"stl": False, "obj": False, "3mf": False}
    assert refusal(UPLOAD_FORMATS, off).startswith("upload_formats: keep at least one format on")
    assert refusal(UPLOAD_FORMATS, {"obj": 0}) == "upload_formats: obj: must be true or false"


def test_a_switched_off_format_is_refused_by_its_file_name() -> None:
    formats = {"stl": True, "obj": False, "3mf": True}
    require_enabled_format(formats, "cube.stl")
    with pytest.raises(InvalidInput) as refused:
        require_enabled_format(formats, "C:\\models\\LAMP.OBJ")
    assert refused.value.message == "model_file: OBJ uploads are switched off by the shop"
    require_enabled_format(formats, "notes.txt")  # not a model format: the analysis refuses it
    assert [format_of(n) for n in ("a.3MF", "b.obj", "c", "d.stl.zip")] == [
        "3mf",
        "obj",
        None,
        None,
    ]
