"""Story: on each event store, an admin sets how mail leaves the shop. The password is sealed
before it is stored and never shown back; a change without one keeps it; every mail is sent
by the driver the setting names at that moment (the environment's while it is null)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.fernet import Fernet

from application.mail_delivery import ServerAnswer, SmtpTransport
from application.notifications import Mail
from domain.errors import InvalidInput
from domain.shop.mail_delivery import SETTING_KEY
from infra.bootstrap import Container
from infra.secret_box import FernetSecretBox

ADMIN = "admin:a-1"
PASSWORD = "app-password-never-shown"
MAIL = Mail("k:1", "maker@example.com", "Hello", "Body")


@dataclass
class Driver:
    """A driver that remembers what it sent."""

    name: str
    sent: list[Mail] = field(default_factory=list)

    def send(self, mail: Mail) -> None:
        self.sent.append(mail)

    def probe(self, mail: Mail) -> ServerAnswer:
        self.send(mail)
        return ServerAnswer(True, f"250 taken by {self.name}")


@dataclass
class Drivers:
    """The drivers MailDelivery chooses from, each remembering its mails."""

    environment_driver: str = "disabled"
    env: Driver = field(default_factory=lambda: Driver("environment"))
    logged: Driver = field(default_factory=lambda: Driver("console"))
    transports: list[SmtpTransport] = field(default_factory=list)
    relay: Driver = field(default_factory=lambda: Driver("smtp"))

    def environment(self) -> Driver:
        return self.env

    def console(self) -> Driver:
        return self.logged

    def smtp(self, transport: SmtpTransport) -> Driver:
        self.transports.append(transport)
        return self.relay


def gmail(**fields: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "driver": "smtp",
        "host": "smtp.gmail.com",
        "port": 587,
        "user": "shop@example.com",
        "password": PASSWORD,
        "from_address": "Shop <orders@shop.example>",
    }
    return {**value, **fields}


@pytest.fixture
def drivers(container: Container) -> Drivers:
    fake = Drivers()
    container.mail_delivery.drivers = fake
    return fake


def test_the_password_is_sealed_kept_and_never_shown(container: Container) -> None:
    shop = container.shop
    change, changed, _ = shop.change(SETTING_KEY, gmail(), actor=ADMIN)
    assert changed and change.value["password_set"] is True and change.previous is None
    box = container.mail_delivery.box
    assert box is container.two_factor.box  # one SecretBox, one set of keys per process
    stored = shop.value(SETTING_KEY)["password"]
    assert stored != PASSWORD and box.open(stored) == PASSWORD

    # The admin form sends the value back as listed, without the password: it is kept.
    listed = shop.current().all()[SETTING_KEY]
    _, changed, _ = shop.change(SETTING_KEY, listed, actor=ADMIN)
    assert not changed and shop.value(SETTING_KEY)["password"] == stored
    for blank in (None, ""):
        shop.change(SETTING_KEY, gmail(password=blank, port=2525), actor=ADMIN)
        assert shop.value(SETTING_KEY)["password"] == stored

    shop.change(SETTING_KEY, gmail(password="a new one"), actor=ADMIN)
    assert box.open(shop.value(SETTING_KEY)["password"]) == "a new one"
    shop.change(SETTING_KEY, gmail(user=""), actor=ADMIN)  # no AUTH: the password goes
    assert "password" not in shop.value(SETTING_KEY)

    history = shop.history(SETTING_KEY)
    assert [c.actor for c in history] == [ADMIN] * 4
    shown = repr([(c.value, c.previous) for c in history]) + repr(shop.current().all())
    assert PASSWORD not in shown and stored not in shown and "password_set" in shown
    with pytest.raises(InvalidInput, match="mail_delivery: password"):
        shop.change(SETTING_KEY, gmail(password="tab\there"), actor=ADMIN)


def test_each_mail_takes_the_driver_the_setting_names_now(
    container: Container, drivers: Drivers
) -> None:
    mail = container.mail_delivery
    mail.send(MAIL)
    assert drivers.env.sent == [MAIL]  # null: the environment's mailer

    container.shop.change(SETTING_KEY, gmail(), actor=ADMIN)
    mail.send(MAIL)
    (transport,) = drivers.transports
    assert drivers.relay.sent == [MAIL]
    assert (transport.host, transport.port, transport.user) == (
        "smtp.gmail.com",
        587,
        "shop@example.com",
    )
    assert transport.password == PASSWORD and transport.starttls is True
    assert transport.sender == "Shop <orders@shop.example>"
    assert PASSWORD not in repr(transport)

    container.shop.change(SETTING_KEY, gmail(driver="disabled"), actor=ADMIN)
    outcome = mail.test("boss@example.com")
    assert (outcome.sent, outcome.driver, outcome.configured_by) == (True, "disabled", "settings")
    assert [m.to for m in drivers.logged.sent] == ["boss@example.com"]

    container.shop.change(SETTING_KEY, None, actor=ADMIN)
    assert mail.test("boss@example.com").configured_by == "environment"


def test_ses_is_smtp_to_the_region_s_endpoint_over_starttls(
    container: Container, drivers: Drivers
) -> None:
    ses = gmail(driver="ses", host="", region="ap-south-1", user="AKIAEXAMPLE")
    container.shop.change(SETTING_KEY, ses, actor=ADMIN)
    outcome = container.mail_delivery.test("boss@example.com")
    assert (outcome.sent, outcome.driver, outcome.server_answer) == (
        True,
        "ses",
        "250 taken by smtp",
    )
    (transport,) = drivers.transports
    assert (transport.host, transport.port, transport.starttls) == (
        "email-smtp.ap-south-1.amazonaws.com",
        587,
        True,
    )


def test_a_password_no_key_opens_is_reported_not_raised(
    container: Container, drivers: Drivers
) -> None:
    container.shop.change(SETTING_KEY, gmail(), actor=ADMIN)
    container.mail_delivery.box = FernetSecretBox([Fernet.generate_key().decode()])  # rotated away
    outcome = container.mail_delivery.test("boss@example.com")
    assert (outcome.sent, outcome.driver) == (False, "smtp")
    assert "set the password again" in outcome.server_answer
    assert drivers.relay.sent == []
