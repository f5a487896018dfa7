"""ASGI middleware: a request id on every request, and a hard cap on upload bodies."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.errors import FileTooLarge

log = structlog.get_logger("fabledger.http")
UPLOAD_PATHS = ("/api/upload-for-cart", "/api/checkout")
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
                path=scope["path"],
                status=status,
                ms=round((time.perf_counter() - started) * 1000, 1),
            )
            structlog.contextvars.clear_contextvars()


class UploadLimit:
    """Refuses an upload body past the cap while it streams in (Content-Length can lie)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_body = max_bytes + MULTIPART_OVERHEAD
        self.max_mb = max_bytes // (1024 * 1024)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in UPLOAD_PATHS:
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            await _reject(send, self.max_mb)
            return
        seen = 0

        async def counted_receive() -> Message:
            nonlocal seen
            message: dict[str, Any] = dict(await receive())
            seen += len(message.get("body", b""))
            if seen > self.max_body:
                raise FileTooLarge(f"file is larger than the {self.max_mb} MB limit")
            return message

        await self.app(scope, counted_receive, send)


async def _reject(send: Send, max_mb: int) -> None:
    body = json.dumps({"error": f"file is larger than the {max_mb} MB limit"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})
