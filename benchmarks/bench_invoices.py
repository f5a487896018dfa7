"""GST tax invoice PDFs: ms to build and render a 20-line group invoice (goal < 100 ms).

    python -m benchmarks.bench_invoices            # 21 rounds
    python -m benchmarks.bench_invoices --quick    # 7 rounds
    python -m benchmarks --only invoices

Three jobs, alternating within each round so drift hits all of them: the invoice as the
download builds it (domain.invoices.build_invoice from 20 orders, then
infra.invoice_pdf.render_invoice: Platypus tables, paragraphs and the UPI QR), the render
alone, and a baseline measured in the same run: the same 21 rows and 11 columns of figures
drawn as plain strings straight on a reportlab canvas (no layout engine, no QR), the floor
of any reportlab PDF of that size. Median and best of the rounds, wall clock
(time.perf_counter). Timings, never assertions.
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from benchmarks.support import Result, median, print_table, section
from domain.invoices import Invoice, indian_grouping
from infra.invoice_pdf import render_invoice
from tests.support.invoices import group_invoice

GOAL_MS = 100.0
LINES = 20


def baseline_pdf(invoice: Invoice) -> bytes:
    """The invoice's rows as plain strings on one canvas page: reportlab's floor."""
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=1)
    canvas.setFont("Helvetica", 7)
    y = A4[1] - 60
    for line in invoice.lines:
        cells = [
            line.description[:40],
            line.hsn,
            str(line.quantity),
            *(
                indian_grouping(amount)
                for amount in (
                    line.gross_paise,
                    line.discount_paise,
                    line.taxable_paise,
                    line.cgst_paise,
                    line.sgst_paise,
                    line.igst_paise,
                    line.total_paise,
                )
            ),
            f"{line.rate}%",
        ]
        for column, cell in enumerate(cells):
            canvas.drawString(40 + column * 48, y, cell)
        y -= 12
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def per_call_ms(rounds: int, jobs: dict[str, Callable[[], Any]]) -> dict[str, list[float]]:
    """Milliseconds of each job per round, the jobs' order reversed every other round."""
    times: dict[str, list[float]] = {name: [] for name in jobs}
    order = list(jobs)
    for index in range(rounds):
        for name in order if index % 2 == 0 else reversed(order):
            started = time.perf_counter()
            jobs[name]()
            times[name].append((time.perf_counter() - started) * 1000.0)
    return times


def run(quick: bool = False, rounds: int = 0) -> list[Result]:
    """Time the three jobs, print the table, return the summary row."""
    rounds = rounds or (7 if quick else 21)
    invoice = group_invoice(LINES)
    jobs: dict[str, Callable[[], Any]] = {
        "build + render": lambda: render_invoice(group_invoice(LINES)),
        "render only": lambda: render_invoice(invoice),
        "baseline: canvas strings": lambda: baseline_pdf(invoice),
    }
    for job in jobs.values():  # warm-up: fonts, glyph widths and imports load once
        job()
    size = len(render_invoice(invoice))
    times = per_call_ms(rounds, jobs)
    section(f"GST invoice PDF, {LINES} orders + shipping ({rounds} rounds, {size:,} bytes)")
    rows = [
        [name, f"{median(ms):,.1f}", f"{min(ms):,.1f}", f"{1000.0 / median(ms):,.1f}"]
        for name, ms in times.items()
    ]
    print_table(["job", "median ms", "best ms", "per s"], rows, align="lrrr")
    ours = median(times["build + render"])
    verdict = "met" if ours < GOAL_MS else "ABOVE"
    print(f"goal: < {GOAL_MS:.0f} ms per invoice: {ours:.1f} ms, {verdict}")
    return [
        Result(
            bench="invoices",
            backend="reportlab",
            metric=f"{LINES}-line group invoice PDF",
            ours=1000.0 / ours,
            baseline=1000.0 / median(times["baseline: canvas strings"]),
            unit="/s",
            note=f"{ours:.1f} ms each (goal < {GOAL_MS:.0f} ms: {verdict});"
            " baseline = the rows as plain canvas strings",
        )
    ]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="7 rounds")
    parser.add_argument("--rounds", type=int, default=0, help="rounds timed (default 21)")
    args = parser.parse_args(argv)
    run(quick=args.quick, rounds=args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
