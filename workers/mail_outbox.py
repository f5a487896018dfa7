"""The notify worker's outboxes: projections that record each customer mail exactly once.

`MailOutbox` follows the ordering log, `PaymentMailOutbox` the payments log; both write into
one `mail_outbox` table (order mail keys are "<order id>:<version>", payment mail keys
"payment:<payment id>:<version>", so they never collide), each in the same transaction as
its own position. Neither is rebuilt in production: rows remember what was sent.
A mail's `position` is its event's position in its own log, so each order's and each
payment's mails keep their order; an order mail and a payment mail pending together may
go either way round (the two logs' positions are not comparable).

Attachments are not stored as bytes: `mail_attachments` names what to attach (an invoice:
kind "invoice", ref = the payment id) and the sender builds the file when it sends the mail.
`mail_failures` keeps how often a pending mail failed, so `deliver` (workers/notify.py)
tries the others first and waits longer before each retry of a mail that keeps failing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from application.notifications import (
    PAYMENT_KEY_PREFIX,
    Mail,
    OrderEvent,
    Payer,
    PaymentEvent,
    Recipient,
    mails_for,
    payment_mails_for,
)
from projections.base import Cursor, EventRecord, Projection

PENDING, SENT, REJECTED = "pending", "sent", "rejected"
_CHUNK = 500  # ids per IN (...): keeps the parameter count far below any driver's limit


def create_outbox(cur: Cursor) -> None:
    """The tables both outboxes share with the sender (idempotent)."""
    cur.execute(
        "CREATE TABLE IF NOT EXISTS mail_outbox ("
        " mail_key TEXT PRIMARY KEY, position BIGINT NOT NULL, recipient TEXT NOT NULL,"
        " subject TEXT NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL,"
        " sent_at TEXT, error TEXT)"
    )
    cur.execute("CREATE INDEX IF NOT EXISTS mail_outbox_pending ON mail_outbox (status, position)")
    cur.execute(
        "CREATE TABLE IF NOT EXISTS mail_attachments ("
        " mail_key TEXT PRIMARY KEY, kind TEXT NOT NULL, ref TEXT NOT NULL)"
    )
    cur.execute(
        "CREATE TABLE IF NOT EXISTS mail_failures ("
        " mail_key TEXT PRIMARY KEY, attempts INTEGER NOT NULL, error TEXT NOT NULL,"
        " retry_after TEXT NOT NULL)"
    )


def _record(cur: Cursor, mails: Sequence[tuple[int, Mail]]) -> None:
    """Insert the mails at their events' positions; a key seen before is left alone (a
    re-read of the log)."""
    cur.executemany(
        "INSERT INTO mail_outbox (mail_key, position, recipient, subject, body, status)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (mail_key) DO NOTHING",
        [(m.key, position, m.to, m.subject, m.body, PENDING) for position, m in mails],
    )


# One outbox's rows among the shared tables' (the table's one parameter: the key prefix).
_ORDER_MAILS = "mail_key NOT LIKE ?"
_PAYMENT_MAILS = "mail_key LIKE ?"


def _dump(cur: Cursor, where: str) -> Iterator[tuple[Any, ...]]:
    """One outbox's mails in log order (`where` is one of the two constants above)."""
    cur.execute(
        "SELECT mail_key, position, recipient, subject, status FROM mail_outbox"  # noqa: S608
        f" WHERE {where} ORDER BY 2",  # `where` is a constant; the prefix is a parameter
        (PAYMENT_KEY_PREFIX + "%",),
    )
    yield from (tuple(row) for row in cur.fetchall())


def _forget(cur: Cursor, where: str) -> None:
    """Delete one outbox's mails, attachments and failures; the other's stay."""
    for table in ("mail_outbox", "mail_attachments", "mail_failures"):
        # Table names and `where` are constants here; the prefix is a parameter.
        cur.execute(f"DELETE FROM {table} WHERE {where}", (PAYMENT_KEY_PREFIX + "%",))  # noqa: S608


class MailOutbox(Projection):
    """Folds order events into the mails they send (never rebuilt: rows remember 'sent')."""

    name = "mail_outbox"

    def create(self, cur: Cursor) -> None:
        """The outbox and the recipients it remembers from each order's Placed event."""
        cur.execute(
            "CREATE TABLE IF NOT EXISTS mail_recipients ("
            " order_id TEXT PRIMARY KEY, email TEXT NOT NULL, tracking_number TEXT NOT NULL)"
        )
        create_outbox(cur)

    def drop(self, cur: Cursor) -> None:
        """Forget the order mails and recipients (what was sent too: only for tests)."""
        _forget(cur, _ORDER_MAILS)
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
        _record(cur, [(positions[(e.order_id, e.version)], m) for e, m in mails])

    def dump(self, cur: Cursor) -> Iterator[tuple[Any, ...]]:
        """Every recorded order mail in log order."""
        return _dump(cur, _ORDER_MAILS)


class PaymentMailOutbox(Projection):
    """Folds payment events into the mails they send: payment received with the invoice
    attached, refund due, refund sent (never rebuilt: rows remember 'sent')."""

    name = "payment_mail_outbox"

    def create(self, cur: Cursor) -> None:
        """The outbox and the payers it remembers from each payment's Requested event."""
        cur.execute(
            "CREATE TABLE IF NOT EXISTS mail_payment_recipients ("
            " payment_id TEXT PRIMARY KEY, email TEXT NOT NULL, amount_paise BIGINT NOT NULL)"
        )
        create_outbox(cur)

    def drop(self, cur: Cursor) -> None:
        """Forget the payment mails and payers (what was sent too: only for tests)."""
        _forget(cur, _PAYMENT_MAILS)
        cur.execute("DROP TABLE IF EXISTS mail_payment_recipients")

    def apply(self, cur: Cursor, events: Sequence[EventRecord]) -> None:
        """Record the batch's payers, mails and what to attach; a key seen before is left
        alone."""
        # The payments log also holds invoice series, UTR claims and handled webhook events;
        # none of their event names is one a payment mail is made of.
        batch = [PaymentEvent(e.originator_id, e.version, e.type, e.data) for e in events]
        known = _payers(cur, {e.payment_id for e in batch if e.type != "Requested"})
        stored = dict(known)
        mails = list(payment_mails_for(batch, known))
        changed = [(pid, p) for pid, p in known.items() if stored.get(pid) != p]
        cur.executemany(
            "INSERT INTO mail_payment_recipients (payment_id, email, amount_paise)"
            " VALUES (?, ?, ?) ON CONFLICT (payment_id) DO UPDATE"
            " SET email = excluded.email, amount_paise = excluded.amount_paise",
            [(pid, p.email, p.amount_paise) for pid, p in changed],
        )
        positions = {(e.originator_id, e.version): e.position for e in events}
        _record(cur, [(positions[(e.payment_id, e.version)], pm.mail) for e, pm in mails])
        cur.executemany(
            "INSERT INTO mail_attachments (mail_key, kind, ref) VALUES (?, ?, ?)"
            " ON CONFLICT (mail_key) DO NOTHING",
            [(pm.mail.key, pm.attach.kind, pm.attach.ref) for _, pm in mails if pm.attach],
        )

    def dump(self, cur: Cursor) -> Iterator[tuple[Any, ...]]:
        """Every recorded payment mail in log order."""
        return _dump(cur, _PAYMENT_MAILS)


_RECIPIENTS_IN = (
    "SELECT order_id, email, tracking_number FROM mail_recipients WHERE order_id IN ({marks})"
)
_PAYERS_IN = (
    "SELECT payment_id, email, amount_paise FROM mail_payment_recipients"
    " WHERE payment_id IN ({marks})"
)


def _recipients(cur: Cursor, order_ids: set[str]) -> dict[str, Recipient]:
    """The remembered recipients of these orders."""
    rows = _rows_in(cur, _RECIPIENTS_IN, order_ids)
    return {row[0]: Recipient(row[1], row[2]) for row in rows}


def _payers(cur: Cursor, payment_ids: set[str]) -> dict[str, Payer]:
    """The remembered payers of these payments."""
    return {row[0]: Payer(row[1], int(row[2])) for row in _rows_in(cur, _PAYERS_IN, payment_ids)}


def _rows_in(cur: Cursor, select: str, ids: set[str]) -> Iterator[Any]:
    """The rows a `select ... IN ({marks})` constant finds for these ids, in chunks."""
    ordered = sorted(ids)
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))  # placeholders only: the ids are parameters
        cur.execute(select.format(marks=marks), chunk)
        yield from cur.fetchall()
