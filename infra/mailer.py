"""Mailer drivers: `console` logs each mail, `smtp` hands it to a mail server (smtplib)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

import structlog
from pydantic import SecretStr

from application.notifications import Mail, Mailer, MailRejected
from infra.settings import Settings


class ConsoleMailer:
    """Development driver: one structlog line per mail, nothing leaves the machine."""

    def send(self, mail: Mail) -> None:
        """Log the mail; attachments by name and size only (their bytes are no log line)."""
        files = [f"{a.filename} ({len(a.data)} bytes)" for a in mail.attachments]
        extra = {"attachments": files} if files else {}
        structlog.get_logger("fabledger.mail").info(
            "mail", key=mail.key, to=mail.to, subject=mail.subject, body=mail.body, **extra
        )


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

    def send(self, mail: Mail) -> None:
        """Deliver to the server; a refused recipient is MailRejected, anything else retries."""
        message = self.message(mail)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.ehlo()
            if self.starttls:
                smtp.starttls(context=self.tls_context or ssl.create_default_context())
                smtp.ehlo()
            if self.user:
                smtp.login(self.user, self._password.get_secret_value())
            try:
                smtp.send_message(message)
            except smtplib.SMTPRecipientsRefused as error:
                raise MailRejected(f"recipient refused: {mail.to}") from error
            except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as error:
                if 500 <= error.smtp_code < 600:  # 5xx is permanent; 4xx means try later
                    raise MailRejected(f"mail refused ({error.smtp_code})") from error
                raise
        structlog.get_logger("fabledger.mail").info(
            "mail_sent", key=mail.key, to=mail.to, server=f"{self.host}:{self.port}"
        )


def build_mailer(settings: Settings) -> Mailer:
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
