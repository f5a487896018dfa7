"""The metered DFM API: count the call (a hard cap refuses it) beside the analysis."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from application.developer import DeveloperApp, MeterReading, VerifiedKey
from application.fleet import FleetApp
from application.ports import DfmAnalyzer
from domain.errors import QuotaExceeded
from domain.plans import ANALYZE, QUICK_INFO


@dataclass(frozen=True)
class MeteredResult:
    """An analysis and the meter reading that goes into the response headers."""

    report: dict[str, Any]
    reading: MeterReading


class DfmService:
    """Every accepted call is counted, durably, before its answer leaves: a hard cap is exact.

    The count (a durable write) runs beside the analysis instead of before it, so a call
    costs the longer of the two, not their sum. A refusal still wins over the analysis: a
    call refused at a hard cap answers 402 whatever its file. Once a meter refused a call
    in this process, its next calls are counted first (a capped organisation does not get
    analyses computed and thrown away) until one is accepted again (a plan upgrade).
    """

    def __init__(self, developer: DeveloperApp, analyzer: DfmAnalyzer, fleet: FleetApp):
        self.developer = developer
        self.analyzer = analyzer
        self.fleet = fleet
        self._counting = ThreadPoolExecutor(max_workers=16, thread_name_prefix="meter")
        self._capped: set[tuple[str, str]] = set()  # (org, product) refused here last time

    def quick_info(
        self, key: VerifiedKey, data: bytes, filename: str, request_id: str
    ) -> MeteredResult:
        """A geometry summary, metered on quick_info."""
        return self._metered(
            key, QUICK_INFO, request_id, lambda: self.analyzer.quick_info(data, filename)
        )

    def analyze(
        self, key: VerifiedKey, data: bytes, filename: str, request_id: str
    ) -> MeteredResult:
        """A printability report against every active printer of the fleet, metered on analyze."""

        def work() -> dict[str, Any]:
            printers = [profile for profile, _pincode in self.fleet.active_printers()]
            return self.analyzer.analyze(data, filename, printers)

        return self._metered(key, ANALYZE, request_id, work)

    def close(self) -> None:
        """Stop the counting threads (after the counts in flight)."""
        self._counting.shutdown(wait=True)

    def _metered(
        self,
        key: VerifiedKey,
        product: str,
        request_id: str,
        work: Callable[[], dict[str, Any]],
    ) -> MeteredResult:
        if (key.org_id, product) in self._capped:
            reading = self._count(key, product, request_id)
            return MeteredResult(work(), reading)
        counting = self._counting.submit(self._count, key, product, request_id)
        try:
            report = work()
        except Exception:
            counting.result()  # a refusal of the call comes before a fault of its file
            raise
        return MeteredResult(report, counting.result())

    def _count(self, key: VerifiedKey, product: str, request_id: str) -> MeterReading:
        try:
            reading = self.developer.record_usage(
                org_id=key.org_id, product=product, key_id=key.key_id, request_id=request_id
            )
        except QuotaExceeded:
            self._capped.add((key.org_id, product))
            raise
        self._capped.discard((key.org_id, product))
        return reading
