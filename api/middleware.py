"""ASGI middleware: a request id on every request, and a hard cap on every request body."""

from __future__ import annotations

import json
import re
import secrets
import time

import structlog
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.model_media import MAX_IMAGE_BYTES

log = structlog.get_logger("fabledger.http")
UPLOAD_PATHS: tuple[str, ...] = (
    "/api/upload-for-cart",
    "/api/checkout",
    "/api/v1/dfm/quick_info",
    "/api/v1/dfm/analyze",
)
# Preview image uploads (owner and staff): their own cap, the 10 MB.
IMAGE_PATH = re.compile(r"^/api/(admin/)?models/[^/]+/image$")
OPEN_CORS_PREFIX = "/api/v1/"
CORS_HEADERS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"GET, POST, DELETE, OPTIONS"),
    (
        b"access-control-allow-headers",
        b"x-api-key, x-metal-client-id, x-metal-api-key, content-type",
    ),
    (b"access-control-expose-headers", b"x-ratelimit-limit, x-ratelimit-remaining, x-billing-tier"),
    (b"access-control-max-age", b"600"),
]
MB = 1024 * 1024
# Multipart framing and form fields on top of the file itself.
MULTIPART_OVERHEAD = 64 * 1024


class RequestContext:
    """Binds a request id to the log context and answers it in X-Request-ID."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info(
                "request",
                method=scope["method"],
                path=_loggable(scope["path"]),
                status=status,
                ms=round((time.perf_counter() - started) * 1000, 1),
            )
            structlog.contextvars.clear_contextvars()


SECRET_PATHS = ("/api/auth/verify-email/",)  # the rest of these paths is a mailed token


def _loggable(path: str) -> str:
    """The path as logged: a secret token in it is replaced by <token>."""
    for prefix in SECRET_PATHS:
        if path.startswith(prefix):
            return prefix + "<token>"
    return path


class OpenCors:
    """/api/v1/* allows any origin, on every answer (errors too), and answers preflights."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(OPEN_CORS_PREFIX):
            await self.app(scope, receive, send)
            return
        # Headers scanned only for an OPTIONS (no dict of them per request).
        if scope["method"] == "OPTIONS" and any(
            name == b"access-control-request-method" for name, _ in scope.get("headers", [])
        ):
            await send({"type": "http.response.start", "status": 204, "headers": CORS_HEADERS})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *CORS_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_cors)


class StatusOf:
    """A `send` that remembers the status it sent; 500 until one is (what the server
    answers when the app sent nothing)."""

    __slots__ = ("send", "status")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.status = 500

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        await self.send(message)


class BodyLimit:
    """Refuses a request body past its cap while it streams in (Content-Length can lie).

    The upload paths take a model file (the file cap), the preview image paths an image
    (10 MB); every other body is JSON or a small form (the JSON cap), so no caller makes
    the server hold a body it never needed.
    """

    def __init__(
        self,
        app: ASGIApp,
        upload_bytes: int,
        json_bytes: int,
        image_bytes: int = MAX_IMAGE_BYTES,
    ) -> None:
        self.app = app
        self.upload = (
            upload_bytes + MULTIPART_OVERHEAD,
            f"file is larger than the {upload_bytes // MB} MB limit",
        )
        self.image = (
            image_bytes + MULTIPART_OVERHEAD,
            f"image: larger than the {image_bytes // MB} MB limit",
        )
        self.json = (json_bytes, f"request body is larger than the {_size(json_bytes)} limit")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path in UPLOAD_PATHS:
            max_body, message = self.upload
        elif IMAGE_PATH.match(path):
            max_body, message = self.image
        else:
            max_body, message = self.json
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > max_body:
                await _reject(send, message)
                return
        seen = 0

        async def counted_receive() -> Message:
            nonlocal seen
            message_in = await receive()
            seen += len(message_in.get("body", b""))
            if seen > max_body:
                # An HTTPException passes through FastAPI's body parser (anything else
                # becomes a 400 there); api/errors.py renders it as {"error": ...}.
                raise HTTPException(413, message)
            return message_in

        await self.app(scope, counted_receive, send)


def _size(n: int) -> str:
    """A byte count as people read it: '1 MB', '512 KB', '1000 bytes'."""
    if n % MB == 0:
        return f"{n // MB} MB"
    if n % 1024 == 0:
        return f"{n // 1024} KB"
    return f"{n} bytes"


async def _reject(send: Send, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})
