"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, with AUTH and optional STARTTLS.

It keeps every message it accepts (parsed with the `email` package), can refuse chosen
recipients with a permanent 550, and records the logins it accepted.
"""

from __future__ import annotations

import email
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.support.served import free_port

SMTP_USER, SMTP_PASSWORD = "mailer", "smtp-secret-never-logged"


@dataclass
class Inbox:
    """What the SMTP server accepted, and which recipients it refuses."""

    messages: list[Message] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    logins: list[str] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        self.messages.append(email.message_from_bytes(raw))
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            SMTP_USER.encode(),
            SMTP_PASSWORD.encode(),
        )
        if ok:
            self.logins.append(SMTP_USER)
        # handled=False: aiosmtpd answers a refusal itself (535); True would leave it unanswered.
        return AuthResult(success=ok, handled=False)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Message]:
        """Block until `count` messages arrived."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.messages) >= count, [m["Subject"] for m in self.messages]
        return self.messages


@dataclass
class SmtpServer:
    """A running aiosmtpd server and how to reach it."""

    inbox: Inbox
    port: int
    tls: ssl.SSLContext | None = None  # a client context trusting the server's certificate


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the STARTTLS test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@contextmanager
def plain_smtp() -> Iterator[SmtpServer]:
    """Plain SMTP with AUTH allowed without TLS (a local relay)."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=inbox.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield SmtpServer(inbox, port)
    finally:
        controller.stop()


@contextmanager
def starttls_smtp(tmp_path: Path) -> Iterator[SmtpServer]:
    """SMTP that requires STARTTLS before anything else, with a self-signed certificate."""
    cert, key = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_tls,
        require_starttls=True,
        authenticator=inbox.authenticate,
    )
    controller.start()
    try:
        yield SmtpServer(inbox, port, ssl.create_default_context(cafile=str(cert)))
    finally:
        controller.stop()
