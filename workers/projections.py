"""`fabledger worker projections`: keeps the read models current from the event log."""

from __future__ import annotations

import argparse
import contextlib
import threading
from collections.abc import Callable

from infra.bootstrap import Container, bootstrap
from infra.settings import Settings
from projections.runner import ProjectionRunner
from workers.runtime import Pace, Step, run_worker


class _Stopping(Exception):
    """Raised between two batches when the worker was asked to stop."""


def catch_up_until_stopped(runner: ProjectionRunner, stop: threading.Event) -> int:
    """Catch up batch by batch, leaving after the batch in flight once `stop` is set."""
    done = 0

    def progress(count: int) -> None:
        nonlocal done
        done += count
        if stop.is_set():  # the batch and its position are committed: a clean place to leave
            raise _Stopping

    with contextlib.suppress(_Stopping):
        runner.catch_up(progress)
    return done


def db_log_steps(
    names: list[str],
) -> Callable[[Container, threading.Event], Step]:
    """A step that folds new events of the database log into each chosen projection."""

    def step_of(container: Container, stop: threading.Event) -> Step:
        runners = [container.projections[name] for name in names or container.projections]

        def step() -> int:
            return sum(catch_up_until_stopped(runner, stop) for runner in runners)

        return step

    return step_of


def projections_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Run the chosen projections (all by default) until SIGTERM; positions live in the DB."""
    names: list[str] = args.only or []

    def build() -> Container:
        container = bootstrap(settings)
        unknown = sorted(set(names) - set(container.projections))
        if unknown:
            container.close()
            raise SystemExit(
                f"unknown projection {unknown[0]!r}; known: {', '.join(container.projections)}"
            )
        return container

    return run_worker(
        "projections",
        settings,
        build,
        db_log_steps(names),
        Container.close,
        Pace(interval=args.interval),
    )


def add_command(workers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`worker projections [--only NAME]... [--interval S]` under `fabledger worker`."""
    worker = workers.add_parser("projections", help="keep the read models current")
    worker.add_argument(
        "--only", action="append", metavar="NAME", help="run only this projection (repeatable)"
    )
    worker.add_argument(
        "--interval", type=float, default=0.5, help="seconds between polls of the log when idle"
    )
    worker.set_defaults(handler=projections_worker)
