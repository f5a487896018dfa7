"""The InvoiceSeries aggregate: consecutive invoice numbers, one stream per prefix and
financial year.

Rule 46 of the CGST Rules: a consecutive serial number of at most 16 characters (letters,
digits, '-' and '/'), unique within the financial year, which starts on 1 April. A number
reads `<prefix>/<yy-yy>/<sequence>`, e.g. FL/26-27/00001: a prefix of 1-4 letters or digits
and a 5-digit sequence keep it within 16 characters, so a series that would need a sixth
digit is full rather than longer. Each number is a NumberAllotted event on the series
stream: two payments allotting at once both write the stream's next version and the store
accepts one, so numbers have no gaps and no duplicates (the loser reloads and allots again).
"""

from __future__ import annotations

import re
from datetime import date
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, InvalidInput

PREFIX = re.compile(r"[A-Z0-9]{1,4}")
PREFIX_RULE = "1-4 letters or digits"
SEQUENCE_DIGITS = 5
MAX_SEQUENCE = 10**SEQUENCE_DIGITS - 1
MAX_NUMBER_LENGTH = 16
NUMBER_CHARACTERS = re.compile(r"[A-Za-z0-9/-]+")
_FINANCIAL_YEAR = re.compile(r"(\d{4})-(\d{2})")
FIRST_MONTH = 4  # April


def financial_year(day: date) -> str:
    """The Indian financial year a day falls in, e.g. "2026-27" (1 April to 31 March)."""
    start = day.year if day.month >= FIRST_MONTH else day.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def check_financial_year(fy: str) -> str:
    """A financial year as financial_year writes it; InvalidInput otherwise."""
    match = _FINANCIAL_YEAR.fullmatch(fy) if isinstance(fy, str) else None
    if match is None or int(match[2]) != (int(match[1]) + 1) % 100:
        raise InvalidInput(f"financial year must read like 2026-27, got {fy!r}")
    return fy


def normalise_prefix(prefix: str) -> str:
    """The prefix trimmed and upper-cased; InvalidInput unless it is 1-4 letters or digits."""
    text = prefix.strip().upper() if isinstance(prefix, str) else ""
    if not PREFIX.fullmatch(text):
        raise InvalidInput(f"invoice prefix must be {PREFIX_RULE}, got {prefix!r}")
    return text


def invoice_number(prefix: str, fy: str, sequence: int) -> str:
    """The printed number of a sequence, e.g. FL/26-27/00001; Conflict past the width."""
    prefix, fy = normalise_prefix(prefix), check_financial_year(fy)
    if sequence < 1:
        raise ValueError(f"sequences start at 1, got {sequence}")
    if sequence > MAX_SEQUENCE:
        # A sixth digit would break the 16-character limit: refuse rather than print it.
        raise Conflict(
            f"invoice series {prefix}/{fy[2:]} is full ({MAX_SEQUENCE} numbers);"
            " change invoice_prefix to start a new series"
        )
    number = f"{prefix}/{fy[2:]}/{sequence:0{SEQUENCE_DIGITS}d}"
    assert len(number) <= MAX_NUMBER_LENGTH and NUMBER_CHARACTERS.fullmatch(number)
    return number


def series_id(prefix: str, fy: str) -> UUID:
    """The stream id of a prefix's series in a financial year (any case of the prefix)."""
    prefix, fy = normalise_prefix(prefix), check_financial_year(fy)
    return uuid5(NAMESPACE_URL, f"fabledger:invoice-series:{prefix}:{fy}")


class InvoiceSeries(Aggregate):
    """The numbers allotted so far in one series, and the payment each was allotted to."""

    @event("Opened")
    def __init__(self, *, id: UUID, prefix: str, financial_year: str, actor: str) -> None:
        self.prefix = prefix
        self.financial_year = financial_year
        self.last_sequence = 0
        self.numbers: dict[str, str] = {}  # payment id -> its invoice number

    @classmethod
    def open(cls, prefix: str, fy: str, actor: str) -> InvoiceSeries:
        """A series with no number allotted yet (its first allot saves it)."""
        prefix, fy = normalise_prefix(prefix), check_financial_year(fy)
        return cls(id=series_id(prefix, fy), prefix=prefix, financial_year=fy, actor=actor)

    def number_of(self, payment_id: str) -> str | None:
        """The number allotted to a payment, or None."""
        return self.numbers.get(payment_id)

    def allot(self, payment_id: str, actor: str) -> str:
        """The payment's invoice number: the next one, or the one it already has (no event)."""
        if not isinstance(payment_id, str) or not payment_id.strip():
            raise InvalidInput("an invoice number is allotted to a payment id")
        existing = self.numbers.get(payment_id)
        if existing is not None:
            return existing
        sequence = self.last_sequence + 1
        number = invoice_number(self.prefix, self.financial_year, sequence)
        self._number_allotted(number=number, sequence=sequence, payment_id=payment_id, actor=actor)
        return number

    @event("NumberAllotted")
    def _number_allotted(self, number: str, sequence: int, payment_id: str, actor: str) -> None:
        self.last_sequence = sequence
        # In place: a year's series replays up to 99,999 of these, so no copy per event.
        self.numbers[payment_id] = number
