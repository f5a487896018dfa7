"""E-mail delivery as the admin set it: the shop's one Mailer.

Each mail is sent by the driver the `mail_delivery` shop setting names, read at send time
(ShopApp caches settings for 1 s), so a change reaches every process, the API's account
mails and the notify worker alike, without a restart. Null (the default) falls back to the
environment's mailer. The SMTP password is stored sealed and opened only to log in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol
from uuid import uuid4

from application.notifications import Mail
from application.ports import SecretBox
from application.shop import ShopApp
from domain.shop.mail_delivery import DISABLED, SETTING_KEY, delivery_of

SETTINGS, ENVIRONMENT = "settings", "environment"  # where the driver in use was configured
UNOPENABLE = (
    "the stored SMTP password cannot be opened with the configured secrets key;"
    " set the password again"
)


@dataclass(frozen=True)
class SmtpTransport:
    """Where and how to hand mail to an SMTP server; the password opened, never shown."""

    host: str
    port: int
    sender: str
    user: str
    starttls: bool
    password: str = field(default="", repr=False)


@dataclass(frozen=True)
class ServerAnswer:
    """What the mail server said to one mail: whether it took it, and its own words."""

    sent: bool
    answer: str


class MailDriver(Protocol):
    """A Mailer that can also send one mail and report the server's answer, never raising."""

    def send(self, mail: Mail) -> None:
        """Hand the mail to the transport (MailRejected: refused for good; else retry)."""
        ...

    def probe(self, mail: Mail) -> ServerAnswer:
        """Send the mail; the server's answer, or what failed, as text."""
        ...


class MailDrivers(Protocol):
    """Builds mail drivers (infra/mailer.py): the environment's, the console, SMTP servers."""

    environment_driver: str  # what the environment configures: "smtp" or "disabled"

    def environment(self) -> MailDriver:
        """The driver FABLEDGER_MAIL_DRIVER and FABLEDGER_SMTP_* configure."""
        ...

    def console(self) -> MailDriver:
        """The driver that logs each mail to the server console instead of sending it."""
        ...

    def smtp(self, transport: SmtpTransport) -> MailDriver:
        """A driver sending through this SMTP server."""
        ...


@dataclass(frozen=True)
class Route:
    """The driver mail takes now: its name, where it was configured, and the driver."""

    driver: str
    configured_by: str
    mailer: MailDriver


@dataclass(frozen=True)
class MailTestResult:
    """The outcome of a test e-mail: sent or not, the server's answer, and the driver."""

    sent: bool
    server_answer: str
    driver: str
    configured_by: str


@dataclass
class MailDelivery:
    """The Mailer of the shop: the admin's delivery settings, else the environment's."""

    shop: ShopApp
    box: SecretBox
    drivers: MailDrivers

    def route(self) -> Route:
        """The driver the current setting names (ValueError: its password cannot be opened)."""
        delivery = delivery_of(self.shop.value(SETTING_KEY))
        if delivery is None:
            return Route(self.drivers.environment_driver, ENVIRONMENT, self.drivers.environment())
        if delivery.driver == DISABLED:
            return Route(DISABLED, SETTINGS, self.drivers.console())
        sealed = delivery.sealed_password
        transport = SmtpTransport(
            host=delivery.host,
            port=delivery.port,
            sender=delivery.from_address,
            user=delivery.user,
            starttls=delivery.starttls,
            password=self.box.open(sealed) if sealed else "",
        )
        return Route(delivery.driver, SETTINGS, self.drivers.smtp(transport))

    def send(self, mail: Mail) -> None:
        """Send one mail by the driver configured now."""
        self.route().mailer.send(mail)

    def test(self, to: str) -> MailTestResult:
        """Send a test mail to `to`; the server's answer (or the refusal), never raising."""
        try:
            route = self.route()
        except ValueError:  # a sealed password no configured key opens (keys rotated away)
            delivery = delivery_of(self.shop.value(SETTING_KEY))
            name = delivery.driver if delivery is not None else self.drivers.environment_driver
            return MailTestResult(False, UNOPENABLE, name, SETTINGS)
        mail = Mail(
            key=f"test-email:{uuid4().hex}",
            to=to,
            subject="fabledger: test e-mail",
            body=(
                f"This is a test e-mail from fabledger, sent with the {route.driver} driver"
                f" ({route.configured_by} settings).\n\nIf you can read it, e-mail delivery"
                " works."
            ),
        )
        answer = route.mailer.probe(mail)
        return MailTestResult(answer.sent, answer.answer, route.driver, route.configured_by)
