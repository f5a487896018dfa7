"""A Stripe stand-in for Billing Meter events that enforces Stripe's documented rules.

localstripe has no Billing Meters, so meter-event reporting is tested through the
official `stripe` client talking to this fake, either injected as the client's HTTP
client (`FakeStripeHTTPClient`) or over real HTTP on 127.0.0.1 (`FakeStripeServer`, for
worker subprocesses). Rules played, from Stripe's API reference for
POST /v1/billing/meter_events:

* `identifier` is unique for a rolling 24 h: a second use is refused with HTTP 400,
  type invalid_request_error, "An event already exists with identifier <id>." and no
  error code (what integrators observe in test mode);
* `timestamp` within the past 35 calendar days and at most 5 minutes in the future;
* `event_name` must belong to an active meter;
* the payload needs `stripe_customer_id` and a whole-number `value` string;
* every POST carries an Idempotency-Key: a retry with the same key and parameters gets
  the first answer again, with other parameters an idempotency_error.

Customers are kept just enough for POST/GET /v1/customers. Codes for the refusals other
than the duplicate are Stripe's meter error codes; their messages are our wording.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe

from application.billing import EVENT_NAMES

DAY = 24 * 3600
IDENTIFIER_WINDOW = DAY
MAX_AGE = 35 * DAY
MAX_AHEAD = 5 * 60
DUPLICATE = "An event already exists with identifier {}."


@dataclass(frozen=True)
class MeterEvent:
    """A meter event Stripe accepted."""

    event_name: str
    customer_id: str
    value: int
    identifier: str
    timestamp: int
    created: float


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, JSON body, headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        return json.dumps(self.body)


class FakeStripe:
    """The state and rules; transports call `handle`."""

    def __init__(
        self,
        *,
        event_names: Iterable[str] = EVENT_NAMES.values(),
        clock: Callable[[], float] = time.time,
        on_accept: Callable[[MeterEvent], None] | None = None,
    ) -> None:
        self.event_names = set(event_names)
        self.clock = clock
        self.on_accept = on_accept  # runs after an event is stored, before the answer goes out
        self.accepted: list[MeterEvent] = []
        self.duplicates: list[str] = []  # identifiers refused as already used
        self.refused: list[Answer] = []
        self.customers: dict[str, dict[str, Any]] = {}
        self.faults: list[int] = []  # statuses to answer the next POSTs with, before any rule
        self._identifiers: dict[str, float] = {}
        self._idempotent: dict[str, tuple[float, str, Answer]] = {}
        self._lock = threading.Lock()

    # --- what tests look at ---------------------------------------------------------------

    def units_by_identifier(self) -> dict[str, int]:
        """Accepted units per identifier (an identifier billed twice would show up here)."""
        units: dict[str, int] = {}
        for event in self.accepted:
            assert event.identifier not in units, f"{event.identifier} billed twice"
            units[event.identifier] = event.value
        return units

    def total(self, event_name: str) -> int:
        """Accepted units of one meter."""
        return sum(e.value for e in self.accepted if e.event_name == event_name)

    # --- the API ------------------------------------------------------------------------

    def handle(self, method: str, url: str, headers: Mapping[str, str], body: str) -> Answer:
        """One request, as Stripe would answer it."""
        path = urlsplit(url).path
        auth = _header(headers, "Authorization") or ""
        if not auth.startswith("Bearer sk_"):
            return _error(401, "Invalid API Key provided.")
        params = dict(parse_qsl(body or urlsplit(url).query, keep_blank_values=True))
        if method.upper() != "POST":
            return self._get(path)
        with self._lock:
            if self.faults:
                status = self.faults.pop(0)
                return Answer(status, {"error": {"type": "api_error", "message": "fault"}})
            key = _header(headers, "Idempotency-Key")
            replay = self._replayed(key, method + path + body)
            if replay is not None:
                return replay
            answer, accepted = self._post(path, params)
            if key:
                self._idempotent[key] = (self.clock(), method + path + body, answer)
            if answer.status >= 400:
                self.refused.append(answer)
        if accepted is not None and self.on_accept is not None:
            self.on_accept(accepted)
        return answer

    def _replayed(self, key: str | None, fingerprint: str) -> Answer | None:
        if not key or key not in self._idempotent:
            return None
        at, first, answer = self._idempotent[key]
        if self.clock() - at > DAY:
            return None
        if first != fingerprint:
            return _error(
                400,
                "Keys for idempotent requests can only be used with the same parameters"
                " they were first used with.",
                kind="idempotency_error",
            )
        return Answer(answer.status, answer.body, {**answer.headers, "Idempotent-Replayed": "true"})

    def _post(self, path: str, params: dict[str, str]) -> tuple[Answer, MeterEvent | None]:
        if path == "/v1/billing/meter_events":
            return self._meter_event(params)
        if path == "/v1/customers":
            return self._customer(params), None
        return _error(404, f"Unrecognized request URL (POST: {path})."), None

    def _get(self, path: str) -> Answer:
        prefix = "/v1/customers/"
        if path.startswith(prefix) and path[len(prefix) :] in self.customers:
            return Answer(200, self.customers[path[len(prefix) :]])
        return _error(404, f"No such resource: {path}", code="resource_missing")

    def _customer(self, params: dict[str, str]) -> Answer:
        customer_id = f"cus_{secrets.token_hex(7)}"
        customer: dict[str, Any] = {
            "id": customer_id,
            "object": "customer",
            "name": params.get("name"),
            "email": params.get("email"),
            "metadata": {k[9:-1]: v for k, v in params.items() if k.startswith("metadata[")},
        }
        self.customers[customer_id] = customer
        return Answer(200, customer)

    def _meter_event(self, params: dict[str, str]) -> tuple[Answer, MeterEvent | None]:
        now = self.clock()
        name = params.get("event_name")
        if not name:
            return _error(400, "Missing required param: event_name.", "parameter_missing"), None
        if name not in self.event_names:
            message = f"No active meter was found with event_name {name}."
            return _error(400, message, "no_meter", "event_name"), None
        customer = params.get("payload[stripe_customer_id]")
        if not customer:
            message = "Customer mapping key stripe_customer_id not found in payload."
            return _error(400, message, "meter_event_no_customer_defined", "payload"), None
        raw_value = params.get("payload[value]", "")
        if not raw_value.isdigit():
            message = f"Value must be a whole number string, not {raw_value!r}."
            return _error(400, message, "meter_event_invalid_value", "payload[value]"), None
        timestamp = int(params.get("timestamp") or now)
        if timestamp < now - MAX_AGE:
            message = "Timestamp must be within the past 35 calendar days."
            return _error(400, message, "timestamp_too_far_in_past", "timestamp"), None
        if timestamp > now + MAX_AHEAD:
            message = "Timestamp must be no more than 5 minutes in the future."
            return _error(400, message, "timestamp_in_future", "timestamp"), None
        identifier = params.get("identifier") or f"auto_{secrets.token_hex(12)}"
        first_use = self._identifiers.get(identifier)
        if first_use is not None and now - first_use < IDENTIFIER_WINDOW:
            self.duplicates.append(identifier)
            answer = _error(400, DUPLICATE.format(identifier))
            return Answer(answer.status, answer.body, {"Stripe-Should-Retry": "false"}), None
        self._identifiers[identifier] = now
        event = MeterEvent(name, customer, int(raw_value), identifier, timestamp, now)
        self.accepted.append(event)
        body = {
            "object": "billing.meter_event",
            "created": int(now),
            "event_name": name,
            "identifier": identifier,
            "livemode": False,
            "payload": {"stripe_customer_id": customer, "value": raw_value},
            "timestamp": timestamp,
        }
        return Answer(200, body), event


class FakeStripeHTTPClient(stripe.HTTPClient):
    """The fake as the official client's HTTP client; can drop the line like a network."""

    name = "fabledger-fake-stripe"

    def __init__(self, fake: FakeStripe) -> None:
        super().__init__()
        self.fake = fake
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.drops: list[bool] = []  # per next request: True = after Stripe processed it

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        headers = dict(headers or {})
        self.requests.append((method, url, headers))
        drop = self.drops.pop(0) if self.drops else None
        if drop is False:
            raise stripe.APIConnectionError("connection reset (before sending)", should_retry=True)
        body = post_data.decode() if isinstance(post_data, bytes) else (post_data or "")
        answer = self.fake.handle(method, url, headers, body)
        if drop is True:
            raise stripe.APIConnectionError("connection reset (answer lost)", should_retry=True)
        return (
            answer.text(),
            answer.status,
            _CaseInsensitive({"Request-Id": "req_fake", **answer.headers}),
        )

    def request_stream(self, *args: Any, **kwargs: Any) -> tuple[Any, int, Mapping[str, str]]:
        raise NotImplementedError("no streaming endpoints are faked")

    def close(self) -> None:
        """Nothing to close."""


class FakeStripeServer:
    """The fake over HTTP on 127.0.0.1 (a free port), for code in another process."""

    def __init__(self, fake: FakeStripe) -> None:
        self.fake = fake
        handler = _handler_for(fake)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeStripeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def fake_stripe_server(**kwargs: Any) -> Iterator[FakeStripeServer]:
    """A running FakeStripeServer around a new FakeStripe."""
    with FakeStripeServer(FakeStripe(**kwargs)) as server:
        yield server


def _handler_for(fake: FakeStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            answer = fake.handle(self.command, self.path, dict(self.headers.items()), body)
            payload = answer.text().encode()
            try:
                self.send_response(answer.status)
                for name, value in {"Request-Id": "req_fake", **answer.headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the caller died waiting (tests kill workers mid-report on purpose)

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read the fake's state, not its access log."""

    return Handler


class _CaseInsensitive(dict[str, str]):
    """Response headers looked up in any case, as the client expects of `requests`."""

    def __init__(self, items: Mapping[str, str]) -> None:
        super().__init__({k.lower(): v for k, v in items.items()})

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def _error(
    status: int,
    message: str,
    code: str | None = None,
    param: str | None = None,
    *,
    kind: str = "invalid_request_error",
) -> Answer:
    error: dict[str, Any] = {"type": kind, "message": message}
    if code:
        error["code"] = code
    if param:
        error["param"] = param
    return Answer(status, {"error": error})
