"""India's states and union territories: GST state codes, names and the usual abbreviations.

Codes are the first two digits of a GSTIN (CGST Rules, state code list as used on the
GST portal). Names follow India Post's PIN directory in upper case, so a PIN's state and
an address's state compare directly.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class State:
    """One state or union territory as GST knows it."""

    code: str  # two digits, e.g. "27"
    name: str  # upper case, as in India Post's PIN directory
    abbreviation: str  # the vehicle-registration style short form, e.g. "MH"


STATES: tuple[State, ...] = (
    State("01", "JAMMU AND KASHMIR", "JK"),
    State("02", "HIMACHAL PRADESH", "HP"),
    State("03", "PUNJAB", "PB"),
    State("04", "CHANDIGARH", "CH"),
    State("05", "UTTARAKHAND", "UK"),
    State("06", "HARYANA", "HR"),
    State("07", "DELHI", "DL"),
    State("08", "RAJASTHAN", "RJ"),
    State("09", "UTTAR PRADESH", "UP"),
    State("10", "BIHAR", "BR"),
    State("11", "SIKKIM", "SK"),
    State("12", "ARUNACHAL PRADESH", "AR"),
    State("13", "NAGALAND", "NL"),
    State("14", "MANIPUR", "MN"),
    State("15", "MIZORAM", "MZ"),
    State("16", "TRIPURA", "TR"),
    State("17", "MEGHALAYA", "ML"),
    State("18", "ASSAM", "AS"),
    State("19", "WEST BENGAL", "WB"),
    State("20", "JHARKHAND", "JH"),
    State("21", "ODISHA", "OD"),
    State("22", "CHHATTISGARH", "CG"),
    State("23", "MADHYA PRADESH", "MP"),
    State("24", "GUJARAT", "GJ"),
    # 25 (Daman and Diu) merged into 26 in 2020.
    State("26", "THE DADRA AND NAGAR HAVELI AND DAMAN AND DIU", "DH"),
    State("27", "MAHARASHTRA", "MH"),
    State("29", "KARNATAKA", "KA"),
    State("30", "GOA", "GA"),
    State("31", "LAKSHADWEEP", "LD"),
    State("32", "KERALA", "KL"),
    State("33", "TAMIL NADU", "TN"),
    State("34", "PUDUCHERRY", "PY"),
    State("35", "ANDAMAN AND NICOBAR ISLANDS", "AN"),
    State("36", "TELANGANA", "TS"),
    State("37", "ANDHRA PRADESH", "AP"),
    State("38", "LADAKH", "LA"),
    State("97", "OTHER TERRITORY", "OT"),
    State("99", "CENTRE JURISDICTION", "CJ"),
)

BY_CODE = {s.code: s for s in STATES}
# Every way an address may name a state: its name, abbreviation or code, any case.
_BY_ANY = {
    key.upper(): s
    for s in STATES
    for key in (s.name, s.abbreviation, s.code, s.name.replace(" AND ", " & "))
}
_ALIASES = {"ORISSA": "21", "PONDICHERRY": "34", "NCT OF DELHI": "07", "TELENGANA": "36"}
_BY_ANY.update({alias: BY_CODE[code] for alias, code in _ALIASES.items()})


def find_state(text: str) -> State | None:
    """The state an address names by name, abbreviation or GST code (any case), or None."""
    return _BY_ANY.get(" ".join(text.split()).upper())
