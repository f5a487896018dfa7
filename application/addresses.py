"""Saved delivery addresses: customers keep up to 20, checkout fills shipping from one.

Each user's AddressBook is one small stream in the identity store, read by replaying it
(no view needed). PINs are checked against the PIN directory here, the one impure step;
what its answer means is the domain's rule (AddressFields.placed).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application.base import last_position
from application.identity import ATTEMPTS, BUSY, IdentityApp
from application.ports import PinDirectory
from domain.addresses import CHECKOUT_FIELDS, NOT_FOUND, AddressBook, AddressFields, address_book_id
from domain.errors import Conflict, NotFound

NO_DEFAULT = "no saved address to ship to: save one, or give the shipping fields"

AddressList = list[dict[str, Any]]


def address_view(book: AddressBook, address_id: str) -> dict[str, Any]:
    """One saved address as its owner sees it."""
    return {"id": address_id, **book.get(address_id), "is_default": address_id == book.default_id}


class Addresses:
    """A customer's address book: list, add, replace, remove, choose the default."""

    def __init__(self, identity: IdentityApp, pins: PinDirectory) -> None:
        self.identity = identity
        self.pins = pins

    def list(self, user_id: UUID | str) -> AddressList:
        """The user's addresses, oldest first (none before the first is saved)."""
        book = self._book(user_id)
        return [] if book is None else [address_view(book, a) for a in book.addresses]

    def add(
        self, user_id: UUID | str, fields: Mapping[str, Any], *, actor: str
    ) -> tuple[dict[str, Any], int]:
        """Save a new address (the first becomes the default): it, and the position written."""
        address = self._placed(fields)
        address_id = secrets.token_hex(8)  # chosen once, outside the event and the retries
        book, position = self._change(
            user_id, actor, lambda b: b.add(address_id, address, actor=actor)
        )
        return address_view(book, address_id), position

    def replace(
        self, user_id: UUID | str, address_id: str, fields: Mapping[str, Any], *, actor: str
    ) -> tuple[dict[str, Any], int]:
        """Replace every field of a saved address (the head position when nothing changed)."""
        address = self._placed(fields)
        book, position = self._change(
            user_id, actor, lambda b: b.replace(address_id, address, actor=actor)
        )
        return address_view(book, address_id), position

    def remove(
        self, user_id: UUID | str, address_id: str, *, actor: str
    ) -> tuple[AddressList, int]:
        """Remove a saved address: the remaining ones (the default may have moved)."""
        book, position = self._change(user_id, actor, lambda b: b.remove(address_id, actor=actor))
        return [address_view(book, a) for a in book.addresses], position

    def make_default(
        self, user_id: UUID | str, address_id: str, *, actor: str
    ) -> tuple[dict[str, Any], int]:
        """Make a saved address the default for checkout."""
        book, position = self._change(
            user_id, actor, lambda b: b.make_default(address_id, actor=actor)
        )
        return address_view(book, address_id), position

    def for_checkout(self, user_id: UUID | str, address_id: str | None) -> dict[str, str]:
        """The shipping fields (name, phone, address, city, state, zip) of a saved address;
        None: the default. NotFound for an unknown id, or when there is no default."""
        book = self._book(user_id)
        if address_id is None:
            if book is None or book.default_id is None:
                raise NotFound(NO_DEFAULT)
            address_id = book.default_id
        elif book is None:
            raise NotFound(NOT_FOUND)
        fields = book.get(address_id)
        return {key: fields[key] for key in CHECKOUT_FIELDS}

    def _book(self, user_id: UUID | str) -> AddressBook | None:
        return self.identity.find(address_book_id(user_id), AddressBook)

    def _placed(self, fields: Mapping[str, Any]) -> AddressFields:
        """Validated fields whose PIN India Post knows, in the state they name (or its)."""
        parsed = AddressFields.parse(fields)
        place = self.pins.lookup(parsed.zip)
        return parsed.placed(place.state if place else None, known=place is not None)

    def _change(
        self, user_id: UUID | str, actor: str, change: Callable[[AddressBook], object]
    ) -> tuple[AddressBook, int]:
        """Apply a change to the book as stored now (opening it for a first address) and
        save it; a concurrent write to the stream makes it reload and decide again, so the
        cap and the default hold under concurrency."""
        for _ in range(ATTEMPTS):
            book = self._book(user_id)
            if book is None:
                # Opened by the change's actor: only ever saved together with the change.
                book = AddressBook.open(user_id, actor=actor)
            change(book)
            if not book.pending_events:
                return book, self.identity.position()
            try:
                return book, last_position(self.identity.save(book))
            except IntegrityError:
                continue
        raise Conflict(BUSY)
