"""`fabledger worker notify`: order status e-mails from the ordering log, through an outbox.

Two stages, so a crash never loses a mail and re-reading the log never duplicates one:

1. `MailOutbox` is a projection of the ordering log: a batch's mails go into `mail_outbox`
   (primary key: order id + version) in the same transaction as the consumer's position,
   so each order event is recorded exactly once.
2. `deliver` sends pending mails one at a time, each in its own transaction that marks it
   sent (on PostgreSQL the row is locked with SKIP LOCKED, so several notify workers never
   send the same mail at once). Sending is at least once: a crash after the mail server
   accepted a mail but before the mark commits sends it again, with the same Message-ID.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from application.notifications import Mail, Mailer, MailRejected, OrderEvent, Recipient, mails_for
from infra.bootstrap import Container, bootstrap
from infra.mailer import build_mailer
from infra.settings import Settings
from projections.base import Cursor, EventRecord, Projection, ViewDatabase
from projections.runner import ProjectionRunner
from workers.projections import catch_up_until_stopped
from workers.runtime import Pace, Step, run_worker

log = structlog.get_logger("fabledger.notify")

PENDING, SENT, REJECTED = "pending", "sent", "rejected"


class MailOutbox(Projection):
    """Folds order events into the mails they send (never rebuilt: rows remember 'sent')."""

    name = "mail_outbox"

    def create(self, cur: Cursor) -> None:
        """The outbox and the recipients it remembers from each order's Placed event."""
        cur.execute(
            "CREATE TABLE IF NOT EXISTS mail_recipients ("
            " order_id TEXT PRIMARY KEY, email TEXT NOT NULL, tracking_number TEXT NOT NULL)"
        )
        cur.execute(
            "CREATE TABLE IF NOT EXISTS mail_outbox ("
            " mail_key TEXT PRIMARY KEY, position BIGINT NOT NULL, recipient TEXT NOT NULL,"
            " subject TEXT NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL,"
            " sent_at TEXT, error TEXT)"
        )
        cur.execute(
            "CREATE INDEX IF NOT EXISTS mail_outbox_pending ON mail_outbox (status, position)"
        )

    def drop(self, cur: Cursor) -> None:
        """Drop both tables (forgets what was sent: only for tests)."""
        cur.execute("DROP TABLE IF EXISTS mail_outbox")
        cur.execute("DROP TABLE IF EXISTS mail_recipients")

    def apply(self, cur: Cursor, events: Sequence[EventRecord]) -> None:
        """Record the batch's recipients and mails; a key seen before is left alone."""
        batch = [OrderEvent(e.originator_id, e.version, e.type, e.data) for e in events]
        known = _recipients(cur, {e.order_id for e in batch if e.type != "Placed"})
        stored = set(known)
        mails = list(mails_for(batch, known))
        new = [(order_id, r) for order_id, r in known.items() if order_id not in stored]
        cur.executemany(
            "INSERT INTO mail_recipients (order_id, email, tracking_number) VALUES (?, ?, ?)"
            " ON CONFLICT (order_id) DO NOTHING",
            [(order_id, r.email, r.tracking_number) for order_id, r in new],
        )
        positions = {(e.originator_id, e.version): e.position for e in events}
        cur.executemany(
            "INSERT INTO mail_outbox (mail_key, position, recipient, subject, body, status)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (mail_key) DO NOTHING",
            [
                (m.key, positions[(e.order_id, e.version)], m.to, m.subject, m.body, PENDING)
                for e, m in mails
            ],
        )

    def dump(self, cur: Cursor) -> Iterator[tuple[Any, ...]]:
        """Every recorded mail in log order."""
        cur.execute(
            "SELECT mail_key, position, recipient, subject, status FROM mail_outbox ORDER BY 2"
        )
        yield from (tuple(row) for row in cur.fetchall())


_RECIPIENTS_IN = (
    "SELECT order_id, email, tracking_number FROM mail_recipients WHERE order_id IN ({marks})"
)


def _recipients(cur: Cursor, order_ids: set[str]) -> dict[str, Recipient]:
    ids = sorted(order_ids)
    found: dict[str, Recipient] = {}
    for start in range(0, len(ids), 500):  # keeps the parameter count far below any limit
        chunk = ids[start : start + 500]
        marks = ", ".join("?" * len(chunk))  # placeholders only: the ids are parameters
        cur.execute(_RECIPIENTS_IN.format(marks=marks), chunk)
        found.update({row[0]: Recipient(row[1], row[2]) for row in cur.fetchall()})
    return found


def deliver(views: ViewDatabase, mailer: Mailer, stop: threading.Event, limit: int = 100) -> int:
    """Send up to `limit` pending mails, oldest first; returns how many were settled."""
    # SKIP LOCKED: a second notify worker takes the next mail instead of sending this one too.
    select = (
        "SELECT mail_key, recipient, subject, body FROM mail_outbox WHERE status = ?"
        " ORDER BY position LIMIT 1"
    )
    if views.dialect == "postgres":
        select += " FOR UPDATE SKIP LOCKED"
    settled = 0
    while settled < limit and not stop.is_set():
        with views.transaction() as cur:
            cur.execute(select, (PENDING,))
            row = cur.fetchone()
            if row is None:
                return settled
            mail = Mail(*row)
            try:
                mailer.send(mail)  # any other error rolls back: the mail stays pending
                status, error = SENT, None
            except MailRejected as rejected:
                log.warning("mail_rejected", key=mail.key, reason=str(rejected))
                status, error = REJECTED, str(rejected)
            cur.execute(
                "UPDATE mail_outbox SET status = ?, sent_at = ?, error = ? WHERE mail_key = ?",
                (status, datetime.now(UTC).isoformat(), error, mail.key),
            )
        settled += 1
    return settled


def start_at_head(runner: ProjectionRunner) -> None:
    """First start on an old store: skip its history instead of mailing every past event."""
    head = runner.app.recorder.max_notification_id() or 0
    with runner.db.transaction() as cur:
        cur.execute(
            "INSERT INTO projection_positions (name, position) VALUES (?, ?)"
            " ON CONFLICT (name) DO NOTHING",
            (runner.name, head),
        )


@dataclass
class Notifier:
    """The notify worker's parts: the container, the outbox consumer and the mailer."""

    container: Container
    outbox: ProjectionRunner
    mailer: Mailer

    def step(self, stop: threading.Event) -> int:
        """Record new mails, then send pending ones."""
        recorded = catch_up_until_stopped(self.outbox, stop)
        return recorded + deliver(self.container.views, self.mailer, stop)

    def close(self) -> None:
        """Close the container."""
        self.container.close()


def notifier(settings: Settings, *, skip_history: bool = False) -> Notifier:
    """The composition root of the notify worker."""
    mailer = build_mailer(settings)
    container = bootstrap(settings)
    outbox = ProjectionRunner(container.ordering, MailOutbox(), container.views)
    if skip_history:
        start_at_head(outbox)
    return Notifier(container, outbox, mailer)


def notify_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Run the notifier until SIGTERM."""

    def step_of(parts: Notifier, stop: threading.Event) -> Step:
        return lambda: parts.step(stop)

    return run_worker(
        "notify",
        settings,
        lambda: notifier(settings, skip_history=args.skip_history),
        step_of,
        Notifier.close,
        Pace(interval=args.interval),
    )


def add_command(workers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`worker notify [--interval S] [--skip-history]` under `fabledger worker`."""
    worker = workers.add_parser("notify", help="send order status e-mails")
    worker.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    worker.add_argument(
        "--skip-history",
        action="store_true",
        help="on the first start, begin at the head of the log (no mails for past events)",
    )
    worker.set_defaults(handler=notify_worker)
