"""Site content: the store profile and site settings (the seed's Store Profile and Site
Settings pages) as shop settings, one key per section, each change an event with its actor.

Every value is a JSON object of text, flags or lists (the stats strip is a list). A value
replaces the whole object; a field left out takes its default, an unknown field is refused.
Text is stored stripped and bounded and is only ever text: nothing here is HTML, so
clients escape it like any other string. Links are absolute http(s) URLs; a logo or a
call-to-action may also be a path on the shop ("/catalog").

What the invoice seller (`invoice_seller`, domain.shop.invoicing) holds is not stored
again: the legal name, the GST-registered address's state and the GSTIN are the seller's,
and the site info shows them from there. `legal` adds what invoices do not print (CIN,
PAN); `address` is where customers reach the shop (structured, with a PIN), which may
differ from the registered place of business printed on tax invoices.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from domain.addresses import PHONE_RULE, normalise_phone
from domain.errors import InvalidInput
from domain.india_states import find_state
from domain.seo import SHOP_NAME
from domain.shipping import validate_pincode
from domain.shop.settings import SettingSpec, register_setting
from domain.users import normalise_email

COMPANY = "company_info"
CONTACT = "contact_details"
ADDRESS = "address"
LEGAL = "legal"
SOCIAL = "social_links"
HERO = "about_hero"
STATS = "about_stats"
STORY = "about_story"
CARDS = "about_cards"
STORE = "store"
UPLOAD_FORMATS = "upload_formats"
VIEWER = "viewer"

CURRENCY = "INR"  # prices are paise: the shop sells in rupees only
FORMATS = ("stl", "obj", "3mf")  # what the mesh analysis reads
MAX_NAME = 80
MAX_LINE = 160
MAX_PROSE = 4000
MAX_URL = 500
MAX_STATS = 6
MAX_STAT_LABEL = 40
MAX_STAT_VALUE = 20
_HEX_COLOUR = re.compile(r"#[0-9A-Fa-f]{6}")
_PAN = re.compile(r"[A-Z]{5}[0-9]{4}[A-Z]")
# Listed or unlisted company, industry code, state, year, company type, registration number.
_CIN = re.compile(r"[LU][0-9]{5}[A-Z]{2}[0-9]{4}[A-Z]{3}[0-9]{6}")

# A field's check: (key, field, submitted value) -> stored value, or InvalidInput naming both.
Field = Callable[[str, str, Any], Any]


def _refuse(key: str, field: str, rule: str) -> InvalidInput:
    return InvalidInput(f"{key}: {field}: {rule}")


def text(most: int, *, required: bool = False) -> Field:
    """One line of printable text: whitespace runs made one space; null is blank."""

    def check(key: str, field: str, value: Any) -> str:
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise _refuse(key, field, "must be text")
        line = " ".join(value.split())
        if not line.isprintable():
            raise _refuse(key, field, "holds a character that is not printable")
        if required and not line:
            raise _refuse(key, field, "must not be blank")
        if len(line) > most:
            raise _refuse(key, field, f"at most {most} characters")
        return line

    return check


def prose(key: str, field: str, value: Any) -> str:
    """Paragraphs of text: lines kept (trailing spaces cut), tabs made spaces; null is blank."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _refuse(key, field, "must be text")
    lines = value.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ").split("\n")
    kept = "\n".join(line.rstrip() for line in lines).strip()
    if not kept.replace("\n", "").isprintable():
        raise _refuse(key, field, "holds a character that is not printable")
    if len(kept) > MAX_PROSE:
        raise _refuse(key, field, f"at most {MAX_PROSE} characters")
    return kept


def url(*, paths: bool = False) -> Field:
    """An absolute http(s) URL (or, with `paths`, a path on the shop like /catalog); blank: none."""
    rule = "an http:// or https:// URL" + (" or a path starting with /" if paths else "")

    def check(key: str, field: str, value: Any) -> str:
        link = text(MAX_URL)(key, field, value)
        if not link:
            return ""
        if " " in link:
            raise _refuse(key, field, f"must be {rule} (no spaces)")
        if paths and link.startswith("/") and not link.startswith("//"):
            return link
        try:
            parts = urlsplit(link)
            host = parts.hostname
        except ValueError:  # e.g. a bracketed host that is no IPv6 address
            raise _refuse(key, field, f"must be {rule}") from None
        if parts.scheme.lower() not in ("http", "https") or not host:
            raise _refuse(key, field, f"must be {rule}")
        if "@" in parts.netloc:  # user:password@host hides the real host from a reader
            raise _refuse(key, field, "must not carry a user name or password")
        return link

    return check


def email(key: str, field: str, value: Any) -> str:
    """An e-mail address, lower-cased; blank: none."""
    address = text(254)(key, field, value)
    try:
        return normalise_email(address) if address else ""
    except InvalidInput:
        raise _refuse(key, field, "must be an e-mail address") from None


def phone(key: str, field: str, value: Any) -> str:
    """An Indian phone number as written; blank: none."""
    number = text(20)(key, field, value)
    try:
        return normalise_phone(number)
    except InvalidInput:
        raise _refuse(key, field, PHONE_RULE.removeprefix("phone: ")) from None


def state(key: str, field: str, value: Any) -> str:
    """The upper-case name of an Indian state or union territory; blank: none."""
    written = text(MAX_NAME)(key, field, value)
    if not written:
        return ""
    found = find_state(written)
    if found is None:
        raise _refuse(key, field, f"unknown state or union territory '{written[:40]}'")
    return found.name


def pin(key: str, field: str, value: Any) -> str:
    """A 6-digit Indian PIN code; blank: none."""
    written = text(12)(key, field, value)
    try:
        return validate_pincode(written) if written else ""
    except InvalidInput:
        raise _refuse(key, field, "must be a 6-digit Indian PIN code") from None


def code(pattern: re.Pattern[str], rule: str) -> Field:
    """A registration number of a fixed shape, upper-cased; blank: none."""

    def check(key: str, field: str, value: Any) -> str:
        number = text(40)(key, field, value).replace(" ", "").upper()
        if number and not pattern.fullmatch(number):
            raise _refuse(key, field, f"must be {rule}")
        return number

    return check


def flag(key: str, field: str, value: Any) -> bool:
    """A JSON true or false."""
    if not isinstance(value, bool):
        raise _refuse(key, field, "must be true or false")
    return value


def colour(key: str, field: str, value: Any) -> str:
    """A colour as #RRGGBB, stored upper-case."""
    if not isinstance(value, str) or not _HEX_COLOUR.fullmatch(value.strip()):
        raise _refuse(key, field, "must be a colour as #RRGGBB, e.g. #1E88E5")
    return value.strip().upper()


def currency(key: str, field: str, value: Any) -> str:
    """The shop's currency: INR, the one prices are kept in."""
    if value != CURRENCY:
        raise _refuse(key, field, f"must be {CURRENCY} (prices are kept in paise)")
    return CURRENCY


def record(
    defaults: Mapping[str, Any], fields: Mapping[str, Field]
) -> Callable[[str, Any], dict[str, Any]]:
    """A setting check for an object of these fields; a missing field takes its default."""

    def check(key: str, value: Any) -> dict[str, Any]:
        return _record(key, value, defaults, fields)

    return check


def _record(
    key: str, value: Any, defaults: Mapping[str, Any], fields: Mapping[str, Field]
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(f"{key}: must be an object with {', '.join(fields)}")
    unknown = sorted(str(name) for name in set(value) - set(fields))
    if unknown:
        raise InvalidInput(
            f"{key}: {unknown[0][:60]}: unknown field; fields are {', '.join(fields)}"
        )
    return {
        name: check(key, name, value.get(name, defaults[name])) for name, check in fields.items()
    }


def stats(key: str, value: Any) -> list[dict[str, str]]:
    """The stats strip: up to MAX_STATS {label, value} pairs, both required, in order."""
    if not isinstance(value, list) or len(value) > MAX_STATS:
        raise InvalidInput(f"{key}: must be a list of at most {MAX_STATS} {{label, value}}")
    fields = {
        "label": text(MAX_STAT_LABEL, required=True),
        "value": text(MAX_STAT_VALUE, required=True),
    }
    blank = {"label": "", "value": ""}
    return [_record(f"{key}: {n}", item, blank, fields) for n, item in enumerate(value, 1)]


def upload_formats(key: str, value: Any) -> dict[str, bool]:
    """Which formats uploads may be: each on or off, at least one on."""
    formats = _record(key, value, DEFAULTS[UPLOAD_FORMATS], dict.fromkeys(FORMATS, flag))
    if not any(formats.values()):
        raise InvalidInput(f"{key}: keep at least one format on ({', '.join(FORMATS)})")
    return formats


def format_of(filename: str) -> str | None:
    """The upload format a file name says (its extension), if it is one of FORMATS."""
    suffix = PurePosixPath(filename.replace("\\", "/")).suffix.lower().removeprefix(".")
    return suffix if suffix in FORMATS else None


def require_enabled_format(formats: Mapping[str, Any], filename: str) -> None:
    """Refuse a file of a format the shop switched off (other names: the analysis refuses)."""
    kind = format_of(filename)
    if kind is not None and not formats.get(kind, True):
        raise InvalidInput(f"model_file: {kind.upper()} uploads are switched off by the shop")


def card(title: str, body: str) -> dict[str, Any]:
    """A "who we serve" card's default: shown, with its title and text."""
    return {"enabled": True, "title": title, "text": body}


CARD_FIELDS: dict[str, Field] = {
    "enabled": flag,
    "title": text(MAX_NAME, required=True),
    "text": prose,
}


def cards(key: str, value: Any) -> dict[str, dict[str, Any]]:
    """The seed's three "who we serve" cards by name, each {enabled, title, text}."""

    def one(default: Mapping[str, Any]) -> Field:
        return lambda key, name, card: _record(f"{key}: {name}", card, default, CARD_FIELDS)

    defaults = DEFAULTS[CARDS]
    return _record(key, value, defaults, {name: one(d) for name, d in defaults.items()})


DEFAULTS: dict[str, Any] = {
    COMPANY: {"name": SHOP_NAME, "tagline": "3D printing on demand", "logo_url": ""},
    CONTACT: {"email": "", "phone": "", "whatsapp": ""},
    ADDRESS: {"line1": "", "line2": "", "city": "", "state": "", "pin": ""},
    LEGAL: {"cin": "", "pan": ""},
    SOCIAL: dict.fromkeys(("instagram", "facebook", "x", "youtube", "linkedin"), ""),
    HERO: {
        "title": "Your 3D models, printed and delivered",
        "subtitle": "Upload a model for an instant quote, or pick one from the catalog.",
        "cta_text": "Get a quote",
        "cta_link": "/",
    },
    STATS: [],
    STORY: {"story": "", "mission": ""},
    CARDS: {
        "students_makers": card(
            "Students & Makers", "Prototypes, projects and parts for the things you build."
        ),
        "personalised_gifting": card(
            "Personalised Gifting", "Name plates, figurines and keepsakes made one at a time."
        ),
        "repair_replace": card(
            "Repair & Replace", "Broken clips, knobs and brackets, printed to fit again."
        ),
    },
    STORE: {"currency": CURRENCY},
    UPLOAD_FORMATS: dict.fromkeys(FORMATS, True),
    VIEWER: {"default_color": "#9AA5B1"},
}

CHECKS: dict[str, Callable[[str, Any], Any]] = {
    COMPANY: record(
        DEFAULTS[COMPANY],
        {
            "name": text(MAX_NAME, required=True),
            "tagline": text(MAX_LINE),
            "logo_url": url(paths=True),
        },
    ),
    CONTACT: record(DEFAULTS[CONTACT], {"email": email, "phone": phone, "whatsapp": phone}),
    ADDRESS: record(
        DEFAULTS[ADDRESS],
        {
            "line1": text(MAX_LINE),
            "line2": text(MAX_LINE),
            "city": text(MAX_NAME),
            "state": state,
            "pin": pin,
        },
    ),
    LEGAL: record(
        DEFAULTS[LEGAL],
        {
            "cin": code(_CIN, "a 21-character CIN, e.g. U72900MH2020PTC123456"),
            "pan": code(_PAN, "a PAN: 5 letters, 4 digits, 1 letter"),
        },
    ),
    SOCIAL: record(DEFAULTS[SOCIAL], dict.fromkeys(DEFAULTS[SOCIAL], url())),
    HERO: record(
        DEFAULTS[HERO],
        {
            "title": text(MAX_LINE),
            "subtitle": text(MAX_LINE * 2),
            "cta_text": text(MAX_NAME),
            "cta_link": url(paths=True),
        },
    ),
    STATS: stats,
    STORY: record(DEFAULTS[STORY], {"story": prose, "mission": prose}),
    CARDS: cards,
    STORE: record(DEFAULTS[STORE], {"currency": currency}),
    UPLOAD_FORMATS: upload_formats,
    VIEWER: record(DEFAULTS[VIEWER], {"default_color": colour}),
}

DESCRIPTIONS = {
    COMPANY: "Store profile: the shop's name (the storefront's, pages' and mails' brand),"
    " tagline and logo URL. The legal name is the invoice seller's (invoice_seller).",
    CONTACT: "Store profile: the e-mail, phone and WhatsApp number customers reach the shop at.",
    ADDRESS: "Store profile: where customers reach the shop (line1, line2, city, state, pin);"
    " tax invoices print invoice_seller's registered address.",
    LEGAL: "Legal & registration: CIN and PAN (optional). The GSTIN and legal name are the"
    " invoice seller's (invoice_seller).",
    SOCIAL: "Social media links (instagram, facebook, x, youtube, linkedin): http(s) URLs.",
    HERO: "About page hero: title, subtitle, call-to-action text and link.",
    STATS: f"About page stats strip: up to {MAX_STATS} {{label, value}} pairs.",
    STORY: "About page story and mission (text, paragraphs kept).",
    CARDS: "About page 'who we serve' cards (students_makers, personalised_gifting,"
    " repair_replace): each {enabled, title, text}.",
    STORE: f"Store: the currency ({CURRENCY} only: prices are kept in paise).",
    UPLOAD_FORMATS: "Uploads: which formats customers and staff may upload (stl, obj, 3mf);"
    " a switched-off format is refused at upload. At least one stays on.",
    VIEWER: "3D viewer: the model preview's colour before a customer picks one (#RRGGBB).",
}

for _key, _check in CHECKS.items():
    register_setting(_key, SettingSpec(DEFAULTS[_key], DESCRIPTIONS[_key], _check))
