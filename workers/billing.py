"""`fabledger billing`: the overage reporter worker and the usage replay audit."""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import FrameType

import structlog
from tqdm import tqdm

from application.billing import BillingReporter, LiveCounter, ReplayResult
from infra.bootstrap import Container, bootstrap
from infra.logging import configure_logging
from infra.settings import Settings
from projections.base import ViewDatabase
from projections.usage import meters_with_unreported_overage, usage_for_org

PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

log = structlog.get_logger("fabledger.billing")


class ProjectedCounters:
    """The live counters as the usage projection shows them (the UsageCounters port)."""

    def __init__(self, views: ViewDatabase) -> None:
        self.views = views

    def counters(self, org_id: str, period: str) -> Mapping[str, LiveCounter]:
        """One LiveCounter per product with a meter in the period."""
        with self.views.reading() as cur:
            rows = usage_for_org(cur, org_id, period)
        return {
            row["product"]: LiveCounter(
                used=int(row["used"]),
                included=int(row["included"]),
                reported_units=int(row["reported_units"]),
                pending_identifier=row["pending_identifier"],
            )
            for row in rows
        }


def report_round(container: Container, reporter: BillingReporter, stop: threading.Event) -> int:
    """Bring the usage view up to date, then report every meter that owes; returns reports."""
    container.projections["usage"].catch_up()
    with container.views.reading() as cur:
        meter_ids = meters_with_unreported_overage(cur)
    delivered = 0
    for meter_id in meter_ids:
        if stop.is_set():
            break  # between meters: a report in flight always finishes (prepare, send, confirm)
        delivered += len(reporter.report_pending([meter_id]))
    return delivered


def billing_report(args: argparse.Namespace, settings: Settings) -> int:
    """Report overage to billing: once, or every --interval seconds until SIGTERM/SIGINT."""
    configure_logging(json_lines=settings.env == "production", level=settings.log_level)
    container = bootstrap(settings)
    stop = threading.Event()
    try:
        if container.developer.billing is None:
            print(
                "error: billing is not configured (set FABLEDGER_STRIPE_API_KEY)", file=sys.stderr
            )
            return 2
        reporter = BillingReporter(container.developer, container.developer.billing)
        with _stopping_on_signals(stop):
            while True:
                try:
                    delivered = report_round(container, reporter, stop)
                    log.info("billing_round", delivered=delivered)
                except Exception as error:  # keep the worker alive: the database may come back
                    log.exception("billing_round_failed", error=type(error).__name__)
                    if args.once:
                        return 1
                if args.once or stop.wait(args.interval):
                    return 0
    finally:
        container.close()


def billing_replay(args: argparse.Namespace, settings: Settings) -> int:
    """Recompute an organisation's usage for a period from events; exit 1 on any difference."""
    container = bootstrap(settings)
    try:
        container.developer.get_org(args.org)  # NotFound for an unknown organisation
        container.projections["usage"].catch_up()  # compare with counters as current as can be
        reporter = BillingReporter(
            container.developer, container.developer.billing, ProjectedCounters(container.views)
        )
        total = reporter.count_events(args.org, args.period)
        with tqdm(total=total, desc=f"replay {args.period}", unit="event") as bar:
            result = reporter.replay(args.org, args.period, progress=bar.update)
        print_replay(result)
        return 0 if result.ok else 1
    finally:
        container.close()


def print_replay(result: ReplayResult) -> None:
    """One row per product, then each difference (or 'no differences')."""
    headers = ("product", "events", "used", "included", "overage", "reported", "live used")
    rows = [
        (
            p.product,
            p.events,
            p.used,
            p.included,
            p.overage,
            p.reported,
            "-" if p.live is None else p.live.used,
        )
        for p in result.products
    ]
    widths = [max(len(str(r[i])) for r in (headers, *rows)) for i in range(len(headers))]
    print(f"org {result.org_id}, period {result.period}")
    for row in (headers, *rows):
        print(
            "  ".join(
                str(c).rjust(w) if i else str(c).ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    for product in result.products:
        if product.live is not None:
            live = product.live
            print(
                f"{product.product}: live counter used={live.used} included={live.included}"
                f" reported={live.reported_units} pending={live.pending_identifier or '-'}"
            )
    differences = result.differences
    print("differences:" if differences else "no differences")
    for difference in differences:
        print(f"  {difference}")


def period(text: str) -> str:
    """An argparse type: a billing period written YYYY-MM."""
    if not PERIOD.match(text):
        raise argparse.ArgumentTypeError(f"period must be YYYY-MM, not {text!r}")
    return text


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`billing report` and `billing replay` under the root parser's sub-commands."""
    billing = commands.add_parser("billing", help="overage billing").add_subparsers(
        dest="action", required=True
    )
    report = billing.add_parser("report", help="report overage to the billing provider")
    report.add_argument("--once", action="store_true", help="one round, then exit")
    report.add_argument("--interval", type=float, default=60.0, help="seconds between rounds")
    report.set_defaults(handler=billing_report)
    replay = billing.add_parser("replay", help="recompute usage from events and compare")
    replay.add_argument("--org", required=True, help="organisation id")
    replay.add_argument("--period", required=True, type=period, help="YYYY-MM")
    replay.set_defaults(handler=billing_replay)


@contextmanager
def _stopping_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM/SIGINT ask the loop to stop after the current meter (no half-done report)."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
