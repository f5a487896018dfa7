"""The `fabledger` command: serve the API, manage admins and roles, rebuild projections."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tqdm import tqdm

from application.catalog import CatalogApp
from application.developer import DeveloperApp
from application.identity import IdentityApp
from application.ordering import OrderingApp
from domain.errors import DomainError
from domain.users import ROLES
from infra.bootstrap import bootstrap
from infra.settings import Settings
from workers import billing, kafka_projections, notify, quotes, slicer
from workers import projections as projections_worker
from workers import relay as relay_worker

CLI_ACTOR = "cli"  # the actor of events this command writes
STORES = (IdentityApp.name, CatalogApp.name, OrderingApp.name, DeveloperApp.name)
# Commands that only make sense on data that is already there: on a missing store they
# refuse instead of creating an empty one and answering about it (0 events, no such user).
NEEDS_STORE = {
    ("projections", "rebuild"),
    ("projections", "status"),
    ("user", "role"),
    ("billing", "replay"),
    ("quotes", "calibrate"),
}
CREATES_STORE = {("serve", None), ("admin", "create")}  # may be the first thing ever run
# Everything else is a long-running worker: it may start before the API, so it warns only.


def masked_url(url: str) -> str:
    """A database URL fit to print: any password (in the URL or its query) is masked."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if parts.port is not None:
            netloc += f":{parts.port}"
    except ValueError:  # unparseable (a bad port): show nothing that might be a secret
        return f"{url.split(':', 1)[0]}://***"
    if parts.username is not None:
        secret = ":***" if parts.password is not None else ""
        netloc = f"{parts.username}{secret}@{netloc}"
    query = urlencode(
        [
            (key, "***" if key.lower() == "password" else value)
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="*",
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def location(settings: Settings) -> str:
    """Where this process keeps its data, in words."""
    if settings.database_url == "memory://":
        return f"data dir {settings.data_dir}, events in memory (nothing is kept)"
    if settings.uses_postgres:
        return f"data dir {settings.data_dir}, database {masked_url(settings.database_url)}"
    return f"data dir {settings.data_dir} (SQLite)"


def store_exists(settings: Settings, *, ask_database: bool) -> bool | None:
    """Whether any event store is there already; None when unknown or not applicable."""
    if settings.database_url == "memory://":
        return None
    if not settings.uses_postgres:
        return any((settings.data_dir / f"{name}.db").is_file() for name in STORES)
    if not ask_database:
        return None
    import psycopg

    try:
        with psycopg.connect(settings.database_url, connect_timeout=2) as conn:
            tables = [f"public.{name}_events" for name in STORES]
            row = conn.execute(
                "SELECT count(to_regclass(t)) FROM unnest(%s::text[]) AS t", (tables,)
            ).fetchone()
    except psycopg.Error:
        return None  # unreachable: the command itself reports that, with its own retries
    return bool(row and row[0])


def announce_store(args: argparse.Namespace, settings: Settings) -> int | None:
    """Say on stderr where the command works; an exit status when it must not run there."""
    print(f"fabledger: {location(settings)}", file=sys.stderr)
    command = (args.command, getattr(args, "action", None))
    needs, creates = command in NEEDS_STORE, command in CREATES_STORE
    if store_exists(settings, ask_database=needs or creates) is not False:
        return None
    where = (
        f"database {masked_url(settings.database_url)}"
        if settings.uses_postgres
        else str(settings.data_dir)
    )
    if needs:
        print(
            f"fabledger: no event store at {where}: this command would create a new, empty"
            " one. Point FABLEDGER_DATA_DIR (or FABLEDGER_DATABASE_URL) at your data,"
            " or run it where the data dir is.",
            file=sys.stderr,
        )
        return 2
    if creates:
        print(f"fabledger: creating a new store at {where}", file=sys.stderr)
    else:
        print(
            f"fabledger: no event store at {where} yet: starting on a new, empty one",
            file=sys.stderr,
        )
    return None


def serve(args: argparse.Namespace, settings: Settings) -> int:
    """Run the HTTP API with uvicorn (by import string: workers never import api)."""
    import uvicorn

    # uvicorn's factory (in this process or each worker) reads Settings from the environment
    # again: hand it the directory resolved and printed here, whatever its working directory.
    os.environ["FABLEDGER_DATA_DIR"] = str(settings.data_dir)
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
    """Create an admin account, or set an existing account's password with --reset-password."""
    container = bootstrap(settings)
    try:
        identity = container.identity
        # Decide before prompting: a password typed for a command that will refuse is lost.
        existing = identity.user_by_email(args.email)
        if existing is not None and not args.reset_password:
            print(
                f"error: an account with e-mail {existing.email} already exists"
                f" (role {existing.role}); nothing changed.\n"
                "  to set a new password and make it an admin:"
                f" fabledger admin create --email {existing.email} --reset-password\n"
                "  to make it an admin without touching its password:"
                f" fabledger user role {existing.email} admin",
                file=sys.stderr,
            )
            return 1
        if existing is None and args.reset_password:
            print(
                f"error: no account with e-mail {args.email} to reset; leave out"
                " --reset-password to create it",
                file=sys.stderr,
            )
            return 1
        prompt = (
            f"New password for {existing.email}: " if existing else "Password for the new admin: "
        )
        password = args.password or getpass.getpass(prompt)
        user = identity.ensure_admin(
            email=args.email,
            username=args.username or args.email.split("@")[0],
            password=password,
            reset_password=args.reset_password,
            actor=CLI_ACTOR,
        )
    finally:
        container.close()
    if existing is not None:
        print(f"password set, admin ready: {user.email} ({user.id})")
    else:
        print(f"admin ready: {user.email} ({user.id})")
    return 0


def user_role(args: argparse.Namespace, settings: Settings) -> int:
    """Give an existing account a role (the one way to make a moderator)."""
    container = bootstrap(settings)
    try:
        container.projections["users"].catch_up()  # the admins the last-admin rule counts
        change, previous = container.staff.change_role_by_email(
            args.email, args.role, actor=CLI_ACTOR
        )
    finally:
        container.close()
    user = change.user
    if previous == user.role:
        print(f"{user.email} is already {user.role}; nothing changed")
    else:
        print(f"{user.email}: {previous} -> {user.role}")
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
    create = admin.add_parser("create", help="create an admin (or reset an account's password)")
    create.add_argument("--email", required=True)
    create.add_argument("--password", help="prompted for when omitted (keeps it out of history)")
    create.add_argument("--username")
    create.add_argument(
        "--reset-password",
        action="store_true",
        help="the account exists: set this password and make it an admin",
    )
    create.set_defaults(handler=admin_create)

    user = commands.add_parser("user", help="manage accounts").add_subparsers(
        dest="action", required=True
    )
    role = user.add_parser("role", help="give an existing account a role")
    role.add_argument("email")
    role.add_argument("role", choices=ROLES)
    role.set_defaults(handler=user_role)

    projections = commands.add_parser("projections", help="read models").add_subparsers(
        dest="action", required=True
    )
    rebuild = projections.add_parser("rebuild", help="rebuild from the event log")
    rebuild.add_argument("name", nargs="?")
    rebuild.set_defaults(handler=projections_rebuild)
    projections.add_parser("status", help="positions").set_defaults(handler=projections_status)
    billing.add_commands(commands)
    quotes.add_commands(commands)
    worker = commands.add_parser("worker", help="long-running worker processes")
    workers = worker.add_subparsers(dest="worker", required=True)
    projections_worker.add_command(workers)
    kafka_projections.add_source_option(workers)
    relay_worker.add_command(workers)
    notify.add_command(workers)
    slicer.add_command(workers)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = parser().parse_args(argv)
    settings = Settings()
    # Resolved once: every message and every file below names the same absolute directory.
    settings = settings.model_copy(update={"data_dir": settings.data_dir.resolve()})
    refused = announce_store(args, settings)
    if refused is not None:
        return refused
    try:
        return int(args.handler(args, settings))
    except DomainError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
