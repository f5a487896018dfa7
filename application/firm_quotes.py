"""Firm quotes: a quote priced from the slicer's figures for the part, once it is sliced."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.catalog import CatalogApp
from application.quoting import FirmFigures, Quoter, QuoteRequest
from application.slicing import SliceRequest, SlicingApp
from domain.pricing import PriceBreakdown
from domain.slice_jobs import FAILED, SLICED, SliceJob
from domain.slicing import SliceResult


@dataclass(frozen=True)
class FirmQuote:
    """A quote and the slice job behind it: firm once sliced, else the instant estimate."""

    price: PriceBreakdown
    job: SliceJob

    @property
    def done(self) -> bool:
        """Whether the slicer has answered (figures, or why there are none)."""
        return self.job.status in (SLICED, FAILED)


class FirmQuotes:
    """Requests the slice a quote needs and prices with it when it is there."""

    def __init__(self, quoter: Quoter, catalog: CatalogApp, slicing: SlicingApp) -> None:
        self.quoter = quoter
        self.catalog = catalog
        self.slicing = slicing

    def request(
        self, request: QuoteRequest, model_sha256: str, filename: str, *, actor: str
    ) -> SliceJob:
        """The job slicing this part for the printer the quote chooses (queued if new)."""
        material = self.catalog.material(request.material)
        settings, _ = self.catalog.pricing()
        printer, _ = self.quoter.printer_for(
            request.geometry, material, settings, request.infill_pct
        )
        return self.slicing.request(
            SliceRequest(
                model_sha256=model_sha256,
                filename=filename,
                geometry=request.geometry,
                printer=printer,
                material=material,
                settings=settings,
                infill_pct=request.infill_pct,
            ),
            actor=actor,
        )

    def price(self, request: QuoteRequest, job_id: UUID) -> FirmQuote:
        """The quote with the job as it stands: firm figures when sliced, else the estimate."""
        job = self.slicing.job(job_id)
        firm = None
        if job.status == SLICED and job.result is not None:
            firm = FirmFigures(job.printer, SliceResult.from_dict(job.result), str(job.id))
        return FirmQuote(self.quoter.quote(request, firm=firm), job)
