"""`fabledger quotes calibrate`: real slices refit the instant estimate, a new version in force."""

from __future__ import annotations

from pathlib import Path

from application.estimator_refit import EstimatorRefit
from application.quoting import QuoteRequest
from application.slicing import SliceRequest
from domain.shop.estimating import ESTIMATOR_SETTING
from infra.bootstrap import bootstrap
from infra.slicer import PrusaSlicer
from tests.conftest import missing_component
from tests.support import parts
from tests.support.http import app_settings

# Eight small parts at two infills: 16 slices, past the 14 a group needs to be fitted.
PARTS = [
    parts.cube(12.0),
    parts.cube(18.0),
    parts.box(30.0, 12.0, 8.0),
    parts.plate(40.0, 25.0, 3.0),
    parts.cylinder(16.0, 14.0, sections=48),
    parts.tube(22.0, 2.0, 12.0, sections=48),
    parts.sphere(16.0, subdivisions=3),
    parts.box(10.0, 10.0, 24.0),
]


def test_calibration_fits_from_slices_and_quotes_record_the_new_version(tmp_path: Path) -> None:
    if not PrusaSlicer().available():
        missing_component("prusa-slicer not found (apt-get install prusa-slicer)")
    container = bootstrap(app_settings(tmp_path, slicer_in_process=False))
    try:
        settings, printer = container.catalog.pricing()
        material = container.catalog.material("PLA")
        refit = EstimatorRefit(
            container.slicing.app, container.shop, container.catalog, container.fleet
        )
        empty = refit.run(actor="test")  # no slices yet: nothing fitted, nothing saved
        assert not empty.saved and empty.before is None and not empty.calibration.fitted
        for part in PARTS:
            stored = container.checkout.models.put_model(parts.stl_bytes(part.mesh), "p.stl")
            for infill in (20.0, 50.0):
                container.slicing.app.request(
                    SliceRequest(
                        stored.sha256,
                        "p.stl",
                        parts.geometry_of(part.mesh),
                        printer,
                        material,
                        settings,
                        infill,
                    ),
                    actor="test",
                )
        container.projections["slice_jobs"].catch_up()
        queue = container.slicing.queue
        assert queue is not None
        while queue.work_some(limit=20):
            container.projections["slice_jobs"].catch_up()

        outcome = refit.run(actor="cli")
        assert outcome.saved and outcome.calibration.model.version == 1
        assert outcome.before is not None and outcome.after is not None
        assert outcome.after.samples == 16
        # Fitted on these slices, the estimate is closer to them than the shell model was.
        assert outcome.after.material_pct < outcome.before.material_pct
        assert outcome.after.time_pct < outcome.before.time_pct
        history = container.shop.history(ESTIMATOR_SETTING)
        assert history[-1].actor == "cli"

        container.shop._cached = None  # the setting is read at most once a second
        price = container.quoter.quote(
            QuoteRequest(
                geometry=parts.geometry_of(parts.cube(15.0).mesh),
                material="PLA",
                color=None,
                quantity=1,
                infill_pct=20,
                priority=False,
                fulfillment="pickup",
                shipping_zip=None,
            )
        )
        assert price.estimate is not None
        assert (price.estimate["source"], price.estimate["version"]) == ("estimator", 1)
    finally:
        container.close()
