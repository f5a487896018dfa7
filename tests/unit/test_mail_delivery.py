"""Story: the `mail_delivery` setting on its own: what an admin may set for SMTP, Amazon SES
over SMTP and the disabled (console) driver, the stored form, and that listings only ever
say whether a password is set."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import InvalidInput
from domain.shop.mail_delivery import (
    DEFAULT_PORT,
    SETTING_KEY,
    check_mail_delivery,
    delivery_of,
    ses_host,
)
from domain.shop.settings import SPECS, ShopSettings, check_secret, shown

ACTOR = "admin:a-1"
SEALED = "gAAAAAB-sealed-by-the-application"


def smtp(**fields: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "driver": "smtp",
        "host": "smtp.gmail.com",
        "port": 587,
        "user": "shop@example.com",
        "password": SEALED,
        "from_address": "Maker Shop <orders@shop.example>",
        "starttls": True,
    }
    return {**value, **fields}


def refusal(value: Any) -> str:
    with pytest.raises(InvalidInput) as refused:
        check_mail_delivery(SETTING_KEY, value)
    message = refused.value.message
    assert message.startswith(f"{SETTING_KEY}:"), message
    return message


def test_null_is_the_default_and_means_the_environment_s_settings() -> None:
    assert SPECS[SETTING_KEY].default is None
    assert check_mail_delivery(SETTING_KEY, None) is None
    assert delivery_of(None) is None


def test_smtp_is_stored_complete_with_its_defaults() -> None:
    stored = check_mail_delivery(
        SETTING_KEY,
        {"driver": "smtp", "host": " SMTP.Gmail.com ", "from_address": "orders@shop.example"},
    )
    assert stored == {
        "driver": "smtp",
        "host": "smtp.gmail.com",
        "port": DEFAULT_PORT,
        "user": "",
        "from_address": "orders@shop.example",
        "starttls": True,
        "region": None,
    }
    by_ip = check_mail_delivery(SETTING_KEY, smtp(host="127.0.0.1"))
    assert by_ip is not None and by_ip["host"] == "127.0.0.1"


def test_ses_derives_its_host_from_the_region_or_the_region_from_its_host() -> None:
    by_region = check_mail_delivery(SETTING_KEY, smtp(driver="ses", host="", region="ap-south-1"))
    assert by_region is not None
    assert by_region["host"] == ses_host("ap-south-1") == "email-smtp.ap-south-1.amazonaws.com"
    assert by_region["region"] == "ap-south-1" and by_region["starttls"] is True
    by_host = check_mail_delivery(
        SETTING_KEY, smtp(driver="ses", host="email-smtp.eu-west-1.amazonaws.com")
    )
    assert by_host is not None and by_host["region"] == "eu-west-1"

    assert "region" in refusal(smtp(driver="ses", host="smtp.gmail.com"))
    assert "email-smtp.us-east-1" in refusal(
        smtp(driver="ses", region="us-east-1", host="email-smtp.eu-west-1.amazonaws.com")
    )
    ses = smtp(driver="ses", region="us-east-1", host="")
    assert "user" in refusal({**ses, "user": ""})
    assert "starttls" in refusal({**ses, "starttls": False})


def test_disabled_keeps_what_it_is_given_so_switching_back_restores_it() -> None:
    assert check_mail_delivery(SETTING_KEY, {"driver": "disabled"}) == {
        "driver": "disabled",
        "host": "",
        "port": DEFAULT_PORT,
        "user": "",
        "from_address": "",
        "starttls": True,
        "region": None,
    }
    kept = check_mail_delivery(SETTING_KEY, smtp(driver="disabled", region="ap-south-1"))
    assert kept is not None and kept["host"] == "smtp.gmail.com" and kept["password"] == SEALED
    assert kept["region"] == "ap-south-1"


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"driver": "pigeon"}, "driver"),
        ({"host": ""}, "host"),
        ({"host": "smtp..example.com"}, "host"),
        ({"host": "-bad-.example.com"}, "host"),
        ({"host": 25}, "host"),
        ({"port": 0}, "port"),
        ({"port": 65536}, "port"),
        ({"port": True}, "port"),
        ({"port": "587"}, "port"),
        ({"starttls": "yes"}, "starttls"),
        ({"user": "a\nb"}, "user"),
        ({"from_address": ""}, "from_address"),
        ({"from_address": "orders"}, "from_address"),
        ({"from_address": "orders@localhost"}, "from_address"),
        ({"from_address": "a@shop.example, b@shop.example"}, "from_address"),
        ({"from_address": "Shop <orders@shop.example"}, "from_address"),
        ({"from_address": "o@shop.example\r\nBcc: victim@example.com"}, "from_address"),
        ({"password": 1234}, "password"),
        ({"tls": True}, "unknown field"),
    ],
)
def test_a_wrong_field_is_refused_naming_it(fields: dict[str, Any], named: str) -> None:
    assert named in refusal(smtp(**fields))


def test_anything_but_null_or_an_object_is_refused() -> None:
    value: Any
    for value in ("smtp", 1, [], True):
        assert "null or an object" in refusal(value)


def test_the_from_address_may_carry_a_display_name() -> None:
    stored = check_mail_delivery(SETTING_KEY, smtp(from_address='"Fab, Ledger" <o@shop.example>'))
    assert stored is not None and stored["from_address"] == '"Fab, Ledger" <o@shop.example>'


def test_without_a_user_there_is_no_password_to_keep() -> None:
    stored = check_mail_delivery(SETTING_KEY, smtp(user=""))
    assert stored is not None and "password" not in stored


def test_listings_say_whether_a_password_is_set_never_what_it_is() -> None:
    settings = ShopSettings.create()
    assert settings.change(SETTING_KEY, smtp(), actor=ACTOR)
    assert settings.value(SETTING_KEY)["password"] == SEALED  # what the mailer opens
    listed = settings.all()[SETTING_KEY]
    assert "password" not in listed and listed["password_set"] is True
    assert SEALED not in repr(settings.all())
    assert shown(SETTING_KEY, smtp(user=""))["password_set"] is True  # as stored, masked
    assert shown(SETTING_KEY, None) is None
    assert SEALED not in repr(delivery_of(settings.value(SETTING_KEY)))


def test_a_secret_as_submitted_is_text_without_control_characters() -> None:
    assert check_secret(SETTING_KEY, "password", "app pass word 16") == "app pass word 16"
    for bad in ("", "x" * 1025, 42, "line\nbreak"):
        with pytest.raises(InvalidInput, match="mail_delivery: password"):
            check_secret(SETTING_KEY, "password", bad)
