"""The `fabledger` command: serve the API, manage admins, rebuild projections."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence

from tqdm import tqdm

from domain.errors import DomainError
from infra.bootstrap import bootstrap
from infra.settings import Settings
from workers import billing, kafka_projections, notify
from workers import projections as projections_worker
from workers import relay as relay_worker


def serve(args: argparse.Namespace, settings: Settings) -> int:
    """Run the HTTP API with uvicorn (by import string: workers never import api)."""
    import uvicorn

    if args.workers > 1 and not settings.uses_postgres:
        print(
            f"warning: {args.workers} processes share the SQLite files (writes queue on file"
            " locks, each process follows the projections); use PostgreSQL to scale out",
            file=sys.stderr,
        )
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers,
        log_config=None,
        access_log=False,  # our RequestContext middleware logs each request once
    )
    return 0


def admin_create(args: argparse.Namespace, settings: Settings) -> int:
    """Create an admin account (or promote an existing one)."""
    password = args.password or getpass.getpass("Password for the new admin: ")
    container = bootstrap(settings)
    try:
        user = container.identity.ensure_admin(
            email=args.email, username=args.username or args.email.split("@")[0], password=password
        )
    finally:
        container.close()
    print(f"admin ready: {user.email} ({user.id})")
    return 0


def projections_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    """Drop and rebuild one or every projection from the event log, in batches."""
    container = bootstrap(settings)
    try:
        names = [args.name] if args.name else list(container.projections)
        unknown = [n for n in names if n not in container.projections]
        if unknown:
            print(f"unknown projection {unknown[0]!r}; known: {', '.join(container.projections)}")
            return 2
        for name in names:
            runner = container.projections[name]
            head = runner.app.recorder.max_notification_id() or 0
            with tqdm(total=head, desc=f"rebuild {name}", unit="event") as bar:
                done = runner.rebuild(progress=bar.update)
            print(f"{name}: {done} events")
    finally:
        container.close()
    return 0


def projections_status(_: argparse.Namespace, settings: Settings) -> int:
    """Show each projection's position against the head of the log."""
    container = bootstrap(settings)
    try:
        for name, runner in container.projections.items():
            head = runner.app.recorder.max_notification_id() or 0
            print(f"{name}: {runner.position()} / {head}")
    finally:
        container.close()
    return 0


def parser() -> argparse.ArgumentParser:
    """The command-line grammar."""
    root = argparse.ArgumentParser(prog="fabledger", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    run = commands.add_parser("serve", help="run the HTTP API")
    run.add_argument("--host")
    run.add_argument("--port", type=int)
    run.add_argument("--workers", type=int, default=1)
    run.set_defaults(handler=serve)

    admin = commands.add_parser("admin", help="manage admin accounts").add_subparsers(
        dest="action", required=True
    )
    create = admin.add_parser("create", help="create or promote an admin")
    create.add_argument("--email", required=True)
    create.add_argument("--password", help="prompted for when omitted (keeps it out of history)")
    create.add_argument("--username")
    create.set_defaults(handler=admin_create)

    projections = commands.add_parser("projections", help="read models").add_subparsers(
        dest="action", required=True
    )
    rebuild = projections.add_parser("rebuild", help="rebuild from the event log")
    rebuild.add_argument("name", nargs="?")
    rebuild.set_defaults(handler=projections_rebuild)
    projections.add_parser("status", help="positions").set_defaults(handler=projections_status)
    billing.add_commands(commands)
    worker = commands.add_parser("worker", help="long-running worker processes")
    workers = worker.add_subparsers(dest="worker", required=True)
    projections_worker.add_command(workers)
    kafka_projections.add_source_option(workers)
    relay_worker.add_command(workers)
    notify.add_command(workers)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = parser().parse_args(argv)
    try:
        return int(args.handler(args, Settings()))
    except DomainError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
