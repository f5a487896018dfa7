"""The metered DFM API: decide the quota, count the call, then run the analysis."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from application.developer import DeveloperApp, MeterReading, VerifiedKey
from application.fleet import FleetApp
from application.ports import DfmAnalyzer
from domain.plans import ANALYZE, QUICK_INFO


@dataclass(frozen=True)
class MeteredResult:
    """An analysis and the meter reading that goes into the response headers."""

    report: dict[str, Any]
    reading: MeterReading


class DfmService:
    """Every accepted call is counted before the work runs, so a hard cap holds exactly."""

    def __init__(self, developer: DeveloperApp, analyzer: DfmAnalyzer, fleet: FleetApp):
        self.developer = developer
        self.analyzer = analyzer
        self.fleet = fleet

    def quick_info(
        self, key: VerifiedKey, data: bytes, filename: str, request_id: str
    ) -> MeteredResult:
        """A geometry summary, metered on quick_info."""
        reading = self._count(key, QUICK_INFO, request_id)
        return MeteredResult(self.analyzer.quick_info(data, filename), reading)

    def analyze(
        self, key: VerifiedKey, data: bytes, filename: str, request_id: str
    ) -> MeteredResult:
        """A printability report against every active printer of the fleet, metered on analyze."""
        reading = self._count(key, ANALYZE, request_id)
        printers = [profile for profile, _pincode in self.fleet.active_printers()]
        return MeteredResult(self.analyzer.analyze(data, filename, printers), reading)

    def _count(self, key: VerifiedKey, product: str, request_id: str) -> MeterReading:
        return self.developer.record_usage(
            org_id=key.org_id, product=product, key_id=key.key_id, request_id=request_id
        )
