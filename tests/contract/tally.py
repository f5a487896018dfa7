"""What the contract run did, printed in pytest's summary (see tests/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Tally:
    """Operations exercised, cases sent, cases that broke the contract."""

    operations: set[tuple[str, str]] = field(default_factory=set)
    cases: int = 0
    failures: int = 0


TALLY = Tally()
