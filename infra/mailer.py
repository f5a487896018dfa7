"""Mailer drivers: `console` logs each mail, `smtp` hands it to a mail server (smtplib).

Both can also `probe`: send one mail and report the server's answer as text, never raising
(the admin's test e-mail). `SettingsMailDrivers` builds them for application.mail_delivery.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any

import structlog
from pydantic import SecretStr

from application.mail_delivery import MailDriver, ServerAnswer, SmtpTransport
from application.notifications import Mail, MailRejected
from infra.settings import Settings

MAX_ANSWER = 500
CONSOLE_ANSWER = "logged to the server console (delivery disabled): nothing was sent"


class ConsoleMailer:
    """Development driver: one structlog line per mail, nothing leaves the machine."""

    def send(self, mail: Mail) -> None:
        """Log the mail; attachments by name and size only (their bytes are no log line)."""
        files = [f"{a.filename} ({len(a.data)} bytes)" for a in mail.attachments]
        extra = {"attachments": files} if files else {}
        structlog.get_logger("fabledger.mail").info(
            "mail", key=mail.key, to=mail.to, subject=mail.subject, body=mail.body, **extra
        )

    def probe(self, mail: Mail) -> ServerAnswer:
        """Log the mail; the answer says that nothing left the machine."""
        self.send(mail)
        return ServerAnswer(True, CONSOLE_ANSWER)


class _Answering(smtplib.SMTP):
    """smtplib.SMTP keeping the server's reply to the message (send_message drops it)."""

    data_reply: tuple[int, bytes] = (0, b"")

    def data(self, msg: Any) -> tuple[int, bytes]:
        """DATA, remembering the reply ("250 2.0.0 Ok: queued as ...")."""
        self.data_reply = super().data(msg)
        return self.data_reply


class SmtpMailer:
    """Sends through an SMTP server: STARTTLS and login when configured, one connection a mail."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        user: str = "",
        password: SecretStr = SecretStr(""),
        starttls: bool = True,
        timeout: float = 10.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.user = user
        self._password = password
        self.starttls = starttls
        self.timeout = timeout
        self.tls_context = tls_context

    def message(self, mail: Mail) -> EmailMessage:
        """The RFC 5322 message; its Message-ID is derived from the mail key, so a resend of
        the same event carries the same id (receivers can drop the duplicate)."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = formatdate(localtime=False)
        domain = parseaddr(self.sender)[1].rpartition("@")[2] or "fabledger.invalid"
        message["Message-ID"] = f"<{mail.key.replace(':', '.')}@{domain}>"
        message.set_content(mail.body)
        for attachment in mail.attachments:  # the first add turns the body into a multipart
            maintype, _, subtype = attachment.content_type.partition("/")
            message.add_attachment(
                attachment.data,
                maintype=maintype,
                subtype=subtype or "octet-stream",
                filename=attachment.filename,
            )
        return message

    def _hand_over(self, mail: Mail) -> str:
        """Log in if configured and send; the server's reply to the message. smtplib's
        errors pass through: send and probe each say what they mean."""
        message = self.message(mail)
        with _Answering(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.ehlo()
            if self.starttls:
                smtp.starttls(context=self.tls_context or ssl.create_default_context())
                smtp.ehlo()
            if self.user:
                smtp.login(self.user, self._password.get_secret_value())
            smtp.send_message(message)
            code, text = smtp.data_reply
        answer = f"{code} {text.decode(errors='replace')}"
        structlog.get_logger("fabledger.mail").info(
            "mail_sent", key=mail.key, to=mail.to, server=f"{self.host}:{self.port}"
        )
        return answer

    def send(self, mail: Mail) -> None:
        """Deliver to the server; a refused recipient is MailRejected, anything else retries."""
        try:
            self._hand_over(mail)
        except smtplib.SMTPRecipientsRefused as error:
            raise MailRejected(f"recipient refused: {mail.to}") from error
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as error:
            if 500 <= error.smtp_code < 600:  # 5xx is permanent; 4xx means try later
                raise MailRejected(f"mail refused ({error.smtp_code})") from error
            raise

    def probe(self, mail: Mail) -> ServerAnswer:
        """Send the mail; the server's answer to it, or what failed in the server's words
        (a refused login, a refused sender) or the network's (refused, unknown host)."""
        try:
            return ServerAnswer(True, self._scrubbed(self._hand_over(mail)))
        except Exception as error:  # the answer is the point: every failure is reported
            return ServerAnswer(False, self._scrubbed(self._failure(error)))

    def _failure(self, error: Exception) -> str:
        """What went wrong, as the admin needs to read it."""
        server = f"{self.host}:{self.port}"
        if isinstance(error, smtplib.SMTPRecipientsRefused):
            refusals = [
                f"{_said(code, text)} ({to})" for to, (code, text) in error.recipients.items()
            ]
            return "recipient refused: " + "; ".join(refusals)
        if isinstance(error, smtplib.SMTPAuthenticationError):
            return f"login refused: {_said(error.smtp_code, error.smtp_error)}"
        if isinstance(error, smtplib.SMTPSenderRefused):
            return f"sender refused: {_said(error.smtp_code, error.smtp_error)}"
        if isinstance(error, smtplib.SMTPResponseException):
            return f"refused: {_said(error.smtp_code, error.smtp_error)}"
        if isinstance(error, smtplib.SMTPException):  # no STARTTLS or AUTH, hung up, ...
            return f"{server}: {error}"
        if isinstance(error, ssl.SSLError | ssl.CertificateError):
            return f"TLS with {server} failed: {error}"
        if isinstance(error, socket.gaierror):
            return f"cannot resolve {self.host}: {error.strerror}"
        if isinstance(error, TimeoutError):
            return f"no answer from {server} within {self.timeout:g} s"
        if isinstance(error, OSError):
            return f"cannot connect to {server}: {error.strerror or error}"
        return f"{type(error).__name__}: {error}"

    def _scrubbed(self, text: str) -> str:
        """The text cut to size, and without the password should a server echo it."""
        password = self._password.get_secret_value()
        if password:
            text = text.replace(password, "[redacted]")
        return text[:MAX_ANSWER]


def _said(code: int, text: bytes | str) -> str:
    """A server reply as one line: "535 5.7.8 Authentication credentials invalid"."""
    words = text.decode(errors="replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(words.split())}"


def build_mailer(settings: Settings) -> ConsoleMailer | SmtpMailer:
    """The driver FABLEDGER_MAIL_DRIVER names."""
    if settings.mail_driver == "console":
        return ConsoleMailer()
    if settings.mail_driver == "smtp":
        return SmtpMailer(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            user=settings.smtp_user,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
        )
    raise ValueError(f"unknown FABLEDGER_MAIL_DRIVER {settings.mail_driver!r} (console or smtp)")


class SettingsMailDrivers:
    """The drivers application.mail_delivery chooses from: the environment's (built once, so
    a wrong FABLEDGER_MAIL_DRIVER fails at start), the console, and SMTP servers."""

    def __init__(
        self,
        settings: Settings,
        *,
        timeout: float = 10.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self._environment = build_mailer(settings)
        self.environment_driver = (
            "smtp" if isinstance(self._environment, SmtpMailer) else "disabled"
        )
        self.timeout = timeout
        self.tls_context = tls_context  # None: the system's trusted certificates

    def environment(self) -> MailDriver:
        """The driver FABLEDGER_MAIL_DRIVER and FABLEDGER_SMTP_* configure."""
        return self._environment

    def console(self) -> MailDriver:
        """Logs each mail to the server console."""
        return ConsoleMailer()

    def smtp(self, transport: SmtpTransport) -> MailDriver:
        """Sends through this server."""
        return SmtpMailer(
            host=transport.host,
            port=transport.port,
            sender=transport.sender,
            user=transport.user,
            password=SecretStr(transport.password),
            starttls=transport.starttls,
            timeout=self.timeout,
            tls_context=self.tls_context,
        )
