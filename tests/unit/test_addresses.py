"""Stories about a customer's address book: what an address may say, how its state meets its
PIN, the default moving with additions and removals, the cap of 20, and every change an
event naming its actor."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, uuid4, uuid5

import pytest

from domain.addresses import (
    CHECKOUT_FIELDS,
    COUNTRY,
    MAX_ADDRESSES,
    AddressBook,
    AddressFields,
    address_book_id,
    normalise_phone,
)
from domain.errors import Conflict, InvalidInput, NotFound

ACTOR = "user:0b8d4c1e-4d7b-4d43-9a43-2f5d8f0e7d11"
PUNE = {
    "label": "Home",
    "name": "Asha Rao",
    "phone": "+91 98765 43210",
    "address": "Flat 4, Shanti Apartments\nFC Road",
    "city": "Pune",
    "state": "Maharashtra",
    "zip": "411001",
}


def placed(**changes: Any) -> AddressFields:
    """Fields as the application passes them: parsed, and placed where the PIN says."""
    fields = AddressFields.parse({**PUNE, **changes})
    return fields.placed("MAHARASHTRA", known=True) if fields.zip == "411001" else fields


def book_with(count: int) -> tuple[AddressBook, list[str]]:
    book = AddressBook.open(uuid4(), actor=ACTOR)
    ids = [f"{n:016x}" for n in range(1, count + 1)]
    for address_id in ids:
        book.add(address_id, placed(label=f"Place {address_id[-2:]}"), actor=ACTOR)
    return book, ids


def test_a_users_book_has_one_stream_id_derived_from_the_user() -> None:
    user_id = uuid4()
    assert address_book_id(user_id) == uuid5(NAMESPACE_URL, f"fabledger:address-book:{user_id}")
    assert address_book_id(str(user_id)) == address_book_id(user_id)
    assert AddressBook.open(user_id, actor=ACTOR).id == address_book_id(user_id)


def test_fields_are_trimmed_and_the_state_normalised_to_its_upper_case_name() -> None:
    fields = AddressFields.parse(
        {
            **PUNE,
            "name": "  Asha   Rao ",
            "address": "  Flat 4 \r\n\n  FC   Road  ",
            "zip": "411 001",
        }
    )
    assert (fields.name, fields.address, fields.zip) == ("Asha Rao", "Flat 4\nFC Road", "411001")
    assert fields.state == "MAHARASHTRA" and fields.country == COUNTRY
    for way in ("MH", "mh", "27", "maharashtra"):
        assert AddressFields.parse({**PUNE, "state": way}).state == "MAHARASHTRA"
    assert AddressFields.parse({**PUNE, "state": "Jammu & Kashmir"}).state == "JAMMU AND KASHMIR"
    for india in ("IN", "in", "India", "IND"):
        assert AddressFields.parse({**PUNE, "country": india}).country == "IN"


def test_label_phone_and_state_may_be_left_out() -> None:
    fields = AddressFields.parse({k: v for k, v in PUNE.items() if k not in ("label", "phone")})
    assert (fields.label, fields.phone) == ("", "")
    assert AddressFields.parse({**PUNE, "state": "  "}).state == ""


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"name": "   "}, "name: required"),
        ({"address": " \n "}, "address: required"),
        ({"city": ""}, "city: required"),
        ({"zip": ""}, "zip: required"),
        ({"zip": "41100"}, "zip must be a 6-digit"),
        ({"zip": "011001"}, "zip must be a 6-digit"),
        ({"label": "x" * 41}, "label: at most 40"),
        ({"name": "x" * 101}, "name: at most 100"),
        ({"address": "x" * 501}, "address: at most 500"),
        ({"city": "x" * 101}, "city: at most 100"),
        ({"state": "Atlantis"}, "state: unknown state or union territory 'Atlantis'"),
        ({"country": "US"}, r"country: we deliver within India only \(IN\)"),
        ({"country": "Nepal"}, "India only"),
        ({"name": 7}, "name must be text"),
        ({"colour": "red"}, "unknown address field 'colour'"),
    ],
)
def test_an_address_breaking_a_rule_is_refused_naming_the_field(
    changes: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(InvalidInput, match=complaint):
        AddressFields.parse({**PUNE, **changes})


@pytest.mark.parametrize(
    "phone",
    ["9876543210", "+91 98765 43210", "+91-98765-43210", "09876543210", "919876543210",
     "020 2550 1234", "(020) 25501234", "080-22221111", "+91 80 2222 1111"],
)  # fmt: skip
def test_indian_mobile_and_landline_numbers_are_taken_as_written(phone: str) -> None:
    assert normalise_phone(phone) == phone


@pytest.mark.parametrize(
    "phone",
    ["12345", "0123456789", "98765 4321", "+1 415 555 0100", "98765432101", "phone me",
     "+91 0 98765 43210 1", "9876543210 ext 5", "++919876543210"],
)  # fmt: skip
def test_other_phone_numbers_are_refused(phone: str) -> None:
    with pytest.raises(InvalidInput, match="phone: a 10-digit Indian mobile or landline"):
        normalise_phone(phone)


def test_a_blank_state_is_taken_from_the_pin() -> None:
    fields = AddressFields.parse({**PUNE, "state": ""}).placed("MAHARASHTRA", known=True)
    assert fields.state == "MAHARASHTRA"


def test_a_pin_in_another_state_is_refused_naming_both() -> None:
    fields = AddressFields.parse({**PUNE, "state": "KA"})
    with pytest.raises(InvalidInput) as refused:
        fields.placed("MAHARASHTRA", known=True)
    assert refused.value.message == "zip: PIN 411001 is in MAHARASHTRA, not KARNATAKA"


def test_an_unknown_pin_is_refused() -> None:
    fields = AddressFields.parse({**PUNE, "zip": "999999"})
    with pytest.raises(InvalidInput) as refused:
        fields.placed(None, known=False)
    assert refused.value.message == "zip: unknown PIN code 999999"


def test_a_pin_without_a_state_on_record_keeps_the_customers_or_asks_for_one() -> None:
    assert AddressFields.parse(PUNE).placed(None, known=True).state == "MAHARASHTRA"
    with pytest.raises(InvalidInput, match="state: required"):
        AddressFields.parse({**PUNE, "state": ""}).placed(None, known=True)


def test_an_address_is_stored_only_once_its_state_is_known() -> None:
    book = AddressBook.open(uuid4(), actor=ACTOR)
    with pytest.raises(InvalidInput, match="state: required"):
        book.add("00000000000000aa", AddressFields.parse({**PUNE, "state": ""}), actor=ACTOR)
    assert book.addresses == {}


def test_the_first_address_becomes_the_default_with_its_own_event() -> None:
    book, (first,) = book_with(1)

    assert book.default_id == first
    events: list[Any] = list(book.collect_events())
    assert [type(e).__name__ for e in events] == ["Opened", "AddressAdded", "DefaultChosen"]
    assert all(e.actor == ACTOR for e in events)
    added = events[1]
    assert added.address_id == first
    assert added.fields == {
        **{k: v for k, v in PUNE.items() if k != "state"},
        "label": f"Place {first[-2:]}",
        "state": "MAHARASHTRA",
        "country": "IN",
    }


def test_later_addresses_leave_the_default_alone_until_one_is_chosen() -> None:
    book, (first, second, third) = book_with(3)
    book.collect_events()

    assert book.default_id == first
    assert book.make_default(third, actor=ACTOR) is True
    assert book.make_default(third, actor=ACTOR) is False  # already: no event
    events: list[Any] = list(book.collect_events())
    assert len(events) == 1  # the second choice wrote nothing
    chosen = events[0]
    assert (type(chosen).__name__, chosen.address_id, chosen.previous) == (
        "DefaultChosen",
        third,
        first,
    )
    assert book.default_id == third and second in book.addresses


def test_removing_the_default_makes_the_oldest_remaining_one_default() -> None:
    book, (first, second, third) = book_with(3)
    book.make_default(second, actor=ACTOR)
    book.collect_events()

    book.remove(second, actor=ACTOR)
    assert book.default_id == first
    assert [type(e).__name__ for e in book.collect_events()] == ["AddressRemoved", "DefaultChosen"]

    book.remove(third, actor=ACTOR)  # not the default: it stays
    assert book.default_id == first
    assert [type(e).__name__ for e in book.collect_events()] == ["AddressRemoved"]

    book.remove(first, actor=ACTOR)  # the last one: no default is left
    assert (book.default_id, book.addresses) == (None, {})


def test_replacing_keeps_the_place_in_the_order_and_the_default() -> None:
    book, (first, second) = book_with(2)
    book.collect_events()

    assert book.replace(first, placed(label="Office", city="Pune City"), actor=ACTOR) is True
    assert list(book.addresses) == [first, second] and book.default_id == first
    assert book.get(first)["label"] == "Office"
    events: list[Any] = list(book.collect_events())
    assert len(events) == 1
    replaced = events[0]
    assert replaced.previous["label"] == f"Place {first[-2:]}"
    # the same fields again change nothing
    assert book.replace(first, placed(label="Office", city="Pune City"), actor=ACTOR) is False
    assert book.collect_events() == []


def test_an_unknown_address_id_is_not_found() -> None:
    book, _ = book_with(1)
    for act in (
        lambda: book.get("ffffffffffffffff"),
        lambda: book.replace("ffffffffffffffff", placed(), actor=ACTOR),
        lambda: book.remove("nope", actor=ACTOR),
        lambda: book.make_default("", actor=ACTOR),
    ):
        with pytest.raises(NotFound, match="address not found"):
            act()


def test_a_book_holds_at_most_twenty_addresses() -> None:
    book, ids = book_with(MAX_ADDRESSES)

    with pytest.raises(InvalidInput, match="at most 20 saved addresses; remove one"):
        book.add("00000000000000ff", placed(), actor=ACTOR)
    book.remove(ids[0], actor=ACTOR)
    book.add("00000000000000ff", placed(), actor=ACTOR)  # room again
    assert len(book.addresses) == MAX_ADDRESSES


def test_address_ids_are_the_applications_hex_and_unique() -> None:
    book, (first,) = book_with(1)
    with pytest.raises(Conflict):
        book.add(first, placed(), actor=ACTOR)
    with pytest.raises(InvalidInput, match="16 lower-case hex digits"):
        book.add("not-hex", placed(), actor=ACTOR)


def test_the_book_replays_from_its_events() -> None:
    book, (first, second, third) = book_with(3)
    book.make_default(third, actor=ACTOR)
    book.remove(first, actor=ACTOR)
    book.replace(second, placed(label="Work"), actor=ACTOR)
    events = book.collect_events()

    replayed = None
    for stored in events:
        replayed = stored.mutate(replayed)
    assert isinstance(replayed, AddressBook)
    assert replayed.addresses == book.addresses and replayed.default_id == third


def test_checkout_takes_the_shipping_fields_of_an_address() -> None:
    assert CHECKOUT_FIELDS == ("name", "phone", "address", "city", "state", "zip")
    assert set(CHECKOUT_FIELDS) <= set(placed().to_dict())
