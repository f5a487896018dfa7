"""A real localstripe server on 127.0.0.1, and a receiver for the webhooks it signs and posts.

localstripe (PyPI) is a fake Stripe API server: customers, payment methods, payment intents
(create, confirm, capture, cancel), refunds of an intent or a charge, and events it signs
like Stripe (`Stripe-Signature: t=<created>,v1=<hex HMAC-SHA256 of "<t>.<body>">`) and POSTs,
one second after the change, to every URL registered through `POST /_config/webhooks/<id>`.

Run in-process here, it differs from its CLI and from Stripe in three ways, each on purpose:
* it binds 127.0.0.1, not every interface, and keeps its store in memory (the CLI pickles
  every write to /tmp/localstripe.pickle, shared by every run on the machine);
* a PaymentIntent takes `description` (Stripe does; localstripe 1.15 answers "Unexpected
  description") and shows `amount_received` (Stripe's field, which webhooks are read by:
  the amount once the intent succeeded, else 0).
What it cannot do at all: honour Idempotency-Key (it ignores the header), refuse a refund
above what is left of the charge, send `charge.refunded` events, or confirm with a
payment method passed to confirm (it wants the intent's own) or Stripe's `pm_card_visa`
shortcuts (cards are created from test numbers instead: `card_payment_method`).
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import stripe

from tests.conftest import missing_component
from tests.support.postgres import free_port

HOST = "127.0.0.1"
START_TIMEOUT = 20.0
VISA = "4242424242424242"  # Stripe's test card that always succeeds
DECLINED_ON_CHARGE = "4000000000000341"  # attaches, then every charge is declined

LOCALSTRIPE_MAIN = """
import sys
from aiohttp import web
from localstripe import resources
resources.Store.dump_to_disk = lambda self: None

_create = resources.PaymentIntent.__init__
def _init(self, description=None, **data):
    _create(self, **data)
    self.description = description
resources.PaymentIntent.__init__ = _init
resources.PaymentIntent.amount_received = property(
    lambda self: self.amount if self.status == "succeeded" else 0
)

from localstripe.server import app
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


@contextmanager
def localstripe_server() -> Iterator[str]:
    """Start localstripe on a free 127.0.0.1 port; its base URL until the block ends."""
    if importlib.util.find_spec("localstripe") is None:
        missing_component("localstripe is not installed (pip install localstripe)")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", LOCALSTRIPE_MAIN, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                socket.create_connection((HOST, port), timeout=0.2).close()
                break
            except OSError as error:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    err = process.stderr.read().decode() if process.stderr else ""
                    raise RuntimeError(f"localstripe did not start: {err[-2000:]}") from error
                time.sleep(0.05)
        yield f"http://{HOST}:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()


@dataclass(frozen=True)
class Delivery:
    """One webhook as it arrived: the raw body and the Stripe-Signature header."""

    body: bytes
    signature: str


class WebhookReceiver:
    """An HTTP endpoint on 127.0.0.1 that keeps every POST and answers 200."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self._arrived = threading.Condition()
        self._server = ThreadingHTTPServer((HOST, 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Where localstripe should post."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/webhook"

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, wanted: Callable[[Delivery], bool], timeout: float = 15.0) -> Delivery:
        """The first delivery (already here or still coming) that `wanted` accepts."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for delivery in self.deliveries:
                    if wanted(delivery):
                        return delivery
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no such webhook in {timeout} s: {self.deliveries!r}")
                self._arrived.wait(left)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                delivery = Delivery(body, self.headers.get("Stripe-Signature") or "")
                with receiver._arrived:
                    receiver.deliveries.append(delivery)
                    receiver._arrived.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet test output

        return Handler


def register_webhook(
    localstripe_url: str, name: str, url: str, secret: str, events: list[str] | None = None
) -> None:
    """Have localstripe sign events with `secret` and post them to `url` (all, or `events`)."""
    fields = [("url", url), ("secret", secret)]
    fields += [(f"events[{i}]", kind) for i, kind in enumerate(events or [])]
    request = Request(f"{localstripe_url}/_config/webhooks/{name}", data=urlencode(fields).encode())
    with urlopen(request, timeout=10) as answer:
        assert answer.status == 200


def card_payment_method(client: stripe.StripeClient, number: str = VISA) -> str:
    """A card payment method (pm_...) from a Stripe test card number."""
    method = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    return str(method.id)
