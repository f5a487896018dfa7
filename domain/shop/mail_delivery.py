"""The `mail_delivery` shop setting: how the shop's mail leaves it, set from the admin.

Drivers (seed, "Email Delivery"): `smtp` (any SMTP server, e.g. smtp.gmail.com:587 with an
app password), `ses` (Amazon SES over SMTP: the host is email-smtp.{region}.amazonaws.com,
port 587, SES SMTP credentials, always STARTTLS) and `disabled` (every mail is logged to the
server console instead of sent). Null, the default, means "as the environment says"
(FABLEDGER_MAIL_DRIVER and FABLEDGER_SMTP_*), so an install mails as before until an admin
sets this.

The password is a secret field: the application seals it before this check sees the value,
so what is checked and stored here is the sealed text; listings show `password_set` only.
A value without a user has no password (no AUTH, so nothing to keep). Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from email.policy import default as email_policy
from typing import Any

from domain.errors import InvalidInput
from domain.shop.settings import SettingSpec, register_setting

SETTING_KEY = "mail_delivery"
SMTP, SES, DISABLED = "smtp", "ses", "disabled"
DRIVERS = (SMTP, SES, DISABLED)
FIELDS = ("driver", "host", "port", "user", "password", "from_address", "starttls", "region")
SECRET_FIELDS = ("password",)
DEFAULT_PORT = 587  # mail submission with STARTTLS: what Gmail and SES both take
MAX_HOST = 253
MAX_USER = 254  # Gmail's user is an e-mail address; SES SMTP user names are 20 characters
MAX_FROM = 320
MAX_SEALED = 4096  # a sealed 1024-character password is well below this
# SES regions look like us-east-1, ap-south-1, us-gov-west-1, eu-central-2.
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
_SES_HOST = re.compile(r"email-smtp\.([a-z0-9-]+)\.amazonaws\.com")
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def ses_host(region: str) -> str:
    """The SES SMTP endpoint of a region."""
    return f"email-smtp.{region}.amazonaws.com"


@dataclass(frozen=True)
class MailDelivery:
    """A stored `mail_delivery` value; `sealed_password` is the password as the SecretBox
    sealed it (None: no AUTH, or no password given)."""

    driver: str
    host: str
    port: int
    user: str
    from_address: str
    starttls: bool
    region: str | None
    sealed_password: str | None = field(default=None, repr=False)


def delivery_of(value: Any) -> MailDelivery | None:
    """The stored setting as a value object; None: the environment's mail settings apply."""
    if value is None:
        return None
    return MailDelivery(
        driver=value["driver"],
        host=value["host"],
        port=value["port"],
        user=value["user"],
        from_address=value["from_address"],
        starttls=value["starttls"],
        region=value["region"],
        sealed_password=value.get("password"),
    )


def _text(key: str, name: str, value: Any, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{key}: {name} must be text")
    text = value.strip()
    if len(text) > limit or _CONTROL.search(text):
        raise InvalidInput(f"{key}: {name}: at most {limit} characters, no control characters")
    return text


def check_host(key: str, value: Any) -> str:
    """A host name (letters, digits and '-' labels joined by dots) or an IP address."""
    host = _text(key, "host", value, MAX_HOST).lower().rstrip(".")
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    if not host or not all(_LABEL.fullmatch(label) for label in host.split(".")):
        raise InvalidInput(f"{key}: host must be a host name (smtp.example.com) or an IP address")
    return host


def check_port(key: str, value: Any) -> int:
    """A TCP port, 1-65535 (587 when left out)."""
    if value is None:
        return DEFAULT_PORT
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise InvalidInput(f"{key}: port must be a whole number from 1 to 65535")
    return value


def check_from_address(key: str, value: Any) -> str:
    """One RFC 5322 address, optionally with a display name ("Shop <orders@shop.example>")."""
    text = _text(key, "from_address", value, MAX_FROM)
    message = (
        f"{key}: from_address must be one e-mail address, e.g. orders@shop.example or"
        " Shop <orders@shop.example>"
    )
    if not text:
        raise InvalidInput(message)
    parsed = email_policy.header_factory("From", text)
    addresses = parsed.addresses
    if parsed.defects or len(addresses) != 1:
        raise InvalidInput(message)
    address = addresses[0]
    if not address.username or "." not in address.domain or " " in address.addr_spec:
        raise InvalidInput(message)
    return str(address)


def _flag(key: str, name: str, value: Any, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidInput(f"{key}: {name} must be true or false")
    return value


def _region(key: str, value: dict[str, Any]) -> tuple[str, str]:
    """SES: the region and the host derived from it (a host given must be that region's)."""
    region = _text(key, "region", value.get("region"), 40).lower()
    host = _text(key, "host", value.get("host"), MAX_HOST).lower()
    named = _SES_HOST.fullmatch(host)
    if not region and named:
        region = named.group(1)
    if not _REGION.fullmatch(region):
        raise InvalidInput(f"{key}: region: the SES region, e.g. ap-south-1, is required for ses")
    if host and host != ses_host(region):
        raise InvalidInput(f"{key}: host: with ses the host is {ses_host(region)}")
    return region, ses_host(region)


def check_mail_delivery(key: str, value: Any) -> dict[str, Any] | None:
    """Null (use the environment's settings) or a complete delivery: the stored form."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput(f"{key}: must be null or an object with {', '.join(FIELDS)}")
    unknown = sorted(name for name in value if name not in FIELDS)
    if unknown:
        raise InvalidInput(f"{key}: unknown field {unknown[0][:40]!r}; fields: {', '.join(FIELDS)}")
    driver = value.get("driver")
    if driver not in DRIVERS:
        raise InvalidInput(f"{key}: driver must be one of {', '.join(DRIVERS)}")
    user = _text(key, "user", value.get("user"), MAX_USER)
    starttls = _flag(key, "starttls", value.get("starttls"), True)
    region: str | None = None
    if driver == SES:
        region, host = _region(key, value)
        if not user:
            raise InvalidInput(f"{key}: user: ses needs the SES SMTP user name")
        if not starttls:
            raise InvalidInput(f"{key}: starttls: Amazon SES takes mail over TLS only")
    elif driver == SMTP or value.get("host"):  # disabled keeps what it is given, checked
        host = check_host(key, value.get("host"))
    else:
        host = ""
    from_address = value.get("from_address")
    stored: dict[str, Any] = {
        "driver": driver,
        "host": host,
        "port": check_port(key, value.get("port")),
        "user": user,
        "from_address": (
            check_from_address(key, from_address) if driver != DISABLED or from_address else ""
        ),
        "starttls": starttls,
        "region": region if driver == SES else _kept_region(key, driver, value),
    }
    password = value.get("password")
    if user and password is not None:  # no user: no AUTH, so no password to keep
        if not isinstance(password, str) or not 0 < len(password) <= MAX_SEALED:
            raise InvalidInput(f"{key}: password must be text")
        stored["password"] = password
    return stored


def _kept_region(key: str, driver: str, value: dict[str, Any]) -> str | None:
    """Disabled keeps a valid region (switching back to ses restores it); smtp has none."""
    region = _text(key, "region", value.get("region"), 40).lower()
    return region if driver == DISABLED and _REGION.fullmatch(region) else None


register_setting(
    SETTING_KEY,
    SettingSpec(
        None,
        "E-mail delivery: null uses the environment's FABLEDGER_MAIL_DRIVER/SMTP settings;"
        " else {driver: smtp | ses | disabled (logged to the console), host, port (587),"
        " user, password (write-only, stored encrypted; left out keeps the stored one),"
        " from_address, starttls (true), region (ses: the host is"
        " email-smtp.{region}.amazonaws.com)}.",
        check_mail_delivery,
        secret_fields=SECRET_FIELDS,
    ),
)
