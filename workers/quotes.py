"""`fabledger quotes calibrate`: refit the instant estimate from the slicer's results."""

from __future__ import annotations

import argparse

from application.estimator_refit import EstimatorRefit
from infra.bootstrap import bootstrap
from infra.settings import Settings

CLI_ACTOR = "cli"


def calibrate(args: argparse.Namespace, settings: Settings) -> int:
    """Fit per printer and material, print the accuracy before and after, save the version."""
    container = bootstrap(settings)
    try:
        refit = EstimatorRefit(
            container.slicing.app, container.shop, container.catalog, container.fleet
        ).run(actor=CLI_ACTOR, save=not args.dry_run)
    finally:
        container.close()
    outcome = refit.calibration
    for group in outcome.fitted:
        print(f"fitted: {group}")
    for group, why in outcome.refused.items():
        print(f"not fitted: {group}: {why}")
    for label, accuracy in (("before", refit.before), ("after", refit.after)):
        if accuracy is not None:
            print(
                f"{label}: material {accuracy.material_pct:.2f} %, print time"
                f" {accuracy.time_pct:.2f} % mean absolute error over {accuracy.samples} slices"
            )
    if refit.saved:
        print(f"saved: estimator version {outcome.model.version}")
        return 0
    print("nothing saved" + (" (--dry-run)" if args.dry_run else ": no group had enough slices"))
    return 0 if args.dry_run else 1


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`quotes calibrate [--dry-run]`."""
    quotes = commands.add_parser("quotes", help="the instant estimate").add_subparsers(
        dest="action", required=True
    )
    command = quotes.add_parser("calibrate", help="refit the estimate from slicer results")
    command.add_argument("--dry-run", action="store_true", help="fit and report, save nothing")
    command.set_defaults(handler=calibrate)
