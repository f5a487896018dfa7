"""`fabledger worker notify`: order and payment e-mails from their logs, through an outbox.

Two stages, so a crash never loses a mail and re-reading a log never duplicates one:

1. The outboxes (workers/mail_outbox.py) are projections of the ordering and payments
   logs: a batch's mails go into `mail_outbox` (primary key: the event's mail key) in the
   same transaction as the consumer's position, so each event is recorded exactly once.
2. `deliver` sends pending mails one at a time, each in its own transaction that marks it
   sent (on PostgreSQL the row is locked with SKIP LOCKED, so several notify workers never
   send the same mail at once). Sending is at least once: a crash after the mail server
   accepted a mail but before the mark commits sends it again, with the same Message-ID.
   Attachments (an invoice PDF) are built at send time from what `mail_attachments` names.

A mail that fails (its attachment cannot be built yet, or the server answers "try later")
stays pending and is not allowed to hold up the queue: its failures are counted in
`mail_failures`, mails that never failed go first, and it waits longer before each retry
(at once, then 1, 3, 7, ... seconds, at most 15 minutes).
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import structlog

from application.invoices import Invoices
from application.notifications import INVOICE, Attachment, Mail, Mailer, MailRejected
from infra.bootstrap import Container, bootstrap
from infra.settings import Settings
from projections.base import Cursor, ViewDatabase
from projections.runner import ProjectionRunner
from workers.mail_outbox import PENDING, REJECTED, SENT, MailOutbox, PaymentMailOutbox
from workers.projections import catch_up_until_stopped
from workers.runtime import Pace, Step, run_worker

__all__ = ["MailOutbox", "Notifier", "PaymentMailOutbox", "deliver", "notifier"]

log = structlog.get_logger("fabledger.notify")

Attach = Callable[[str, str], Attachment]  # (kind, ref) -> the file, built at send time
MAX_BACKOFF_SECONDS = 900


def invoice_attachments(invoices: Invoices) -> Attach:
    """Builds what payment mails attach: a payment's invoice PDF (Conflict before it is
    issued, which leaves the mail pending)."""

    def attach(kind: str, ref: str) -> Attachment:
        if kind != INVOICE:
            raise ValueError(f"unknown attachment kind {kind!r}")
        filename, data = invoices.pdf_for_payment(UUID(ref))
        return Attachment(filename, "application/pdf", data)

    return attach


def _nothing_to_attach(kind: str, ref: str) -> Attachment:
    raise LookupError(f"this sender cannot build {kind!r} attachments")


@dataclass(frozen=True)
class _Pending:
    """A pending mail as read from the outbox, with what it attaches and its failures."""

    key: str
    to: str
    subject: str
    body: str
    kind: str | None
    ref: str | None
    attempts: int

    def mail(self, attach: Attach) -> Mail:
        """The mail to send, its attachment built now."""
        if self.kind is None or self.ref is None:
            return Mail(self.key, self.to, self.subject, self.body)
        return Mail(self.key, self.to, self.subject, self.body, (attach(self.kind, self.ref),))


_NEXT_PENDING = (
    "SELECT o.mail_key, o.recipient, o.subject, o.body, a.kind, a.ref,"
    " COALESCE(f.attempts, 0) FROM mail_outbox o"
    " LEFT JOIN mail_attachments a ON a.mail_key = o.mail_key"
    " LEFT JOIN mail_failures f ON f.mail_key = o.mail_key"
    " WHERE o.status = ? AND (f.retry_after IS NULL OR f.retry_after <= ?){skipping}"
    " ORDER BY COALESCE(f.attempts, 0), o.position LIMIT 1"
)


def _stamp(seconds_from_now: float = 0) -> str:
    """A time as `mail_failures` stores it (fixed width, so text order is time order)."""
    moment = datetime.now(UTC) + timedelta(seconds=seconds_from_now)
    return moment.isoformat(timespec="microseconds")


def _next_pending(cur: Cursor, dialect: str, skipping: set[str]) -> _Pending | None:
    """The next mail to try: never failed before failed, then oldest; none due later."""
    marks = ", ".join("?" * len(skipping))  # placeholders only: the keys are parameters
    sql = _NEXT_PENDING.format(skipping=f" AND o.mail_key NOT IN ({marks})" if skipping else "")
    if dialect == "postgres":
        # SKIP LOCKED: a second notify worker takes the next mail instead of sending this too.
        sql += " FOR UPDATE OF o SKIP LOCKED"
    cur.execute(sql, (PENDING, _stamp(), *sorted(skipping)))
    row = cur.fetchone()
    if row is None:
        return None
    key, to, subject, body, kind, ref, attempts = row
    return _Pending(key, to, subject, body, kind, ref, int(attempts))


def _record_failure(cur: Cursor, pending: _Pending, error: BaseException) -> None:
    """Count the failure and set when the mail may be tried again."""
    attempts = pending.attempts + 1
    wait = min(2 ** (attempts - 1) - 1, MAX_BACKOFF_SECONDS)  # 0, 1, 3, 7, ... seconds
    reason = f"{type(error).__name__}: {error}"[:500]
    cur.execute(
        "INSERT INTO mail_failures (mail_key, attempts, error, retry_after) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (mail_key) DO UPDATE SET attempts = excluded.attempts,"
        " error = excluded.error, retry_after = excluded.retry_after",
        (pending.key, attempts, reason, _stamp(wait)),
    )
    log.warning("mail_deferred", key=pending.key, attempts=attempts, error=reason)


def _settle_next(
    views: ViewDatabase, mailer: Mailer, attach: Attach, skipping: set[str]
) -> bool | None:
    """Send the next pending mail: True when settled, False when set aside until a retry
    (its attachment failed), None when no mail is due."""
    failing: _Pending | None = None
    try:
        with views.transaction() as cur:
            pending = _next_pending(cur, views.dialect, skipping)
            if pending is None:
                return None
            try:
                mail = pending.mail(attach)
            except Exception as error:  # not sendable yet (an invoice not issued): nothing sent
                _record_failure(cur, pending, error)
                skipping.add(pending.key)
                return False
            failing = pending
            try:
                mailer.send(mail)  # any other error rolls back: the mail stays pending
                status, error_text = SENT, None
            except MailRejected as rejected:
                log.warning("mail_rejected", key=mail.key, reason=str(rejected))
                status, error_text = REJECTED, str(rejected)
            cur.execute(
                "UPDATE mail_outbox SET status = ?, sent_at = ?, error = ? WHERE mail_key = ?",
                (status, datetime.now(UTC).isoformat(), error_text, mail.key),
            )
            cur.execute("DELETE FROM mail_failures WHERE mail_key = ?", (mail.key,))
            failing = None
    except Exception as error:
        if failing is not None:
            _record_send_failure(views, failing, error)
        raise
    return True


def _record_send_failure(views: ViewDatabase, pending: _Pending, error: Exception) -> None:
    """After the mark rolled back: remember the failure so the next round tries others first."""
    try:
        with views.transaction() as cur:
            _record_failure(cur, pending, error)
    except Exception as unrecorded:  # the database is down too: the send error is the news
        log.warning("mail_failure_not_recorded", key=pending.key, error=str(unrecorded))


def deliver(
    views: ViewDatabase,
    mailer: Mailer,
    stop: threading.Event,
    limit: int = 100,
    *,
    attach: Attach = _nothing_to_attach,
) -> int:
    """Send up to `limit` pending mails, those that never failed first, each in log order;
    returns how many were settled (sent or rejected for good).

    A mail whose attachment cannot be built is set aside until its retry and the round goes
    on; a send error stops the round (the server is likely down for every mail) and is
    raised, the mail counted as failed so that the next round tries the others first.
    """
    skipping: set[str] = set()
    settled = tried = 0
    while tried < limit and not stop.is_set():
        outcome = _settle_next(views, mailer, attach, skipping)
        if outcome is None:
            break
        tried += 1
        settled += int(outcome)
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
    """The notify worker's parts: the container, the two outbox consumers (orders and
    payments), the mailer and what builds attachments."""

    container: Container
    outbox: ProjectionRunner
    mailer: Mailer
    payment_outbox: ProjectionRunner
    attach: Attach

    def step(self, stop: threading.Event) -> int:
        """Record new mails from both logs, then send pending ones."""
        recorded = 0
        for runner in (self.outbox, self.payment_outbox):
            if not stop.is_set():
                recorded += catch_up_until_stopped(runner, stop)
        return recorded + deliver(self.container.views, self.mailer, stop, attach=self.attach)

    def close(self) -> None:
        """Close the container."""
        self.container.close()


def notifier(settings: Settings, *, skip_history: bool = False) -> Notifier:
    """The composition root of the notify worker."""
    container = bootstrap(settings)
    mailer = container.mail_delivery  # the admin's mail_delivery setting, read at each send
    outbox = ProjectionRunner(container.ordering, MailOutbox(), container.views)
    payment_outbox = ProjectionRunner(container.payments.app, PaymentMailOutbox(), container.views)
    if skip_history:
        start_at_head(outbox)
        start_at_head(payment_outbox)
    attach = invoice_attachments(container.invoices)
    return Notifier(container, outbox, mailer, payment_outbox, attach)


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
    worker = workers.add_parser("notify", help="send order and payment e-mails")
    worker.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    worker.add_argument(
        "--skip-history",
        action="store_true",
        help="on the first start, begin at the head of the log (no mails for past events)",
    )
    worker.set_defaults(handler=notify_worker)
