"""Story: a customer hears about their payment by e-mail: once when it is received, with the
tax invoice attached, and again when money is on its way back and when it was sent.

The payment outbox follows the payments log into the same outbox as order mails, keyed
"payment:<id>:<version>"; the invoice PDF is named in the outbox, not stored, and built when
the mail is sent. The mails go through a real SMTP server (aiosmtpd on 127.0.0.1) and are
read back with the `email` package, as a mail client would. A mail whose attachment cannot
be built yet stays pending and never holds up the others.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from structlog.testing import capture_logs

from application.cart_checkout import CartCheckout, CartItem, CartRequest
from application.notifications import (
    Attachment,
    Mail,
    Payer,
    PaymentEvent,
    compose_payment,
    payment_mails_for,
)
from domain.errors import Conflict
from domain.invoices import indian_grouping
from domain.orders import CANCELLED, Order
from domain.payments import Payment, reference_of
from domain.pricing import stored_total_paise
from infra.bootstrap import Container
from infra.mailer import ConsoleMailer, SmtpMailer
from infra.settings import Settings
from tests.support.factories import container_for, cube_stl, pickup_request
from tests.support.mail import RecordingMailer
from tests.support.postgres import PostgresDatabase
from tests.support.smtp import SmtpServer, plain_smtp
from workers.notify import Attach, Notifier, notifier

STAFF = "admin:test"
NEVER = threading.Event()  # a stop event nobody sets
SENDER = "fabledger <orders@shop.example>"


# --- fixtures and helpers -------------------------------------------------------------


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """Plain SMTP on 127.0.0.1."""
    with plain_smtp() as server:
        yield server


@contextmanager
def running(settings: Settings) -> Iterator[Notifier]:
    """The notify worker's parts, closed afterwards (each story sets the mailer)."""
    built = notifier(settings)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[Notifier]:
    """A notifier on a SQLite store."""
    with running(Settings(data_dir=tmp_path / "data", jwt_secret="x" * 40)) as built:
        yield built


def smtp_mailer(server: SmtpServer) -> SmtpMailer:
    return SmtpMailer(host="127.0.0.1", port=server.port, sender=SENDER, starttls=False)


def paid_order(container: Container, email: str = "payer@example.com") -> tuple[Order, Payment]:
    """An order placed and paid (confirmed by staff), its payment settled: invoice issued."""
    order = container.checkout.place(pickup_request("customer-1", customer_email=email)).order
    payment, _ = container.payments.confirm_manually(
        order.id, method="manual", reference="", actor=STAFF
    )
    container.settlement.settle(payment.id)
    return order, container.payments.app.get_payment(payment.id)


def cancel(container: Container, order_id: UUID) -> None:
    """Staff cancel the order; the refund flow records its refund due."""
    container.ordering.change_status(order_id, CANCELLED, actor=STAFF)
    container.flows["refund_flow"].catch_up()


def subjects(messages: list[Message]) -> list[str]:
    return [str(m["Subject"]) for m in messages]


def pdf_parts(message: Message) -> list[Message]:
    return [p for p in message.walk() if p.get_content_type() == "application/pdf"]


def text_of(message: Message) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def outbox(notify: Notifier, table: str = "mail_outbox") -> list[tuple[Any, ...]]:
    with notify.container.views.reading() as cur:
        cur.execute(f"SELECT * FROM {table} ORDER BY 1")
        return [tuple(row) for row in cur.fetchall()]


# --- the stories ------------------------------------------------------------------------


def test_a_paid_order_mails_one_payment_received_with_the_invoice_pdf_attached(
    notify: Notifier, smtp_server: SmtpServer
) -> None:
    notify.mailer = smtp_mailer(smtp_server)
    order, payment = paid_order(notify.container)

    notify.step(NEVER)

    messages = smtp_server.inbox.wait_for(3)
    tracking = order.tracking_number
    # Each log's mails keep their order; an order's and a payment's may come either way round.
    assert sorted(subjects(messages)) == [
        f"Order {tracking} received",
        f"Order {tracking}: confirmed",
        f"Payment received: invoice {payment.invoice_number}",
    ]
    (received,) = [m for m in messages if str(m["Subject"]).startswith("Payment received")]
    assert received["To"] == "payer@example.com"
    assert received["Message-ID"] == f"<payment.{payment.id}.{payment.version}@shop.example>"
    (pdf,) = pdf_parts(received)
    data = pdf.get_payload(decode=True)
    assert isinstance(data, bytes) and data.startswith(b"%PDF")
    assert pdf.get_filename() == f"{str(payment.invoice_number).replace('/', '-')}.pdf"
    body = text_of(received)
    assert f"Rs. {indian_grouping(stored_total_paise(order.price))}" in body
    assert reference_of(payment.id) in body and "invoice" in body and "attached" in body

    assert notify.step(NEVER) == 0  # nothing new: nothing sent again
    assert len(smtp_server.inbox.messages) == 3


def test_a_group_gets_one_payment_mail_not_one_per_part(notify: Notifier) -> None:
    notify.mailer = mailer = RecordingMailer()
    container = notify.container
    sessions = [
        container.checkout.upload("customer-1", cube_stl(10 + 5 * i), f"part{i}.stl").session_id
        for i in range(3)
    ]
    group = CartCheckout(container.checkout).place(
        CartRequest(
            customer_id="customer-1",
            customer_email="group@example.com",
            items=[CartItem("PLA", None, 1, 20, session_id=s) for s in sessions],
            fulfillment="pickup",
            priority=False,
            shipping_address=None,
            notes="",
        )
    )
    container.payments.confirm_manually(
        group.orders[0].id, method="manual", reference="", actor=STAFF
    )
    for runner in container.flows.values():  # what the background flows do, run now
        runner.catch_up()
    notify.step(NEVER)

    payment_mails = [m for m in mailer.sent if m.key.startswith("payment:")]
    assert [m.subject.split(":")[0] for m in payment_mails] == ["Payment received"]
    assert [a.content_type for a in payment_mails[0].attachments] == ["application/pdf"]
    total = sum(stored_total_paise(o.price) for o in group.orders)
    assert f"Rs. {indian_grouping(total)}" in payment_mails[0].body
    confirmed = [m for m in mailer.sent if m.subject.endswith(": confirmed")]
    assert len(confirmed) == 3  # each part still tells its own status, as before


def test_a_cancelled_paid_order_mails_its_refund_and_then_that_it_was_sent(
    notify: Notifier, smtp_server: SmtpServer
) -> None:
    notify.mailer = smtp_mailer(smtp_server)
    order, payment = paid_order(notify.container)
    notify.step(NEVER)
    cancel(notify.container, order.id)
    notify.step(NEVER)

    amount = indian_grouping(stored_total_paise(order.price))
    messages = smtp_server.inbox.wait_for(5)
    assert sorted(subjects(messages)[3:]) == [
        f"Order {order.tracking_number}: cancelled",
        f"Refund of Rs. {amount} on its way",
    ]
    (refund,) = [m for m in messages if str(m["Subject"]).startswith("Refund")]
    assert "order cancelled after payment" in text_of(refund)
    assert not pdf_parts(refund) and not refund.is_multipart()

    notify.container.payments.app.change(
        payment.id, lambda p: p.refund_sent(str(order.id), "UPI-REF-77", actor=STAFF)
    )
    notify.step(NEVER)
    sent = smtp_server.inbox.wait_for(6)[5]
    assert sent["Subject"] == "Refund sent" and "UPI-REF-77" in text_of(sent)
    assert sent["To"] == "payer@example.com"


def test_rereading_the_payments_log_records_no_mail_twice(notify: Notifier) -> None:
    notify.mailer = mailer = RecordingMailer()
    order, _ = paid_order(notify.container)
    cancel(notify.container, order.id)
    notify.step(NEVER)
    before = {table: outbox(notify, table) for table in ("mail_outbox", "mail_attachments")}
    recipients = outbox(notify, "mail_payment_recipients")

    # Both consumers lose their positions (a restore, a bug): they read every event again.
    with notify.container.views.transaction() as cur:
        cur.execute("DELETE FROM projection_positions WHERE name LIKE ?", ("%mail_outbox",))
    assert notify.outbox.position() == notify.payment_outbox.position() == 0
    assert notify.step(NEVER) > 0  # events re-read ...

    after = {table: outbox(notify, table) for table in ("mail_outbox", "mail_attachments")}
    assert after == before  # ... but nothing recorded again, nothing sent again
    assert outbox(notify, "mail_payment_recipients") == recipients
    assert len(mailer.sent) == len(before["mail_outbox"]) == 5
    assert len(before["mail_attachments"]) == 1
    assert notify.payment_outbox.position() == notify.container.payments.app.position()


class FlakyInvoices:
    """The notifier's attachment builder, failing for chosen payments as it would before
    their invoice is issued."""

    def __init__(self, real: Attach) -> None:
        self.real = real
        self.not_issued: set[str] = set()
        self.calls: list[str] = []

    def __call__(self, kind: str, ref: str) -> Attachment:
        self.calls.append(ref)
        if ref in self.not_issued:
            raise Conflict("no invoice yet: the order is not paid")
        return self.real(kind, ref)


def failures(notify: Notifier) -> dict[str, int]:
    return {row[0]: row[1] for row in outbox(notify, "mail_failures")}


def test_a_mail_whose_invoice_is_not_issued_yet_stays_pending_and_blocks_nobody(
    notify: Notifier,
) -> None:
    notify.mailer = mailer = RecordingMailer()
    notify.attach = flaky = FlakyInvoices(notify.attach)
    _, stuck = paid_order(notify.container, "first@example.com")  # the oldest mail
    flaky.not_issued = {str(stuck.id)}
    _, fine = paid_order(notify.container, "second@example.com")
    stuck_key = f"payment:{stuck.id}:{stuck.version}"

    notify.step(NEVER)
    paid = [m for m in mailer.sent if m.subject.startswith("Payment received")]
    assert [m.to for m in paid] == ["second@example.com"]  # the younger mail went out
    status = {row[0]: row[5] for row in outbox(notify)}
    assert status[stuck_key] == "pending" and failures(notify) == {stuck_key: 1}
    assert flaky.calls == [str(stuck.id), str(fine.id)]  # tried once per round, not in a loop

    # Still not buildable: it waits longer before each retry, and is not retried meanwhile.
    assert notify.step(NEVER) == 0 and failures(notify) == {stuck_key: 2}
    assert notify.step(NEVER) == 0 and failures(notify) == {stuck_key: 2}

    flaky.not_issued = set()
    with notify.container.views.transaction() as cur:  # the clock moves past its retry time
        cur.execute("UPDATE mail_failures SET retry_after = ?", ("2000-01-01T00:00:00.000000",))
    assert notify.step(NEVER) == 1
    (late,) = [m for m in mailer.sent if m.key == stuck_key]
    assert late.to == "first@example.com" and late.attachments[0].data.startswith(b"%PDF")
    assert failures(notify) == {}
    assert {row[5] for row in outbox(notify)} == {"sent"}


class GreylistingMailer(RecordingMailer):
    """A server that answers "try later" for one address, every time."""

    def __init__(self, greylisted: str) -> None:
        super().__init__()
        self.greylisted = greylisted

    def send(self, mail: Mail) -> None:
        if mail.to == self.greylisted:
            raise ConnectionResetError("451 4.7.1 greylisted, try again later")
        super().send(mail)


def test_a_mail_the_server_keeps_deferring_lets_younger_mails_go_first(
    notify: Notifier,
) -> None:
    notify.mailer = mailer = GreylistingMailer("grey@example.com")
    container = notify.container
    container.checkout.place(pickup_request("customer-1", customer_email="grey@example.com"))
    container.checkout.place(pickup_request("customer-2", customer_email="ok@example.com"))

    with pytest.raises(ConnectionResetError):  # the round stops: the server may be down
        notify.step(NEVER)
    assert mailer.sent == []
    with pytest.raises(ConnectionResetError):  # the next round tries the younger mail first
        notify.step(NEVER)
    assert [m.to for m in mailer.sent] == ["ok@example.com"]
    assert list(failures(notify).values()) == [2]
    assert notify.step(NEVER) == 0  # the deferred mail waits for its retry time


def test_skip_history_starts_both_outboxes_at_the_head(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", jwt_secret="x" * 40)
    container = container_for(tmp_path / "data")
    paid_order(container, "old@example.com")
    container.close()

    late = notifier(settings, skip_history=True)
    late.mailer = mailer = RecordingMailer()
    try:
        assert late.step(NEVER) == 0 and mailer.sent == []
        paid_order(late.container, "new@example.com")
        late.step(NEVER)
        assert {m.to for m in mailer.sent} == {"new@example.com"}
        assert any(m.subject.startswith("Payment received") for m in mailer.sent)
    finally:
        late.close()


def test_payment_mails_on_postgres(postgres_db: PostgresDatabase, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=postgres_db.dsn, jwt_secret="x" * 40)
    with running(settings) as notify:
        notify.mailer = mailer = RecordingMailer()
        order, payment = paid_order(notify.container)
        cancel(notify.container, order.id)
        notify.step(NEVER)
        notify.step(NEVER)

        payment_mails = [m for m in mailer.sent if m.key.startswith(f"payment:{payment.id}:")]
        assert [m.subject.split(" ")[0] for m in payment_mails] == ["Payment", "Refund"]
        assert payment_mails[0].attachments[0].data.startswith(b"%PDF")
        assert {row[5] for row in outbox(notify)} == {"sent"}


# --- composing and the drivers ----------------------------------------------------------------


def test_the_amount_is_what_was_confirmed_and_every_payment_mail_names_the_reference() -> None:
    payment_id = "0b7f6a52-3f0e-4d4e-9c51-1f1a2b3c4d5e"
    events = [
        PaymentEvent(
            payment_id, 1, "Requested", {"customer_email": "a@x.io", "amount_due_paise": 1000_00}
        ),
        PaymentEvent(payment_id, 2, "Received", {"amount_paise": 1234_50}),
        PaymentEvent(payment_id, 3, "Confirmed", {"amount_paise": 1234_50}),  # staff accepted
        PaymentEvent(payment_id, 4, "InvoiceIssued", {"number": "FL/25-26/7", "details": {}}),
        PaymentEvent(
            payment_id, 5, "RefundDue", {"amount_paise": 234_50, "reason": "paid more than due"}
        ),
    ]
    known: dict[str, Payer] = {}
    mails = [pm for _, pm in payment_mails_for(events, known)]

    assert known == {payment_id: Payer("a@x.io", 1234_50)}
    assert [pm.mail.subject for pm in mails] == [
        "Payment received: invoice FL/25-26/7",
        "Refund of Rs. 234.50 on its way",
    ]
    assert "Rs. 1,234.50" in mails[0].mail.body
    assert [pm.mail.key for pm in mails] == [f"payment:{payment_id}:4", f"payment:{payment_id}:5"]
    assert [(pm.attach.kind, pm.attach.ref) if pm.attach else None for pm in mails] == [
        ("invoice", payment_id),
        None,
    ]
    reference = reference_of(UUID(payment_id))
    assert all(reference in pm.mail.body for pm in mails)
    unknown = PaymentEvent(payment_id, 6, "UtrSubmitted", {"utr": "412345678901"})
    assert compose_payment(unknown, Payer("a@x.io", 1)) is None
    # A payment requested before the notifier's start: nobody to tell.
    assert list(payment_mails_for([events[3]], {})) == []


PDF = Attachment("FL-25-26-7.pdf", "application/pdf", b"%PDF-1.4 not really a pdf")


def test_the_smtp_driver_sends_attachments_as_mime_parts(smtp_server: SmtpServer) -> None:
    mail = Mail("payment:p:4", "a@example.com", "Payment received", "Attached.", (PDF,))
    smtp_mailer(smtp_server).send(mail)

    (message,) = smtp_server.inbox.wait_for(1)
    assert message.get_content_type() == "multipart/mixed"
    assert text_of(message).strip() == "Attached."
    (part,) = pdf_parts(message)
    assert part.get_filename() == "FL-25-26-7.pdf" and part.get_payload(decode=True) == PDF.data
    assert message["Message-ID"] == "<payment.p.4@shop.example>"


def test_the_console_driver_names_attachments_and_never_logs_their_bytes() -> None:
    with capture_logs() as logs:
        ConsoleMailer().send(Mail("payment:p:4", "a@example.com", "s", "b", (PDF,)))
    (line,) = logs
    assert line["attachments"] == [f"FL-25-26-7.pdf ({len(PDF.data)} bytes)"]
    assert "PDF-1.4" not in repr(logs)
