"""Logs every request a personal access token authenticated: token, method, path, status, IP.

Pure ASGI and cheap: a request without `Authorization: Bearer pf_...` passes straight
through; otherwise the answer's status is captured, and when the auth dependency marked
the request (`request.state.pat`, set only once the token verified), one entry is queued
for the background writer. The token itself is never logged, only its id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from api.middleware import StatusOf
from application.ports import AccessLogEntry

_BEARER_PAT = b"bearer pf_"


def _presents_pat(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            return bool(value[: len(_BEARER_PAT)].lower() == _BEARER_PAT)
    return False


class PatAccessLog:
    """Records PAT-authenticated requests with the status they were answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _presents_pat(scope):
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        sent = StatusOf(send)
        try:
            await self.app(scope, receive, sent)
        finally:
            pat = state.get("pat")
            if pat is not None:
                client = scope.get("client")
                scope["app"].state.container.access_tokens.record(
                    AccessLogEntry(
                        token_id=pat.id,
                        token_name=pat.name,
                        method=scope["method"],
                        path=scope["path"],
                        status=sent.status,
                        client_ip=client[0] if client else "",
                        at=datetime.now(UTC).isoformat(timespec="microseconds"),
                    )
                )
