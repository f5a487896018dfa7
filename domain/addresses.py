"""The AddressBook aggregate: a customer's saved delivery addresses, one stream per user.

The first address saved becomes the default (checkout fills shipping from it); removing
the default makes the oldest remaining address the default. Every default move is its own
DefaultChosen event, so a reader of the log never has to re-derive the rule.

Addresses are in India only: the state is normalised to its upper-case name (as India
Post's PIN directory writes it), so an address's state and its PIN's state compare
directly. Whether a PIN exists is a look-up in a dataset, done by the application; what
follows from the answer (`AddressFields.placed`) is decided here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, InvalidInput, NotFound
from domain.india_states import find_state
from domain.shipping import validate_pincode

MAX_ADDRESSES = 20
MAX_LABEL = 40
MAX_NAME = 100
MAX_PHONE = 20
MAX_STREET = 500
MAX_CITY = 100
MAX_STATE = 100
MAX_COUNTRY = 60
MAX_ZIP = 12  # room for a space or two: "411 001"
COUNTRY = "IN"  # ISO 3166-1: the one country served
FIELDS = ("label", "name", "phone", "address", "city", "state", "zip", "country")
CHECKOUT_FIELDS = ("name", "phone", "address", "city", "state", "zip")  # an order's shipping_*
NOT_FOUND = "address not found"

_INDIA = frozenset({"IN", "IND", "INDIA", "BHARAT"})
_ADDRESS_ID = re.compile(r"[0-9a-f]{16}")
# What people write around a phone number: digits, spaces, hyphens, brackets, a leading +.
_PHONE_TEXT = re.compile(r"\+?[0-9(][0-9 ()-]*")
# Every Indian number, mobile or landline (STD code + number), has 10 digits without its
# trunk prefix 0 or country code 91, and never starts with 0.
_NATIONAL = re.compile(r"[1-9][0-9]{9}")
PHONE_RULE = (
    "phone: a 10-digit Indian mobile or landline number (landlines with their STD code),"
    " optionally after +91 or 0"
)


def address_book_id(user_id: UUID | str) -> UUID:
    """The stream id of a user's address book: one book per user, found without an index."""
    return uuid5(NAMESPACE_URL, f"fabledger:address-book:{user_id}")


def _text(data: Mapping[str, Any], field: str, limit: int, *, required: bool) -> str:
    """A one-line field: whitespace runs become one space, the ends are trimmed."""
    value = data.get(field) or ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text")
    value = " ".join(value.split())
    if required and not value:
        raise InvalidInput(f"{field}: required")
    if len(value) > limit:
        raise InvalidInput(f"{field}: at most {limit} characters")
    return value


def _street(data: Mapping[str, Any]) -> str:
    """The street lines: each line trimmed, blank lines dropped, line breaks kept."""
    value = data.get("address") or ""
    if not isinstance(value, str):
        raise InvalidInput("address must be text")
    lines = (" ".join(line.split()) for line in value.splitlines())
    value = "\n".join(line for line in lines if line)
    if not value:
        raise InvalidInput("address: required")
    if len(value) > MAX_STREET:
        raise InvalidInput(f"address: at most {MAX_STREET} characters")
    return value


def normalise_phone(value: str) -> str:
    """The phone as written (spaces collapsed) if it is an Indian number; '' for none."""
    if not value:
        return ""
    if not _PHONE_TEXT.fullmatch(value):
        raise InvalidInput(PHONE_RULE)
    digits = re.sub(r"\D", "", value)
    if value.startswith("+"):
        if not digits.startswith("91"):
            raise InvalidInput(f"{PHONE_RULE}; we deliver within India only")
        digits = digits[2:]
    elif len(digits) == 12 and digits.startswith("91"):
        digits = digits[2:]
    if len(digits) == 11 and digits.startswith("0"):
        digits = digits[1:]
    if not _NATIONAL.fullmatch(digits):
        raise InvalidInput(PHONE_RULE)
    return value


def normalise_state(value: str) -> str:
    """The upper-case name of the state an address names (by name, abbreviation or GST
    code); '' when none is given (the application then takes the PIN's)."""
    if not value:
        return ""
    state = find_state(value)
    if state is None:
        raise InvalidInput(
            f"state: unknown state or union territory '{value}'"
            " (give its name, abbreviation or GST code)"
        )
    return state.name


def normalise_country(value: str) -> str:
    """COUNTRY for India however written; any other country is refused."""
    if value.upper() not in _INDIA:
        raise InvalidInput(f"country: we deliver within India only ({COUNTRY}), not '{value}'")
    return COUNTRY


@dataclass(frozen=True)
class AddressFields:
    """A delivery address as a customer saves it, validated and normalised."""

    name: str
    address: str  # street lines, "\n" between them
    city: str
    zip: str  # a well-formed 6-digit PIN (whether India Post knows it: see `placed`)
    state: str = ""  # upper-case name; "" until placed from the PIN
    label: str = ""  # e.g. Home, Work
    phone: str = ""
    country: str = COUNTRY

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> AddressFields:
        """Validated fields from primitives; refuses unknown keys and other countries."""
        unknown = sorted(set(data) - set(FIELDS))
        if unknown:
            raise InvalidInput(f"unknown address field '{unknown[0]}'")
        zip_text = _text(data, "zip", MAX_ZIP, required=True)
        return cls(
            label=_text(data, "label", MAX_LABEL, required=False),
            name=_text(data, "name", MAX_NAME, required=True),
            phone=normalise_phone(_text(data, "phone", MAX_PHONE, required=False)),
            address=_street(data),
            city=_text(data, "city", MAX_CITY, required=True),
            state=normalise_state(_text(data, "state", MAX_STATE, required=False)),
            zip=validate_pincode(zip_text, "zip"),
            country=normalise_country(_text(data, "country", MAX_COUNTRY, required=False) or "IN"),
        )

    def placed(self, pin_state: str | None, *, known: bool) -> AddressFields:
        """The address checked against what India Post says of its PIN: `known` whether the
        PIN exists, `pin_state` its state. A blank state is filled from the PIN's."""
        if not known:
            raise InvalidInput(f"zip: unknown PIN code {self.zip}")
        found = find_state(pin_state) if pin_state else None
        if found is None:  # the directory does not say: the customer's word stands
            if not self.state:
                raise InvalidInput(f"state: required (PIN {self.zip} does not tell the state)")
            return self
        if not self.state:
            return replace(self, state=found.name)
        if self.state != found.name:
            raise InvalidInput(f"zip: PIN {self.zip} is in {found.name}, not {self.state}")
        return self

    def to_dict(self) -> dict[str, str]:
        """The stored form, in FIELDS order."""
        data = asdict(self)
        return {key: data[key] for key in FIELDS}


class AddressBook(Aggregate):
    """A user's saved delivery addresses (insertion order: oldest first) and the default."""

    class Opened(Aggregate.Created):
        """The user's book was opened, by their first saved address."""

        user_id: str
        actor: str

    class AddressAdded(Aggregate.Event):
        """An address was saved; `fields` is AddressFields in its stored form."""

        address_id: str
        fields: dict[str, str]
        actor: str

    class AddressReplaced(Aggregate.Event):
        """Every field of an address was replaced; `previous` holds the old fields."""

        address_id: str
        fields: dict[str, str]
        previous: dict[str, str]
        actor: str

    class AddressRemoved(Aggregate.Event):
        """An address was removed (if it was the default, the book has none after this)."""

        address_id: str
        actor: str

    class DefaultChosen(Aggregate.Event):
        """The address checkout fills shipping from; `previous` the default before."""

        address_id: str
        previous: str | None
        actor: str

    @event(Opened)
    def __init__(self, *, id: UUID, user_id: str, actor: str) -> None:
        self.user_id = user_id
        self.addresses: dict[str, dict[str, str]] = {}
        self.default_id: str | None = None

    @classmethod
    def open(cls, user_id: UUID | str, *, actor: str) -> AddressBook:
        """A new, empty book for the user (saved with its first address)."""
        return cls(id=address_book_id(user_id), user_id=str(user_id), actor=actor)

    def get(self, address_id: str) -> dict[str, str]:
        """The fields of one address, or NotFound."""
        fields = self.addresses.get(address_id)
        if fields is None:
            raise NotFound(NOT_FOUND)
        return fields

    def add(self, address_id: str, fields: AddressFields, *, actor: str) -> None:
        """Save a new address under an id the application chose; the first is the default."""
        if not _ADDRESS_ID.fullmatch(address_id):
            raise InvalidInput("address id must be 16 lower-case hex digits")
        if address_id in self.addresses:
            raise Conflict("an address with this id exists already")
        if len(self.addresses) >= MAX_ADDRESSES:
            raise InvalidInput(
                f"at most {MAX_ADDRESSES} saved addresses; remove one before adding another"
            )
        self._added(address_id=address_id, fields=_placed(fields), actor=actor)
        if self.default_id is None:
            self._default_chosen(address_id=address_id, previous=None, actor=actor)

    def replace(self, address_id: str, fields: AddressFields, *, actor: str) -> bool:
        """Replace every field of an address; False (and no event) when nothing differs."""
        previous = self.get(address_id)
        stored = _placed(fields)
        if stored == previous:
            return False
        self._replaced(address_id=address_id, fields=stored, previous=previous, actor=actor)
        return True

    def remove(self, address_id: str, *, actor: str) -> None:
        """Remove an address; removing the default makes the oldest remaining one default."""
        self.get(address_id)
        self._removed(address_id=address_id, actor=actor)
        if self.default_id is None and self.addresses:
            oldest = next(iter(self.addresses))
            self._default_chosen(address_id=oldest, previous=None, actor=actor)

    def make_default(self, address_id: str, *, actor: str) -> bool:
        """Make an address the default; False (and no event) when it already is."""
        self.get(address_id)
        if address_id == self.default_id:
            return False
        self._default_chosen(address_id=address_id, previous=self.default_id, actor=actor)
        return True

    @event(AddressAdded)
    def _added(self, address_id: str, fields: dict[str, str], actor: str) -> None:
        self.addresses[address_id] = fields

    @event(AddressReplaced)
    def _replaced(
        self, address_id: str, fields: dict[str, str], previous: dict[str, str], actor: str
    ) -> None:
        self.addresses[address_id] = fields  # an existing key keeps its place in the order

    @event(AddressRemoved)
    def _removed(self, address_id: str, actor: str) -> None:
        del self.addresses[address_id]
        if self.default_id == address_id:
            self.default_id = None

    @event(DefaultChosen)
    def _default_chosen(self, address_id: str, previous: str | None, actor: str) -> None:
        self.default_id = address_id


def _placed(fields: AddressFields) -> dict[str, str]:
    """The stored form of fields whose state is known (placed from the PIN if blank)."""
    if not fields.state:
        raise InvalidInput("state: required")
    return fields.to_dict()
