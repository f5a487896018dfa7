"""A mailer for tests: keeps what it sent; can refuse addresses or fail after sending."""

from __future__ import annotations

import threading
import time

from application.notifications import Mail, MailRejected


class RecordingMailer:
    """Remembers what it sent; can refuse addresses or fail after 'sending' (a crash)."""

    def __init__(self) -> None:
        self.sent: list[Mail] = []
        self.refuse: set[str] = set()
        self.crash_after_send = False
        self.delay = 0.0
        self._lock = threading.Lock()

    def send(self, mail: Mail) -> None:
        if mail.to in self.refuse:
            raise MailRejected(f"recipient refused: {mail.to}")
        time.sleep(self.delay)
        with self._lock:
            self.sent.append(mail)
        if self.crash_after_send:
            raise ConnectionResetError("lost the connection after the server accepted the mail")
