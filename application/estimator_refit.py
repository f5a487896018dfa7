"""Refitting the instant estimate from the slicer's results (`fabledger quotes calibrate`)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.calibration import Accuracy, Calibration, CalibrationSample, calibrate, mape
from application.catalog import CatalogApp
from application.fleet import FleetApp
from application.shop import ShopApp
from application.slicing import SlicingApp
from domain.catalog import PrinterProfile
from domain.estimator import EstimatorModel
from domain.pricing import PartGeometry
from domain.shop.estimating import ESTIMATOR_SETTING
from domain.slice_jobs import SLICED, SliceJob
from domain.slicing import SliceResult

_PAGE = 1000


@dataclass(frozen=True)
class Refit:
    """A calibration, how the estimate did on the same results before and after, and
    whether the new version was saved."""

    calibration: Calibration
    before: Accuracy | None
    after: Accuracy | None
    saved: bool


class EstimatorRefit:
    """Collects every sliced job of the slicing log and fits the next estimator version."""

    def __init__(
        self, slicing: SlicingApp, shop: ShopApp, catalog: CatalogApp, fleet: FleetApp
    ) -> None:
        self.slicing = slicing
        self.shop = shop
        self.catalog = catalog
        self.fleet = fleet

    def samples(self) -> list[CalibrationSample]:
        """One sample per sliced job, read from the log (no view needed)."""
        settings, default_printer = self.catalog.pricing()
        printers = {profile.name: profile for profile, _ in self.fleet.active_printers()}
        samples = []
        for job_id in self._sliced_jobs():
            job = self.slicing.find(job_id, SliceJob)
            if job is None or job.status != SLICED or job.result is None:
                continue
            result = SliceResult.from_dict(job.result)
            # The printer's figures as the fleet has them now (the job keeps its name and
            # the profile's numbers; nozzle and layer height are what the features use).
            printer = printers.get(job.printer) or _named(default_printer, job.printer)
            samples.append(
                CalibrationSample(
                    geometry=PartGeometry(**job.geometry),
                    material=job.material,
                    printer=printer,
                    settings=settings,
                    infill_pct=float(job.profile["fill_density_pct"]),
                    filament_cm3=result.filament_cm3,
                    filament_g=result.filament_g,
                    print_seconds=result.print_seconds,
                )
            )
        return samples

    def run(self, *, actor: str, save: bool = True) -> Refit:
        """Fit, measure before and after on the same results, and save a new version."""
        samples = self.samples()
        previous = EstimatorModel.from_dict(self.shop.value(ESTIMATOR_SETTING))
        outcome = calibrate(samples, previous)
        before = mape(previous, samples) if samples else None
        after = mape(outcome.model, samples) if samples else None
        saved = False
        if save and outcome.fitted:
            self.shop.change(ESTIMATOR_SETTING, outcome.model.to_dict(), actor=actor)
            saved = True
        return Refit(outcome, before, after, saved)

    def _sliced_jobs(self) -> list[UUID]:
        """The streams with a Sliced event, in log order, each once."""
        seen: dict[UUID, None] = {}
        start = 1
        while True:
            page = self.slicing.recorder.select_notifications(start, _PAGE)
            for notification in page:
                if notification.topic.endswith("SliceJob.Sliced"):
                    seen.setdefault(UUID(str(notification.originator_id)), None)
            if len(page) < _PAGE:
                return list(seen)
            start = page[-1].id + 1


def _named(profile: PrinterProfile, name: str) -> PrinterProfile:
    """The default printer's figures under the job's printer name."""
    data = profile.to_dict()
    data["name"] = name
    return PrinterProfile.from_dict(data)
