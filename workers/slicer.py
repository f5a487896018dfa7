"""`fabledger worker slicer`: slices the queued jobs (firm quotes, orders' G-code)."""

from __future__ import annotations

import argparse
import threading

from infra.bootstrap import Container, bootstrap
from infra.settings import Settings
from workers.runtime import Pace, Step, run_worker


def slicer_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Claim and slice open jobs until SIGTERM (one at a time; run more workers for more)."""

    def build() -> Container:
        container = bootstrap(settings)
        if container.slicing.queue is None:
            container.close()
            raise SystemExit(
                f"slicer {settings.slicer_command!r} does not run here"
                " (apt-get install prusa-slicer, or set FABLEDGER_SLICER_COMMAND)"
            )
        return container

    def step_of(container: Container, stop: threading.Event) -> Step:
        queue = container.slicing.queue
        assert queue is not None
        return lambda: queue.work_some(stop.is_set)

    return run_worker(
        "slicer", settings, build, step_of, Container.close, Pace(interval=args.interval)
    )


def add_command(workers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`worker slicer [--interval S]` under `fabledger worker`."""
    worker = workers.add_parser("slicer", help="slice queued jobs with the real slicer")
    worker.add_argument(
        "--interval", type=float, default=1.0, help="seconds between polls when idle"
    )
    worker.set_defaults(handler=slicer_worker)
