"""Story: customers hear about their orders by e-mail, once per order event.

The notifier records each mail in an outbox in the same transaction as its position
(re-reading the log never records a mail twice), then sends pending mails. The SMTP
driver talks to a real SMTP server (aiosmtpd on 127.0.0.1) with AUTH and STARTTLS; the
console driver logs. Sending is at least once: a crash after the server accepted a mail
sends it again with the same Message-ID, which is what receivers deduplicate on.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from application.notifications import Mail, MailRejected
from infra.bootstrap import Container
from infra.mailer import ConsoleMailer, SmtpMailer, build_mailer
from infra.settings import Settings
from tests.support.factories import container_for, pickup_request
from tests.support.mail import RecordingMailer
from tests.support.postgres import PostgresDatabase
from tests.support.served import free_port
from tests.support.smtp import SMTP_PASSWORD, SMTP_USER, SmtpServer, plain_smtp, starttls_smtp
from tests.support.worker_process import worker
from workers.notify import Notifier, deliver, notifier

STAFF = "admin:test"
NEVER = threading.Event()  # a stop event nobody sets


# --- a real SMTP server ---------------------------------------------------------------


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """Plain SMTP with AUTH allowed without TLS (a local relay)."""
    with plain_smtp() as server:
        yield server


@pytest.fixture
def starttls_server(tmp_path: Path) -> Iterator[SmtpServer]:
    """SMTP that requires STARTTLS before anything else, with a self-signed certificate."""
    with starttls_smtp(tmp_path) as server:
        yield server


# --- helpers ------------------------------------------------------------------------------


def place_and_ship(container: Container, email_address: str = "maker@example.com") -> UUID:
    """An order placed, paid, printed, shipped with carrier tracking, and delivered."""
    order = container.checkout.place(
        pickup_request("customer-1", customer_email=email_address)
    ).order
    ordering = container.ordering
    ordering.confirm_payment(order.id, actor=STAFF)  # PaymentConfirmed + StatusChanged
    for status in ("printing", "post_processing", "shipped"):
        ordering.change_status(order.id, status, actor=STAFF)
    ordering.set_carrier_tracking(
        order.id, tracking_number="EE123", tracking_url=None, shipping_id=None, actor=STAFF
    )
    ordering.add_note(order.id, text="internal", is_internal=True, actor=STAFF)
    ordering.change_status(order.id, "delivered", actor=STAFF)
    return order.id


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[tuple[Notifier, RecordingMailer]]:
    """A notifier on a SQLite store with a recording mailer."""
    settings = Settings(data_dir=tmp_path / "data", jwt_secret="x" * 40)
    built = notifier(settings)
    mailer = RecordingMailer()
    built.mailer = mailer
    try:
        yield built, mailer
    finally:
        built.close()


def outbox_rows(notify: Notifier) -> list[tuple[Any, ...]]:
    with notify.container.views.reading() as cur:
        cur.execute("SELECT mail_key, status FROM mail_outbox ORDER BY position")
        return [tuple(row) for row in cur.fetchall()]


# --- the stories --------------------------------------------------------------------------


def test_each_customer_visible_order_event_sends_one_mail_in_order(
    parts: tuple[Notifier, RecordingMailer],
) -> None:
    notify, mailer = parts
    order_id = place_and_ship(notify.container)

    assert notify.step(NEVER) > 0
    subjects = [m.subject.split(": ", 1)[-1] for m in mailer.sent]
    assert subjects[0].endswith("received")
    assert subjects[1:] == [
        "confirmed",
        "printing",
        "post processing",
        "shipped",
        "carrier tracking",
        "delivered",
    ]
    assert {m.to for m in mailer.sent} == {"maker@example.com"}
    versions = [int(m.key.split(":")[1]) for m in mailer.sent]
    assert versions == sorted(versions) and all(
        m.key.startswith(str(order_id)) for m in mailer.sent
    )
    assert "EE123" in mailer.sent[5].body

    assert notify.step(NEVER) == 0  # nothing new: nothing sent
    assert len(mailer.sent) == 7


def test_rereading_the_log_records_no_mail_twice(parts: tuple[Notifier, RecordingMailer]) -> None:
    notify, mailer = parts
    place_and_ship(notify.container)
    notify.step(NEVER)
    before = outbox_rows(notify)

    # The consumer loses its position (a restore, a bug): it reads every event again.
    with notify.container.views.transaction() as cur:
        cur.execute("DELETE FROM projection_positions WHERE name = ?", ("mail_outbox",))
    assert notify.outbox.position() == 0
    notify.step(NEVER)

    assert outbox_rows(notify) == before
    assert len(mailer.sent) == 7
    assert notify.outbox.position() == notify.container.ordering.position()


def test_a_crash_after_the_server_accepted_resends_with_the_same_key(
    parts: tuple[Notifier, RecordingMailer],
) -> None:
    notify, mailer = parts
    notify.container.checkout.place(pickup_request("customer-1"))
    mailer.crash_after_send = True
    with pytest.raises(ConnectionResetError):
        notify.step(NEVER)
    assert [status for _, status in outbox_rows(notify)] == ["pending"]  # the mark rolled back

    mailer.crash_after_send = False
    notify.step(NEVER)
    assert [m.key for m in mailer.sent] == [mailer.sent[0].key] * 2  # at least once, same key
    assert [status for _, status in outbox_rows(notify)] == ["sent"]


def test_a_refused_address_is_set_aside_and_the_queue_moves_on(
    parts: tuple[Notifier, RecordingMailer],
) -> None:
    notify, mailer = parts
    mailer.refuse = {"typo@example.con"}
    notify.container.checkout.place(pickup_request("customer-1", customer_email="typo@example.con"))
    notify.container.checkout.place(pickup_request("customer-2", customer_email="ok@example.com"))
    notify.step(NEVER)
    assert [m.to for m in mailer.sent] == ["ok@example.com"]
    assert sorted(status for _, status in outbox_rows(notify)) == ["rejected", "sent"]


def test_skip_history_starts_at_the_head_of_the_log(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", jwt_secret="x" * 40)
    container = container_for(tmp_path / "data")
    place_and_ship(container)
    container.close()

    late = notifier(settings, skip_history=True)
    late.mailer = mailer = RecordingMailer()
    try:
        assert late.step(NEVER) == 0 and mailer.sent == []
        late.container.checkout.place(
            pickup_request("customer-9", customer_email="new@example.com")
        )
        late.step(NEVER)
        assert [m.to for m in mailer.sent] == ["new@example.com"]
    finally:
        late.close()


def test_two_notifiers_on_postgres_never_send_the_same_mail(
    postgres_db: PostgresDatabase, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=postgres_db.dsn, jwt_secret="x" * 40)
    first, second = notifier(settings), notifier(settings)
    mailer = RecordingMailer()
    mailer.delay = 0.02  # long enough for the two to overlap
    try:
        for n in range(4):
            place_and_ship(first.container, f"maker{n}@example.com")
        first.outbox.catch_up()
        threads = [
            threading.Thread(target=deliver, args=(n.container.views, mailer, NEVER, 1000))
            for n in (first, second)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        first.close()
        second.close()
    counts = Counter(m.key for m in mailer.sent)
    assert len(counts) == 28 and set(counts.values()) == {1}


# --- the drivers ----------------------------------------------------------------------------


def test_the_smtp_driver_logs_in_and_delivers_a_mail_with_a_stable_message_id(
    smtp_server: SmtpServer,
) -> None:
    mailer = SmtpMailer(
        host="127.0.0.1",
        port=smtp_server.port,
        sender="fabledger <orders@shop.example>",
        user=SMTP_USER,
        password=SecretStr(SMTP_PASSWORD),
        starttls=False,
    )
    mail = Mail("order-1:3", "maker@example.com", "Order FL-1: shipped", "On its way.")
    with capture_logs() as logs:
        mailer.send(mail)
        mailer.send(mail)  # a resend after a crash

    first, again = smtp_server.inbox.wait_for(2)
    assert smtp_server.inbox.logins == [SMTP_USER, SMTP_USER]
    assert first["To"] == "maker@example.com" and first["Subject"] == "Order FL-1: shipped"
    assert first["From"] == "fabledger <orders@shop.example>"
    assert first["Message-ID"] == again["Message-ID"] == "<order-1.3@shop.example>"
    assert str(first.get_payload()).strip() == "On its way."
    assert SMTP_PASSWORD not in repr(logs) and SMTP_PASSWORD not in repr(mailer.__dict__)


def test_the_smtp_driver_speaks_starttls(starttls_server: SmtpServer) -> None:
    mailer = SmtpMailer(
        host="127.0.0.1",
        port=starttls_server.port,
        sender="orders@shop.example",
        user=SMTP_USER,
        password=SecretStr(SMTP_PASSWORD),
        starttls=True,
        tls_context=starttls_server.tls,
    )
    mailer.send(Mail("order-2:1", "maker@example.com", "Order received", "Thanks."))
    (message,) = starttls_server.inbox.wait_for(1)
    assert message["Subject"] == "Order received"
    assert starttls_server.inbox.logins == [SMTP_USER]


def test_a_refused_recipient_is_a_permanent_rejection(smtp_server: SmtpServer) -> None:
    smtp_server.inbox.refuse = {"nobody@example.com"}
    mailer = SmtpMailer(host="127.0.0.1", port=smtp_server.port, sender="o@x.io", starttls=False)
    with pytest.raises(MailRejected):
        mailer.send(Mail("k:1", "nobody@example.com", "s", "b"))


def test_an_unreachable_server_is_a_retryable_error() -> None:
    mailer = SmtpMailer(host="127.0.0.1", port=free_port(), sender="o@x.io", timeout=2)
    with pytest.raises(OSError):
        mailer.send(Mail("k:1", "a@example.com", "s", "b"))


def test_the_console_driver_logs_the_mail() -> None:
    with capture_logs() as logs:
        ConsoleMailer().send(Mail("order-3:1", "maker@example.com", "Order received", "Thanks."))
    assert logs == [
        {
            "event": "mail",
            "log_level": "info",
            "key": "order-3:1",
            "to": "maker@example.com",
            "subject": "Order received",
            "body": "Thanks.",
        }
    ]


def test_settings_choose_the_driver(tmp_path: Path) -> None:
    assert isinstance(build_mailer(Settings(data_dir=tmp_path)), ConsoleMailer)
    smtp = build_mailer(
        Settings(data_dir=tmp_path, mail_driver="smtp", smtp_host="mx", smtp_port=25)
    )
    assert isinstance(smtp, SmtpMailer) and (smtp.host, smtp.port) == ("mx", 25)
    with pytest.raises(ValueError, match="FABLEDGER_MAIL_DRIVER"):
        build_mailer(Settings(data_dir=tmp_path, mail_driver="pigeon"))


# --- the worker process ---------------------------------------------------------------------


@pytest.mark.slow
def test_the_notify_worker_mails_through_smtp_and_stops_on_sigterm(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    env = {
        "PATH": "/usr/bin:/bin",
        "FABLEDGER_DATA_DIR": str(data),
        "FABLEDGER_JWT_SECRET": "x" * 40,
        "FABLEDGER_MAIL_DRIVER": "smtp",
        "FABLEDGER_SMTP_HOST": "127.0.0.1",
        "FABLEDGER_SMTP_PORT": str(smtp_server.port),
        "FABLEDGER_SMTP_STARTTLS": "false",
        "FABLEDGER_SMTP_USER": SMTP_USER,
        "FABLEDGER_SMTP_PASSWORD": SMTP_PASSWORD,
        "PYTHONUNBUFFERED": "1",
    }
    container = container_for(data)
    try:
        container.checkout.place(pickup_request("customer-1"))
        command = [str(Path(sys.executable).with_name("fabledger"))]
        with worker(command, env, tmp_path / "notify.log", "notify", "--interval", "0.2") as proc:
            (received,) = smtp_server.inbox.wait_for(1)
            assert received["Subject"].endswith("received")
            code, seconds = proc.terminate()
        assert code == 0 and seconds < 10, proc.tail()
        assert SMTP_PASSWORD not in proc.tail(100_000)
    finally:
        container.close()
